//! `example`: a provider for a tiny notes service, the model for new providers.
//!
//! Operations: `echo` (read, no network), `get_status` (read, GET
//! `{base_url}/status`) and `post_note` (draft, POST `{base_url}/notes`).
//! In dry-run it still *tries* its write so that the host's read-only profile
//! shows up as the preview; real providers build a preview themselves and
//! never rely on the host to stop them (the host stops them anyway).

use autopack_sdk::http::{HttpError, Request};
use autopack_sdk::types::{
    CallContext, Effect, Mode, Operation, Outcome, OutcomeStatus, ProviderError, ProviderFailure,
    ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, log, params, setting_or};
use serde_json::json;

const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8787";

struct Example;

fn base_url() -> String {
    setting_or("base_url", DEFAULT_BASE_URL)
}

/// `scheme://host[:port]` of a URL (the URL itself if it has no path).
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn http_failure(e: HttpError) -> ProviderError {
    match e {
        HttpError::Denied => ProviderError::Denied(e.to_string()),
        other => ProviderError::Provider(ProviderFailure {
            code: "transport".into(),
            message: other.to_string(),
            retryable: true,
        }),
    }
}

fn note_text(p: &str) -> Result<String, ProviderError> {
    let map = params::object(p)?;
    let text = params::str(&map, "text")?;
    if text.is_empty() || text.len() > 280 {
        return Err(invalid("/text", "must be 1 to 280 characters"));
    }
    Ok(text.trim().to_string())
}

impl Guest for Example {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "example".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                Operation {
                    name: "echo".into(),
                    summary: "Echo a message back; no network.".into(),
                    effect: Effect::Read,
                    params_schema: json!({
                        "type": "object",
                        "properties": {"message": {"type": "string", "maxLength": 1000}},
                        "required": ["message"],
                        "additionalProperties": false
                    })
                    .to_string(),
                    spend: SpendSource::None,
                },
                Operation {
                    name: "get_status".into(),
                    summary: "Read the notes service status.".into(),
                    effect: Effect::Read,
                    params_schema: json!({"type": "object", "additionalProperties": false})
                        .to_string(),
                    spend: SpendSource::None,
                },
                Operation {
                    name: "post_note".into(),
                    summary: "Post a note (a draft until someone reads it).".into(),
                    effect: Effect::Draft,
                    params_schema: json!({
                        "type": "object",
                        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 280}},
                        "required": ["text"],
                        "additionalProperties": false
                    })
                    .to_string(),
                    spend: SpendSource::None,
                },
            ],
            // The origin follows the operator's `base_url`, so pointing the
            // provider elsewhere (a test server) needs no code change.
            origins: vec![origin_of(&base_url())],
            secrets: vec![],
            settings: vec!["base_url".into()],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        let normalized = match operation.as_str() {
            "echo" => {
                let map = params::object(&p)?;
                json!({"message": params::str(&map, "message")?})
            }
            "get_status" => json!({}),
            "post_note" => json!({"text": note_text(&p)?}),
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        };
        Ok(Validated {
            params: normalized.to_string(),
            spend: None,
        })
    }

    fn execute(ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        match operation.as_str() {
            "echo" => {
                let map = params::object(&p)?;
                let message = params::str(&map, "message")?;
                log::info(&format!("echo for action {}", ctx.action_id));
                Ok(Outcome {
                    status: OutcomeStatus::Completed,
                    external_ref: None,
                    summary: format!("echoed {} bytes", message.len()),
                    spend: None,
                    data: json!({"message": message}).to_string(),
                })
            }
            "get_status" => {
                let resp = Request::get(&format!("{}/status", base_url()))
                    .send()
                    .map_err(http_failure)?;
                Ok(Outcome {
                    status: OutcomeStatus::Completed,
                    external_ref: None,
                    summary: format!("status {}", resp.status),
                    spend: None,
                    data: json!({"status": resp.status, "body": resp.text()}).to_string(),
                })
            }
            "post_note" => {
                let text = note_text(&p)?;
                let body = json!({"text": text, "client_ref": ctx.idempotency_key});
                let result = Request::post(&format!("{}/notes", base_url()))
                    .json(&body)
                    .send();
                match (ctx.mode, result) {
                    (Mode::DryRun, _) => Ok(Outcome {
                        status: OutcomeStatus::Previewed,
                        external_ref: None,
                        summary: format!("would post a note of {} characters", text.len()),
                        spend: None,
                        data: json!({"would_post": body}).to_string(),
                    }),
                    (Mode::Live, Ok(resp)) if resp.status < 300 => Ok(Outcome {
                        status: OutcomeStatus::Completed,
                        external_ref: resp.json()["id"].as_str().map(str::to_string),
                        summary: "note posted".into(),
                        spend: None,
                        data: resp.json().to_string(),
                    }),
                    (Mode::Live, Ok(resp)) => Err(ProviderError::Provider(ProviderFailure {
                        code: resp.status.to_string(),
                        message: resp.text(),
                        retryable: resp.status >= 500,
                    })),
                    (Mode::Live, Err(e)) => Err(http_failure(e)),
                }
            }
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(Example);
