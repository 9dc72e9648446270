//! `hostile-sleep` (domain `hostile_sleep`): blocks without using CPU, so only
//! the wall-time limit can stop it (an epoch deadline alone does not fire
//! while the guest waits in a host call).
//!
//! Operations (both `read`):
//! - `sleep`: `std::thread::sleep` for params `seconds` (default 3600). The
//!   host must fail the call with its wall-time error well before that.
//! - `hang_http`: GET params `url` (default: the setting `target`) on a
//!   granted server that never answers. The host must end the request with
//!   its HTTP timeout (the guest then returns `provider-error::provider` with
//!   code `transport`) or end the call with its wall-time error.

use autopack_sdk::http::{HttpError, Request};
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderFailure,
    ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, host, invalid, params};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

struct HostileSleep;

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object"}"#.into(),
        spend: SpendSource::None,
    }
}

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

fn done(summary: String, data: Value) -> Outcome {
    Outcome {
        status: OutcomeStatus::Completed,
        external_ref: None,
        summary,
        spend: None,
        data: data.to_string(),
    }
}

impl Guest for HostileSleep {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_sleep".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("sleep", "Sleep for params `seconds` (default an hour)."),
                op("hang_http", "GET a server that never answers."),
            ],
            origins: vec![],
            secrets: vec![],
            settings: vec!["target".into()],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Validated, ProviderError> {
        match operation.as_str() {
            "sleep" | "hang_http" => Ok(Validated {
                params,
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let started = Instant::now();
        match operation.as_str() {
            "sleep" => {
                let seconds = map.get("seconds").and_then(Value::as_u64).unwrap_or(3600);
                std::thread::sleep(Duration::from_secs(seconds));
                Ok(done(
                    format!("slept {seconds} s"),
                    json!({"slept_ms": started.elapsed().as_millis() as u64}),
                ))
            }
            "hang_http" => {
                let url = match params::opt_str(&map, "url")? {
                    Some(u) => u.to_string(),
                    None => host::setting("target")
                        .ok_or_else(|| invalid("/url", "no `url` and no setting `target`"))?,
                };
                let waited = || started.elapsed().as_millis() as u64;
                match Request::get(&url).send() {
                    Ok(resp) => Ok(done(
                        format!("GET {url}: status {}", resp.status),
                        json!({"status": resp.status, "waited_ms": waited()}),
                    )),
                    Err(HttpError::Denied) => {
                        Err(ProviderError::Denied(format!("GET {url} was denied")))
                    }
                    Err(e) => Err(ProviderError::Provider(ProviderFailure {
                        code: "transport".into(),
                        message: format!("GET {url} after {} ms: {e}", waited()),
                        retryable: true,
                    })),
                }
            }
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileSleep);
