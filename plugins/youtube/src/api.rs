//! Calls to the YouTube Data API v3 and the mapping of its errors.
//!
//! Error bodies are Google's standard shape:
//! `{"error": {"code": 403, "message": "…", "errors": [{"domain", "reason", "message"}]}}`.

use autopack_sdk::http::{HttpError, Request, Response};
use autopack_sdk::invalid;
use autopack_sdk::types::{ProviderError, ProviderFailure, RateLimit};
use serde_json::{Value, json};

/// Quota cost of one `videos.list`, `channels.list` or `playlistItems.list` call.
pub const QUOTA_LIST: i64 = 1;
/// Quota cost of one `videos.update` call.
pub const QUOTA_UPDATE: i64 = 50;
/// Quota cost of one `videos.delete` call.
pub const QUOTA_DELETE: i64 = 50;
/// Quota cost of one `videos.insert` (upload), as budgeted by this provider.
pub const QUOTA_INSERT: i64 = 1600;

/// Error reasons that name a param, as `(reason, params pointer)`.
pub type ReasonFields = &'static [(&'static str, &'static str)];

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A transport failure. A write whose response was lost may have happened,
/// so it is never marked retryable.
pub fn transport(e: HttpError, write: bool) -> ProviderError {
    match e {
        HttpError::Denied => ProviderError::Denied(e.to_string()),
        other => ProviderError::Provider(ProviderFailure {
            code: if write {
                "outcome_unknown"
            } else {
                "transport"
            }
            .into(),
            message: other.to_string(),
            retryable: !write,
        }),
    }
}

/// `Retry-After` in whole seconds, when the server gave a number.
pub fn retry_after(resp: &Response) -> Option<u32> {
    resp.header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s.ceil().min(f64::from(u32::MAX)) as u32)
}

const RATE_REASONS: &[&str] = &[
    "quotaExceeded",
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "dailyLimitExceeded",
    "uploadRateLimitExceeded",
];

/// Maps a response: 2xx gives the parsed body (`null` for an empty one);
/// anything else the provider error it means.
pub fn check(resp: &Response, fields: ReasonFields) -> Result<Value, ProviderError> {
    let status = resp.status;
    if (200..300).contains(&status) {
        return Ok(if resp.body.is_empty() {
            Value::Null
        } else {
            resp.json()
        });
    }
    let body = resp.json();
    let err = &body["error"];
    let reason = err["errors"][0]["reason"].as_str().unwrap_or("");
    let message = err["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            let t: String = resp.text().chars().take(300).collect();
            if t.is_empty() {
                "(empty body)".into()
            } else {
                t
            }
        });
    let text = if reason.is_empty() {
        format!("HTTP {status}: {message}")
    } else {
        format!("HTTP {status} {reason}: {message}")
    };
    let failure = |code: &str, retryable: bool| {
        ProviderError::Provider(ProviderFailure {
            code: code.to_string(),
            message: text.clone(),
            retryable,
        })
    };
    if status == 429 || RATE_REASONS.contains(&reason) {
        return Err(ProviderError::RateLimited(RateLimit {
            retry_after_seconds: retry_after(resp),
            message: text,
        }));
    }
    match status {
        401 => Err(ProviderError::Unauthorized(format!(
            "{text} (check the YOUTUBE_OAUTH_TOKEN secret)"
        ))),
        403 => Err(ProviderError::Unauthorized(format!(
            "{text} (the token lacks a scope, or the video is not this channel's)"
        ))),
        404 => Err(failure(
            if reason.is_empty() {
                "not_found"
            } else {
                reason
            },
            false,
        )),
        400 | 422 => match fields.iter().find(|(r, _)| *r == reason) {
            Some((_, pointer)) => Err(invalid(pointer, format!("YouTube refused it: {text}"))),
            None => Err(failure(
                if reason.is_empty() {
                    "bad_request"
                } else {
                    reason
                },
                false,
            )),
        },
        500..=599 => Err(failure(&status.to_string(), true)),
        _ => Err(failure(&status.to_string(), false)),
    }
}

/// `GET url` and its JSON body.
pub fn get_json(url: &str) -> Result<Value, ProviderError> {
    let resp = Request::get(url)
        .header("accept", "application/json")
        .send()
        .map_err(|e| transport(e, false))?;
    check(&resp, &[])
}

/// A request with a JSON body (`PUT` for updates) and its JSON response.
pub fn send_json(
    method: &str,
    url: &str,
    body: &Value,
    fields: ReasonFields,
) -> Result<Value, ProviderError> {
    let resp = Request::new(method, url)
        .header("accept", "application/json")
        .json(body)
        .send()
        .map_err(|e| transport(e, true))?;
    check(&resp, fields)
}

/// A preview of one request for a dry-run outcome.
pub fn preview(method: &str, url: &str, body: Option<Value>) -> Value {
    let mut p = json!({
        "method": method,
        "url": url,
        "headers": {"authorization": "(injected by the host: Bearer {YOUTUBE_OAUTH_TOKEN})"},
    });
    if let Some(b) = body {
        p["headers"]["content-type"] = json!("application/json");
        p["body"] = b;
    }
    p
}
