//! `X-Request-ID`: the caller's (if it is a sane token) or a new one, on every response, in
//! every log line of the request (a tracing span) and in the audit records it causes.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The request id of the request being served on this task (empty outside one).
pub fn current() -> String {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

/// The request's id, as an extension handlers can extract.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether a caller-supplied id is acceptable: 1–128 characters of `[A-Za-z0-9._:-]`.
/// Anything else is replaced, so ids are safe in logs, headers and audit records.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A new id: `req_` and 26 hex digits from the OS random source.
pub fn generate() -> String {
    let mut bytes = [0u8; 13];
    // Falls back to a time-based id if the OS has no randomness to give; ids are not secrets.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes[..13].copy_from_slice(&nanos.to_le_bytes()[..13]);
    }
    format!("req_{}", hex::encode(bytes))
}

/// Middleware: assigns the id, runs the request inside its span and task-local, and puts
/// the id on the response.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid(v))
        .map(str::to_owned)
        .unwrap_or_else(generate);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = CURRENT
        .scope(id.clone(), next.run(req).instrument(span))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(is_valid("abc-123_x.y:z"));
        assert!(!is_valid(""));
        assert!(!is_valid("a b"));
        assert!(!is_valid("a\nb"));
        assert!(!is_valid(&"a".repeat(129)));
        let g = generate();
        assert!(is_valid(&g) && g.starts_with("req_") && g.len() == 30);
    }
}
