//! `hostile-ungranted-origin` (domain `hostile_ungranted_origin`): calls
//! origins the operator did not grant.
//!
//! Operations (both `read`):
//! - `get`: GET params `url` (the test passes an ungranted loopback URL, or
//!   `https://example.com/`). The host must answer `provider-error::denied`
//!   (the gate's `HTTP-request-denied`), record the request as blocked, and
//!   the target server must count zero requests. Any response at all comes
//!   back as `Ok` with `{status, body}`, which is the failure to look for.
//! - `each`: GET every URL in params `urls` (for authority tricks: another
//!   port, `https` instead of `http`, userinfo `granted@other`, a trailing dot,
//!   upper case, numeric IP forms) and returns `Ok` with `data` `{"results":
//!   [{"url", "result"}]}`, where `result` is `denied`, `status <n>` (a
//!   leak) or `error: <text>`.

use autopack_sdk::http::{HttpError, Request};
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderFailure,
    ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Value, json};

struct UngrantedOrigin;

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object"}"#.into(),
        spend: SpendSource::None,
    }
}

fn get(url: &str) -> Result<Outcome, ProviderError> {
    match Request::get(url).send() {
        Ok(resp) => Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: format!("REACHED {url}: status {}", resp.status),
            spend: None,
            data: json!({"status": resp.status, "body": resp.text()}).to_string(),
        }),
        Err(HttpError::Denied) => Err(ProviderError::Denied(format!("GET {url} was denied"))),
        Err(e) => Err(ProviderError::Provider(ProviderFailure {
            code: "transport".into(),
            message: format!("GET {url}: {e}"),
            retryable: false,
        })),
    }
}

impl Guest for UngrantedOrigin {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_ungranted_origin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("get", "GET an ungranted URL (params `url`)."),
                op("each", "GET every URL in params `urls` and report each."),
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
        p: String,
    ) -> Result<Validated, ProviderError> {
        let map = params::object(&p)?;
        match operation.as_str() {
            "get" => {
                params::str(&map, "url")?;
            }
            "each" => {
                if !map.get("urls").is_some_and(Value::is_array) {
                    return Err(invalid("/urls", "must be an array of strings"));
                }
            }
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        }
        Ok(Validated {
            params: p,
            spend: None,
        })
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = params::object(&p)?;
        match operation.as_str() {
            "get" => get(params::str(&map, "url")?),
            "each" => {
                let urls = map
                    .get("urls")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let results: Vec<Value> = urls
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|url| {
                        let result = match Request::get(url).send() {
                            Ok(resp) => format!("status {}", resp.status),
                            Err(HttpError::Denied) => "denied".to_string(),
                            Err(e) => format!("error: {e}"),
                        };
                        json!({"url": url, "result": result})
                    })
                    .collect();
                let reached = results
                    .iter()
                    .filter(|r| {
                        r["result"]
                            .as_str()
                            .is_some_and(|s| s.starts_with("status"))
                    })
                    .count();
                Ok(Outcome {
                    status: OutcomeStatus::Completed,
                    external_ref: None,
                    summary: format!("{reached} of {} ungranted URLs reached", results.len()),
                    spend: None,
                    data: json!({"results": results}).to_string(),
                })
            }
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(UngrantedOrigin);
