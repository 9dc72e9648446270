//! The one error envelope: `{"error": {"code", "message", "request_id", …}}`.
//!
//! Every error the API answers with goes through [`ApiError`], so the envelope, the stable
//! codes and the request id are the same everywhere. Server-side failures (5xx) keep their
//! details in the log (with the request id) and tell the client only the code.

use super::request_id;
use crate::service::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An API error: status, stable code, message and optional extra fields.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable snake_case code.
    pub code: &'static str,
    /// A human-readable message.
    pub message: String,
    /// Extra fields merged into the `error` object (e.g. a denial's `decision`).
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 500 `internal`: the detail is logged, never sent.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(detail = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details under this request id",
        )
    }

    /// Adds an extra field to the `error` object.
    pub fn with(mut self, key: &str, value: Value) -> ApiError {
        self.extra.insert(key.to_owned(), value);
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            let mut err = ApiError::internal(&e);
            err.code = e.code();
            return err;
        }
        let mut err = ApiError::new(status, e.code(), e.to_string());
        if let Some(d) = e.decision() {
            err = err.with("decision", d.clone());
        }
        if let ServiceError::Denied {
            action_id: Some(id),
            ..
        } = &e
        {
            err = err.with("action_id", json!(id.as_str()));
        }
        if let ServiceError::IdempotencyKeyReused { action_id, .. } = &e {
            err = err.with("action_id", json!(action_id.as_str()));
        }
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut obj = Map::new();
        obj.insert("code".into(), json!(self.code));
        obj.insert("message".into(), json!(self.message));
        obj.insert("request_id".into(), json!(request_id::current()));
        for (k, v) in self.extra {
            obj.entry(k).or_insert(v);
        }
        let mut res = (self.status, axum::Json(json!({ "error": obj }))).into_response();
        res.extensions_mut().insert(ErrorCode(self.code));
        res
    }
}

/// The code of an error response, for the request log line.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// Every code the API itself (not the service) may answer with, for `docs/API.md`.
pub const API_CODES: &[(&str, u16, &str)] = &[
    (
        "unauthorized",
        401,
        "no credentials, or credentials that are not valid",
    ),
    (
        "forbidden",
        403,
        "authenticated, but the role or project scope does not allow this",
    ),
    (
        "not_found",
        404,
        "no such route or resource (also for other projects' actions)",
    ),
    (
        "method_not_allowed",
        405,
        "the route exists but not with this method",
    ),
    ("invalid_request", 400, "a malformed body, query or path"),
    (
        "invalid_json",
        400,
        "the body is not the JSON this route expects",
    ),
    (
        "unsupported_media_type",
        415,
        "a body that is not `application/json`",
    ),
    (
        "payload_too_large",
        413,
        "the body is over `server.body_limit_bytes`",
    ),
    (
        "request_timeout",
        503,
        "the request took longer than `server.request_timeout_ms`",
    ),
    (
        "not_ready",
        503,
        "the ledger is unreachable or a provider failed to load",
    ),
    (
        "internal",
        500,
        "a server fault; details are in the log under the request id",
    ),
];
