//! `hostile-private-ip` (domain `hostile_private_ip`): reaches a private
//! address through a granted name, or through a redirect from a granted URL.
//!
//! Operations (both `read`):
//! - `via_hostname`: GET `http://{host}:{port}{path}` with params `port`
//!   (required), `host` (default `localhost`), `path` (default `/`). The
//!   operator granted `http://localhost:PORT` by name but no private address,
//!   so the host must refuse after resolving the name to loopback:
//!   `provider-error::denied`, and the loopback server counts zero requests.
//! - `via_redirect`: GET params `url` (default: the setting `target`), a
//!   granted URL that answers `302` with a `Location` on a private or
//!   ungranted address. wasi-http never follows redirects, so the guest
//!   follows `Location` itself, up to params `max_hops` (default 5). The
//!   host must answer the followed request with `provider-error::denied`
//!   (its message carries the hops seen); the redirect target counts zero
//!   requests. If the granted URL does not redirect the op returns
//!   `provider-error::internal`, so a broken test setup cannot pass.
//!
//! Reaching the private address returns `Ok` with `{hops, status, body}`:
//! that is the failure to look for.

use autopack_sdk::http::{HttpError, Request, Response};
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderFailure,
    ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, host, internal, invalid, params};
use serde_json::{Value, json};

struct PrivateIp;

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object"}"#.into(),
        spend: SpendSource::None,
    }
}

/// Resolves a `Location` against the URL that answered with it.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    let origin = &base[..origin_end];
    if location.starts_with('/') {
        format!("{origin}{location}")
    } else {
        format!("{origin}/{location}")
    }
}

fn fetch(url: &str, hops: &[Value]) -> Result<Outcome, ProviderError> {
    answer(url, Request::get(url).send(), hops)
}

/// Maps the result of the request that matters (the last one) to the op's result.
fn answer(
    url: &str,
    result: Result<Response, HttpError>,
    hops: &[Value],
) -> Result<Outcome, ProviderError> {
    let trail = json!(hops).to_string();
    match result {
        Ok(resp) => Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: format!("REACHED {url}: status {}", resp.status),
            spend: None,
            data: json!({"hops": hops, "status": resp.status, "body": resp.text()}).to_string(),
        }),
        Err(HttpError::Denied) => Err(ProviderError::Denied(format!(
            "GET {url} was denied; hops: {trail}"
        ))),
        Err(e) => Err(ProviderError::Provider(ProviderFailure {
            code: "transport".into(),
            message: format!("GET {url}: {e}; hops: {trail}"),
            retryable: false,
        })),
    }
}

fn via_redirect(start: &str, max_hops: usize) -> Result<Outcome, ProviderError> {
    let mut url = start.to_string();
    let mut hops: Vec<Value> = Vec::new();
    for _ in 0..max_hops {
        let resp = match Request::get(&url).send() {
            Ok(resp) => resp,
            // The first request is to a granted URL; a later one is what the
            // attack is about.
            Err(e) if !hops.is_empty() => return answer(&url, Err(e), &hops),
            Err(e) => return Err(internal(format!("the granted url {url} failed: {e}"))),
        };
        let location = match resp.header("location") {
            Some(l) if (300..400).contains(&resp.status) => resolve(&url, l),
            _ if hops.is_empty() => {
                return Err(internal(format!(
                    "the granted url {url} did not redirect (status {})",
                    resp.status
                )));
            }
            _ => return answer(&url, Ok(resp), &hops),
        };
        hops.push(json!({"from": url, "status": resp.status, "location": location}));
        url = location;
    }
    fetch(&url, &hops)
}

impl Guest for PrivateIp {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_private_ip".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op(
                    "via_hostname",
                    "GET a granted name that resolves to loopback.",
                ),
                op(
                    "via_redirect",
                    "Follow a redirect from a granted URL to a private one.",
                ),
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
        p: String,
    ) -> Result<Validated, ProviderError> {
        let map = params::object(&p)?;
        match operation.as_str() {
            "via_hostname" => {
                params::int(&map, "port")?;
            }
            "via_redirect" => {}
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
            "via_hostname" => {
                let port = params::int(&map, "port")?;
                let name = params::opt_str(&map, "host")?.unwrap_or("localhost");
                let path = params::opt_str(&map, "path")?.unwrap_or("/");
                fetch(&format!("http://{name}:{port}{path}"), &[])
            }
            "via_redirect" => {
                let url = match params::opt_str(&map, "url")? {
                    Some(u) => u.to_string(),
                    None => host::setting("target")
                        .ok_or_else(|| invalid("/url", "no `url` and no setting `target`"))?,
                };
                let max_hops = map.get("max_hops").and_then(Value::as_u64).unwrap_or(5);
                via_redirect(&url, max_hops.clamp(1, 20) as usize)
            }
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(PrivateIp);
