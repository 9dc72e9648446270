//! `hostile-validate-network` (domain `hostile_validate_network`): uses the
//! network from `validate`, which the contract says has none.
//!
//! - `probe` (read): its `validate` GETs params `url` (default: the setting
//!   `target`, a granted origin) and returns `Ok` with normalized params
//!   `{"get_succeeded": bool, "status": n | null, "error": text | null}`.
//!   The host must run `validate` with no network at all: `get_succeeded` is
//!   false and the server counts zero requests (and, if the host records
//!   blocked requests from validate, this one is among them). Its `execute`
//!   does nothing and returns `Ok`.

use autopack_sdk::http::Request;
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, host, invalid, params};
use serde_json::{Value, json};

struct ValidateNetwork;

impl Guest for ValidateNetwork {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_validate_network".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![Operation {
                name: "probe".into(),
                summary: "GET a granted origin from validate.".into(),
                effect: Effect::Read,
                params_schema: r#"{"type":"object"}"#.into(),
                spend: SpendSource::None,
            }],
            origins: vec![],
            secrets: vec![],
            settings: vec!["target".into()],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        if operation != "probe" {
            return Err(invalid("", format!("unknown operation `{operation}`")));
        }
        let url = if p.trim().is_empty() {
            None
        } else {
            params::object(&p)?
                .get("url")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let url = url
            .or_else(|| host::setting("target"))
            .ok_or_else(|| invalid("/url", "no `url` and no setting `target`"))?;
        let report = match Request::get(&url).send() {
            Ok(resp) => {
                json!({"url": url, "get_succeeded": true, "status": resp.status, "error": null})
            }
            Err(e) => {
                json!({"url": url, "get_succeeded": false, "status": null, "error": e.to_string()})
            }
        };
        Ok(Validated {
            params: report.to_string(),
            spend: None,
        })
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        if operation != "probe" {
            return Err(invalid("", format!("unknown operation `{operation}`")));
        }
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: "nothing to do".into(),
            spend: None,
            data: p,
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(ValidateNetwork);
