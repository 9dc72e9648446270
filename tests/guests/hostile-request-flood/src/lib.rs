//! `hostile-request-flood` (domain `hostile_request_flood`): makes more
//! outgoing requests than the host allows one call.
//!
//! Operations (both `read`; params `url`, default: the setting `target`, a
//! granted origin; params `count`, default 1000):
//! - `sequential`: `count` GETs, one after another.
//! - `concurrent`: starts `count` GETs without waiting, then waits for all
//!   (raw `wasi:http`), to test the host's bound on requests in flight.
//!
//! Both return `Ok` with `data` `{"ok": n, "denied": n, "other": n,
//! "first_denied_at": index | null, "first_other": text | null}`. The host
//! must deny every request past its per-call request limit (`ok` equals the
//! limit; the server counts exactly that many) and serve the next call.

use autopack_sdk::http::{HttpError, Request};
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, host, invalid, params};
use serde_json::{Map, Value, json};
use wasip2::http::outgoing_handler::{self, FutureIncomingResponse};
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

struct RequestFlood;

#[derive(Default)]
struct Tally {
    ok: u64,
    denied: u64,
    other: u64,
    first_denied_at: Option<u64>,
    first_other: Option<String>,
}

impl Tally {
    fn add(&mut self, index: u64, r: Result<(), HttpError>) {
        match r {
            Ok(()) => self.ok += 1,
            Err(HttpError::Denied) => {
                self.denied += 1;
                self.first_denied_at.get_or_insert(index);
            }
            Err(e) => {
                self.other += 1;
                self.first_other.get_or_insert(e.to_string());
            }
        }
    }

    fn json(&self) -> Value {
        json!({
            "ok": self.ok,
            "denied": self.denied,
            "other": self.other,
            "first_denied_at": self.first_denied_at,
            "first_other": self.first_other,
        })
    }
}

fn code(e: ErrorCode) -> HttpError {
    match e {
        ErrorCode::HttpRequestDenied => HttpError::Denied,
        other => HttpError::Transport(format!("{other:?}")),
    }
}

/// Starts one GET without waiting for it.
fn start(url: &str) -> Result<FutureIncomingResponse, HttpError> {
    let bad = || HttpError::BadUrl(url.to_string());
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let req = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    req.set_method(&Method::Get).map_err(|_| bad())?;
    req.set_scheme(Some(&scheme)).map_err(|_| bad())?;
    req.set_authority(Some(authority)).map_err(|_| bad())?;
    req.set_path_with_query(Some(path)).map_err(|_| bad())?;
    let body = req.body().map_err(|_| bad())?;
    let future = outgoing_handler::handle(req, None).map_err(code)?;
    let _ = OutgoingBody::finish(body, None);
    Ok(future)
}

fn finish(future: FutureIncomingResponse) -> Result<(), HttpError> {
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(_))) => Ok(()),
        Some(Ok(Err(e))) => Err(code(e)),
        _ => Err(HttpError::Transport("no response".into())),
    }
}

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object"}"#.into(),
        spend: SpendSource::None,
    }
}

impl Guest for RequestFlood {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_request_flood".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("sequential", "Make `count` GETs one after another."),
                op("concurrent", "Start `count` GETs at once."),
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
        let map = object(&p)?;
        match operation.as_str() {
            "sequential" | "concurrent" => Ok(Validated {
                params: Value::Object(map).to_string(),
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let count = map.get("count").and_then(Value::as_u64).unwrap_or(1000);
        let url = match params::opt_str(&map, "url")? {
            Some(u) => u.to_string(),
            None => host::setting("target")
                .ok_or_else(|| invalid("/url", "no `url` and no setting `target`"))?,
        };
        let mut tally = Tally::default();
        match operation.as_str() {
            "sequential" => {
                for i in 0..count {
                    tally.add(i, Request::get(&url).send().map(|_| ()));
                }
            }
            "concurrent" => {
                let started: Vec<_> = (0..count).map(|_| start(&url)).collect();
                for (i, s) in (0..).zip(started) {
                    tally.add(i, s.and_then(finish));
                }
            }
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        }
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: format!("{} of {count} requests answered", tally.ok),
            spend: None,
            data: tally.json().to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(RequestFlood);
