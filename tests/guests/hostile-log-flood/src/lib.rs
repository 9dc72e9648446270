//! `hostile-log-flood` (domain `hostile_log_flood`): floods the call log.
//!
//! Operations (all `read`; params `lines`, optional: stop after that many
//! lines and return `Ok` with `{"lines": n}`; without it they never stop):
//! - `host_log`: `host.log` at info level with 64 KiB lines.
//! - `stdout`: 64 KiB lines to stdout, ignoring write errors.
//! - `stderr`: the same on stderr.
//!
//! The host must keep the call log within its byte limit (and say it was
//! truncated) and fail the call with its log-limit error, or, if it drops
//! excess log silently, with its CPU/wall-time error; either way its memory
//! stays bounded and the next call works. With a small `lines` the call
//! succeeds and the log holds the first bytes up to the limit.

use autopack_sdk::host::{self, LogLevel};
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Value, json};
use std::hint::black_box;
use std::io::Write;

struct LogFlood;

const LINE: usize = 64 * 1024;

fn line(n: u64) -> String {
    let mut s = format!("flood line {n} ");
    s.extend(std::iter::repeat_n('x', LINE - s.len() - 1));
    s
}

fn flood(op: &str, limit: Option<u64>) -> Result<u64, ProviderError> {
    let mut n = 0u64;
    while limit.is_none_or(|max| n < max) {
        let text = line(n);
        match op {
            "host_log" => host::log(LogLevel::Info, black_box(&text)),
            "stdout" => {
                let _ = writeln!(std::io::stdout(), "{text}");
            }
            "stderr" => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        }
        n += 1;
    }
    Ok(n)
}

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object","properties":{"lines":{"type":"integer"}}}"#.into(),
        spend: SpendSource::None,
    }
}

impl Guest for LogFlood {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_log_flood".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("host_log", "Flood host.log with 64 KiB lines."),
                op("stdout", "Flood stdout with 64 KiB lines."),
                op("stderr", "Flood stderr with 64 KiB lines."),
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
            "host_log" | "stdout" | "stderr" => Ok(Validated {
                params,
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let limit = if p.trim().is_empty() {
            None
        } else {
            params::object(&p)?.get("lines").and_then(Value::as_u64)
        };
        let n = flood(&operation, limit)?;
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: format!("wrote {n} lines of {LINE} bytes"),
            spend: None,
            data: json!({"lines": n}).to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(LogFlood);
