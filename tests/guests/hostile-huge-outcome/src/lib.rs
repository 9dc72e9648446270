//! `hostile-huge-outcome` (domain `hostile_huge_outcome`): returns more than
//! the host will store.
//!
//! Operations (all `read`; params `mib`, default 8):
//! - `data`: an outcome whose `data` is a JSON string of `mib` MiB.
//! - `summary`: an outcome whose one-line `summary` is `mib` MiB.
//! - `error`: a `provider-error::provider` whose message is `mib` MiB.
//!
//! The host must fail the call with its outcome-size error (or truncate and
//! say so, for the summary and the error message), not store or return the
//! whole thing, and serve the next call. With a small `mib` (e.g. 0) the call
//! succeeds normally.

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderFailure,
    ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::Value;

struct HugeOutcome;

fn filler(bytes: usize) -> String {
    "x".repeat(bytes)
}

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object","properties":{"mib":{"type":"integer","minimum":0}}}"#
            .into(),
        spend: SpendSource::None,
    }
}

impl Guest for HugeOutcome {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_huge_outcome".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("data", "Return `mib` MiB of outcome data."),
                op("summary", "Return a `mib` MiB summary."),
                op("error", "Return a `mib` MiB error message."),
            ],
            origins: vec![],
            secrets: vec![],
            settings: vec![],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Validated, ProviderError> {
        match operation.as_str() {
            "data" | "summary" | "error" => Ok(Validated {
                params,
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let mib = if p.trim().is_empty() {
            8
        } else {
            params::object(&p)?
                .get("mib")
                .and_then(Value::as_u64)
                .unwrap_or(8)
        };
        let bytes = usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        let outcome = |summary: String, data: String| Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary,
            spend: None,
            data,
        };
        match operation.as_str() {
            "data" => Ok(outcome(
                format!("{mib} MiB of data"),
                format!("\"{}\"", filler(bytes)),
            )),
            "summary" => Ok(outcome(filler(bytes), "{}".into())),
            "error" => Err(ProviderError::Provider(ProviderFailure {
                code: "huge".into(),
                message: filler(bytes),
                retryable: false,
            })),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HugeOutcome);
