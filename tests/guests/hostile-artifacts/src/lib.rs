//! `hostile-artifacts` (domain `hostile_artifacts`): abuses `host.put-artifact`.
//!
//! Operations (all `read`); each returns `Ok` with a report in `data`, unless
//! the host ends the call itself:
//! - `many`: 1-byte artifacts `a0.txt`, `a1.txt`, ... until the host refuses
//!   one or params `count` (default 100000) is reached. `data`: `{"accepted":
//!   n, "first_error": text | null}`. The host must refuse past its count
//!   limit (`accepted` equals the limit) and store no more than that.
//! - `total`: 1 MiB artifacts until refused or params `count` (default 1024)
//!   is reached; same report. The host must refuse past its total-bytes limit.
//! - `huge`: one artifact of params `mib` MiB (default 16). `data`:
//!   `{"accepted": 0 | 1, "first_error": ...}`; the host must refuse it (or
//!   fail the call) without storing it.
//! - `bad_name`: names that must be refused (`../x`, `../../etc/passwd`,
//!   `/abs`, `a/b`, `a\b`, `.hidden`, `..`, empty, 129 characters, a NUL, a
//!   non-ASCII letter) and one good control name, `ok-name_1.txt`. `data`:
//!   `{"results": [{"name", "accepted", "error"}]}`. The host must accept
//!   only the control and create nothing outside its artifact store.

use autopack_sdk::host;
use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Map, Value, json};

struct HostileArtifacts;

const OPS: [&str; 4] = ["many", "total", "huge", "bad_name"];

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

/// Puts up to `count` artifacts named by `name` until the host refuses one.
fn until_refused(count: u64, data: &[u8], name: impl Fn(u64) -> String) -> Value {
    let mut accepted = 0u64;
    let mut first_error = None;
    while accepted < count {
        match host::put_artifact(&name(accepted), "application/octet-stream", data) {
            Ok(()) => accepted += 1,
            Err(e) => {
                first_error = Some(e);
                break;
            }
        }
    }
    json!({"accepted": accepted, "first_error": first_error})
}

fn bad_names() -> Value {
    let long = "n".repeat(129);
    let names = [
        "../x",
        "../../etc/passwd",
        "/abs",
        "a/b",
        "a\\b",
        ".hidden",
        "..",
        "",
        long.as_str(),
        "nul\0byte",
        "caf\u{e9}.txt",
        "ok-name_1.txt",
    ];
    let results: Vec<Value> = names
        .iter()
        .map(
            |name| match host::put_artifact(name, "text/plain", b"bad name") {
                Ok(()) => json!({"name": name, "accepted": true, "error": null}),
                Err(e) => json!({"name": name, "accepted": false, "error": e}),
            },
        )
        .collect();
    json!({"results": results})
}

impl Guest for HostileArtifacts {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_artifacts".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: OPS
                .iter()
                .map(|name| Operation {
                    name: (*name).into(),
                    summary: format!("Abuse put-artifact: {name}."),
                    effect: Effect::Read,
                    params_schema: r#"{"type":"object"}"#.into(),
                    spend: SpendSource::None,
                })
                .collect(),
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
        let map = object(&p)?;
        if !OPS.contains(&operation.as_str()) {
            return Err(invalid("", format!("unknown operation `{operation}`")));
        }
        Ok(Validated {
            params: Value::Object(map).to_string(),
            spend: None,
        })
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let num = |key: &str, default: u64| map.get(key).and_then(Value::as_u64).unwrap_or(default);
        let data = match operation.as_str() {
            "many" => until_refused(num("count", 100_000), b"x", |i| format!("a{i}.txt")),
            "total" => {
                let chunk = vec![b'x'; 1 << 20];
                until_refused(num("count", 1024), &chunk, |i| format!("t{i}.bin"))
            }
            "huge" => {
                let size = usize::try_from(num("mib", 16).saturating_mul(1 << 20))
                    .map_err(|_| invalid("/mib", "too large for this guest"))?;
                let blob = vec![b'x'; size];
                until_refused(1, &blob, |_| "huge.bin".to_string())
            }
            "bad_name" => bad_names(),
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        };
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: format!("artifact abuse `{operation}` done"),
            spend: None,
            data: data.to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileArtifacts);
