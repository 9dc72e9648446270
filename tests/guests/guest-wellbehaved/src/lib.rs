//! `guest-wellbehaved` (domain `wellbehaved`): a polite provider that uses every
//! import the host offers, so a test can check each one works and is scoped.
//!
//! Operations:
//! - `imports` (read): reads the wall and monotonic clocks, random bytes, the
//!   preopened directories, its (empty) environment and arguments; writes,
//!   lists, reads back and deletes a file in its scratch dir; reads a file from
//!   an input dir; logs once at every level; prints one line to stdout and one
//!   to stderr; reads the setting `greeting`; stores the artifact
//!   `report.json`; and returns everything it observed as `data`. Params
//!   (all optional): `scratch_dir` (default `/scratch`), `input_dir` (default
//!   `/input/media`), `input_file` (default `hello.txt`), `leave` (a file name
//!   to create in the scratch dir and leave there, so a test can check that
//!   the next call's scratch dir does not have it). Failures of the file
//!   steps are reported in `data`, not returned as errors.
//! - `request` (modify): sends the request in params `{method, url, headers?,
//!   body?}` (`headers` an object of strings; `url` starting with `/` is
//!   appended to the setting `target`) and returns `{status, headers, body}` as
//!   `data`. A request the host's gate refuses comes back as
//!   `provider-error::denied`; any other transport failure as
//!   `provider-error::provider` with code `transport`. An optional `spend`
//!   (`{minor_units, unit}`) is declared by `validate` and reported as the
//!   actual spend by `execute`, so governance tests can exercise spend caps;
//!   an optional `actual_spend` (same shape) is reported by `execute` instead,
//!   so a test can spend more than it declared (I7).
//! - `fail` (read): always `provider-error::rate-limited` with
//!   `retry-after-seconds` 7, to test error mapping.
//!
//! It declares the secret `WELLBEHAVED_TOKEN` (the test injects it into its
//! requests) and the settings `greeting` and `target`. It declares no origin:
//! its target is a loopback server whose port is only known at run time.

use autopack_sdk::host::{self, LogLevel};
use autopack_sdk::http::{HttpError, Request};
use autopack_sdk::types::{
    Amount, CallContext, Effect, Mode, Operation, Outcome, OutcomeStatus, ProviderError,
    ProviderFailure, ProviderInfo, RateLimit, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Map, Value, json};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct WellBehaved;

fn op(name: &str, summary: &str, effect: Effect, schema: Value) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect,
        params_schema: schema.to_string(),
        spend: SpendSource::None,
    }
}

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

fn opt<'a>(map: &'a Map<String, Value>, key: &str, default: &'a str) -> &'a str {
    map.get(key).and_then(Value::as_str).unwrap_or(default)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::DryRun => "dry-run",
        Mode::Live => "live",
    }
}

/// Writes, lists, reads back and removes a file in the scratch dir; first
/// writes `leave` (if any), which stays.
fn scratch_roundtrip(dir: &str, action_id: &str, leave: Option<&str>) -> Value {
    let path = format!("{dir}/wellbehaved.txt");
    let content = format!("written by action {action_id}");
    let steps = || -> std::io::Result<Value> {
        if let Some(name) = leave {
            std::fs::write(format!("{dir}/{name}"), &content)?;
        }
        std::fs::write(&path, &content)?;
        let mut entries: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        let back = std::fs::read_to_string(&path)?;
        std::fs::remove_file(&path)?;
        Ok(json!({
            "path": path,
            "read_back_matches": back == content,
            "entries": entries,
        }))
    };
    steps().unwrap_or_else(|e| json!({"path": path, "error": e.to_string()}))
}

fn imports(ctx: &CallContext, p: &Map<String, Value>) -> Value {
    let started = Instant::now();
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let random = wasip2::random::random::get_random_bytes(16);
    let random_u64 = wasip2::random::random::get_random_u64();
    let preopens: Vec<String> = wasip2::filesystem::preopens::get_directories()
        .into_iter()
        .map(|(_, name)| name)
        .collect();

    let leave = p.get("leave").and_then(Value::as_str);
    let scratch = scratch_roundtrip(opt(p, "scratch_dir", "/scratch"), &ctx.action_id, leave);
    let input_path = format!(
        "{}/{}",
        opt(p, "input_dir", "/input/media"),
        opt(p, "input_file", "hello.txt")
    );
    let input = match std::fs::read_to_string(&input_path) {
        Ok(text) => json!({"path": input_path, "content": text}),
        Err(e) => json!({"path": input_path, "error": e.to_string()}),
    };

    for (level, name) in [
        (LogLevel::Trace, "trace"),
        (LogLevel::Debug, "debug"),
        (LogLevel::Info, "info"),
        (LogLevel::Warn, "warn"),
        (LogLevel::Error, "error"),
    ] {
        host::log(level, &format!("wellbehaved log at {name}"));
    }
    println!("wellbehaved stdout line");
    eprintln!("wellbehaved stderr line");

    let mut report = json!({
        "context": {
            "action_id": ctx.action_id,
            "project": ctx.project,
            "idempotency_key": ctx.idempotency_key,
            "mode": mode_name(ctx.mode),
        },
        "clock": {
            "unix_ms": unix_ms,
            "monotonic_elapsed_ns": started.elapsed().as_nanos() as u64,
        },
        "random": {"bytes_hex": hex(&random), "u64": random_u64},
        "preopens": preopens,
        "env_var_count": std::env::vars_os().count(),
        "arg_count": std::env::args_os().count(),
        "scratch": scratch,
        "input": input,
        "greeting": host::setting("greeting"),
        "logged_levels": ["trace", "debug", "info", "warn", "error"],
    });
    let artifact = host::put_artifact(
        "report.json",
        "application/json",
        report.to_string().as_bytes(),
    );
    report["artifact"] = match artifact {
        Ok(()) => json!({"name": "report.json", "stored": true}),
        Err(e) => json!({"name": "report.json", "stored": false, "error": e}),
    };
    report
}

/// The optional amount param `key` (`spend` or `actual_spend`): `{minor_units, unit}`.
fn spend_param(p: &Map<String, Value>, key: &str) -> Result<Option<Amount>, ProviderError> {
    let Some(s) = p.get(key) else {
        return Ok(None);
    };
    let minor_units = s["minor_units"]
        .as_i64()
        .ok_or_else(|| invalid(&format!("/{key}/minor_units"), "must be an integer"))?;
    let unit = s["unit"]
        .as_str()
        .ok_or_else(|| invalid(&format!("/{key}/unit"), "must be a string"))?;
    Ok(Some(Amount {
        minor_units,
        unit: unit.into(),
    }))
}

fn request(p: &Map<String, Value>) -> Result<Outcome, ProviderError> {
    let method = params::str(p, "method")?;
    let url = params::str(p, "url")?;
    let url = if url.starts_with('/') {
        let base = host::setting("target")
            .ok_or_else(|| invalid("/url", "a relative url needs the setting `target`"))?;
        format!("{}{url}", base.trim_end_matches('/'))
    } else {
        url.to_string()
    };
    let mut req = Request::new(method, &url);
    if let Some(headers) = p.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            let value = value
                .as_str()
                .ok_or_else(|| invalid(&format!("/headers/{name}"), "must be a string"))?;
            req = req.header(name, value);
        }
    }
    if let Some(body) = params::opt_str(p, "body")? {
        req = req.body(body.as_bytes().to_vec());
    }
    match req.send() {
        Ok(resp) => {
            let headers: Map<String, Value> = resp
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Ok(Outcome {
                status: OutcomeStatus::Completed,
                external_ref: None,
                summary: format!("{method} {url} answered {}", resp.status),
                spend: match spend_param(p, "actual_spend")? {
                    Some(actual) => Some(actual),
                    None => spend_param(p, "spend")?,
                },
                data: json!({"status": resp.status, "headers": headers, "body": resp.text()})
                    .to_string(),
            })
        }
        Err(HttpError::Denied) => Err(ProviderError::Denied(format!(
            "{method} {url}: {}",
            HttpError::Denied
        ))),
        Err(e) => Err(ProviderError::Provider(ProviderFailure {
            code: "transport".into(),
            message: format!("{method} {url}: {e}"),
            retryable: true,
        })),
    }
}

impl Guest for WellBehaved {
    fn describe() -> ProviderInfo {
        let dirs = json!({
            "type": "object",
            "properties": {
                "scratch_dir": {"type": "string"},
                "input_dir": {"type": "string"},
                "input_file": {"type": "string"},
                "leave": {"type": "string"}
            },
            "additionalProperties": false
        });
        let amount = json!({
            "type": "object",
            "properties": {
                "minor_units": {"type": "integer"},
                "unit": {"type": "string"}
            },
            "required": ["minor_units", "unit"],
            "additionalProperties": false
        });
        let request = json!({
            "type": "object",
            "properties": {
                "method": {"type": "string"},
                "url": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": {"type": "string"},
                "spend": amount,
                "actual_spend": amount
            },
            "required": ["method", "url"],
            "additionalProperties": false
        });
        ProviderInfo {
            domain: "wellbehaved".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op(
                    "imports",
                    "Use every import and report it.",
                    Effect::Read,
                    dirs,
                ),
                Operation {
                    spend: SpendSource::Computed("`spend` in params, if given".into()),
                    ..op("request", "Send one HTTP request.", Effect::Modify, request)
                },
                op(
                    "fail",
                    "Always rate limited (retry after 7 s).",
                    Effect::Read,
                    json!({"type": "object"}),
                ),
            ],
            origins: vec![],
            secrets: vec!["WELLBEHAVED_TOKEN".into()],
            settings: vec!["greeting".into(), "target".into()],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        let mut map = object(&p)?;
        let mut spend = None;
        match operation.as_str() {
            "imports" | "fail" => {}
            "request" => {
                let method = params::str(&map, "method")?.to_ascii_uppercase();
                params::str(&map, "url")?;
                map.insert("method".into(), Value::String(method));
                spend = spend_param(&map, "spend")?;
                spend_param(&map, "actual_spend")?;
            }
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        }
        Ok(Validated {
            params: Value::Object(map).to_string(),
            spend,
        })
    }

    fn execute(ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        match operation.as_str() {
            "imports" => Ok(Outcome {
                status: OutcomeStatus::Completed,
                external_ref: None,
                summary: "used every import".into(),
                spend: None,
                data: imports(&ctx, &map).to_string(),
            }),
            "request" => request(&map),
            "fail" => Err(ProviderError::RateLimited(RateLimit {
                retry_after_seconds: Some(7),
                message: "wellbehaved is always rate limited".into(),
            })),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(WellBehaved);
