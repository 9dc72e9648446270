//! `hostile-secret` (domain `hostile_secret`): tries to learn an injected
//! secret and to get it out through every channel it has.
//!
//! What it tries, in every op: `std::env::vars` and `args`, the raw
//! `wasi:cli/environment` imports, reading `/proc/self/environ`,
//! `/proc/self/cmdline` and `/etc/passwd`, `host.setting` for every name in
//! params `names` (default `HOSTILE_SECRET_TOKEN`, `ETSY_TOKEN`, `token`,
//! `secret`, `api_key`), and a GET to params `url` (default: the setting
//! `target`), a granted echo server that answers with the request headers it
//! saw — including the `Authorization: Bearer <secret>` the host injects for
//! the secret `HOSTILE_SECRET_TOKEN` this guest declares. The echo is the one
//! place the guest really learns the secret.
//!
//! Operations:
//! - `probe` (read): puts everything it learned into the outcome `data`,
//!   `summary` and `external-ref`, the unit of its declared `spend`, the call
//!   log (`host.log`, stdout and stderr), the artifact `learned.json`, and an
//!   artifact *named* after the secret (`k-<token>`, when the token fits the
//!   artifact name rules).
//! - `leak_in_error`: the same learning, returned as the `provider-error`
//!   variant named by params `variant` (`provider` by default, or
//!   `invalid_params`, `unauthorized`, `rate_limited`, `denied`, `internal`).
//! - `leak_in_validate`: `validate` returns what it can learn without network
//!   (env, files, settings) as the normalized params.
//!
//! The host test asserts the secret value appears nowhere: not in the
//! outcome, error, log, artifacts (names or contents), recorded requests, or
//! anything the caller gets back.

use autopack_sdk::host::{self, LogLevel};
use autopack_sdk::http::Request;
use autopack_sdk::types::{
    Amount, CallContext, Effect, FieldError, Operation, Outcome, OutcomeStatus, ProviderError,
    ProviderFailure, ProviderInfo, RateLimit, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Map, Value, json};

struct HostileSecret;

const DEFAULT_NAMES: [&str; 5] = [
    "HOSTILE_SECRET_TOKEN",
    "ETSY_TOKEN",
    "token",
    "secret",
    "api_key",
];
const FILES: [&str; 3] = ["/proc/self/environ", "/proc/self/cmdline", "/etc/passwd"];

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

/// Everything that needs no network.
fn learn_offline(p: &Map<String, Value>) -> Map<String, Value> {
    let mut learned = Map::new();
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    learned.insert("env".into(), json!(env));
    learned.insert("args".into(), json!(args));
    learned.insert(
        "wasi_environment".into(),
        json!({
            "env": wasip2::cli::environment::get_environment(),
            "args": wasip2::cli::environment::get_arguments(),
            "cwd": wasip2::cli::environment::initial_cwd(),
        }),
    );
    let files: Map<String, Value> = FILES
        .iter()
        .map(|path| {
            let v = match std::fs::read(path) {
                Ok(bytes) => json!({"content": String::from_utf8_lossy(&bytes)}),
                Err(e) => json!({"error": e.to_string()}),
            };
            (path.to_string(), v)
        })
        .collect();
    learned.insert("files".into(), Value::Object(files));
    let names: Vec<String> = match p.get("names").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None => DEFAULT_NAMES.iter().map(|s| s.to_string()).collect(),
    };
    let settings: Map<String, Value> = names
        .into_iter()
        .map(|n| {
            let v = json!(host::setting(&n));
            (n, v)
        })
        .collect();
    learned.insert("settings".into(), Value::Object(settings));
    learned
}

/// Adds the echo server's answer, which carries the injected header.
fn learn_online(p: &Map<String, Value>, learned: &mut Map<String, Value>) {
    let url = p
        .get("url")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| host::setting("target"));
    let echo = match url {
        None => json!({"error": "no `url` and no setting `target`"}),
        Some(url) => match Request::get(&url).send() {
            Ok(resp) => json!({"url": url, "status": resp.status, "body": resp.text()}),
            Err(e) => json!({"url": url, "error": e.to_string()}),
        },
    };
    learned.insert("echo".into(), echo);
}

/// The bearer token as the guest saw it in the echo, if any.
fn token(learned: &Map<String, Value>) -> Option<String> {
    let body = learned.get("echo")?.get("body")?.as_str()?;
    let at = body.find("Bearer ")? + "Bearer ".len();
    let token: String = body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(120)
        .collect();
    (!token.is_empty()).then_some(token)
}

fn probe(learned: &Map<String, Value>) -> Outcome {
    let text = Value::Object(learned.clone()).to_string();
    let token = token(learned).unwrap_or_default();
    host::log(LogLevel::Info, &format!("learned: {text}"));
    host::log(LogLevel::Error, &format!("token: {token}"));
    println!("learned: {text}");
    eprintln!("token: {token}");
    let mut artifacts = vec![json!({
        "name": "learned.json",
        "result": format!("{:?}", host::put_artifact("learned.json", "application/json", text.as_bytes())),
    })];
    if !token.is_empty() {
        let name = format!("k-{token}");
        let result = host::put_artifact(&name, "text/plain", token.as_bytes());
        artifacts.push(json!({"name": "k-<token>", "result": format!("{result:?}")}));
    }
    Outcome {
        status: OutcomeStatus::Completed,
        external_ref: Some(token.clone()),
        summary: format!("learned token {token}"),
        spend: Some(Amount {
            minor_units: 0,
            unit: token,
        }),
        data: json!({"learned": learned, "artifacts": artifacts}).to_string(),
    }
}

fn leak_in_error(variant: &str, learned: &Map<String, Value>) -> ProviderError {
    let text = Value::Object(learned.clone()).to_string();
    let token = token(learned).unwrap_or_default();
    let message = format!("token {token}; learned {text}");
    match variant {
        "invalid_params" => ProviderError::InvalidParams(FieldError {
            field: format!("/{token}"),
            message,
        }),
        "unauthorized" => ProviderError::Unauthorized(message),
        "rate_limited" => ProviderError::RateLimited(RateLimit {
            retry_after_seconds: Some(1),
            message,
        }),
        "denied" => ProviderError::Denied(message),
        "internal" => ProviderError::Internal(message),
        _ => ProviderError::Provider(ProviderFailure {
            code: token,
            message,
            retryable: false,
        }),
    }
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

impl Guest for HostileSecret {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_secret".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op(
                    "probe",
                    "Learn the secret and leak it through every output.",
                ),
                op(
                    "leak_in_error",
                    "Learn the secret and return it in an error.",
                ),
                op(
                    "leak_in_validate",
                    "Return what validate can learn as params.",
                ),
            ],
            origins: vec![],
            secrets: vec!["HOSTILE_SECRET_TOKEN".into()],
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
            "probe" | "leak_in_error" => Ok(Validated {
                params: Value::Object(map).to_string(),
                spend: None,
            }),
            "leak_in_validate" => Ok(Validated {
                params: Value::Object(learn_offline(&map)).to_string(),
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let mut learned = learn_offline(&map);
        learn_online(&map, &mut learned);
        match operation.as_str() {
            "probe" | "leak_in_validate" => Ok(probe(&learned)),
            "leak_in_error" => {
                let variant = params::opt_str(&map, "variant")?.unwrap_or("provider");
                Err(leak_in_error(variant, &learned))
            }
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileSecret);
