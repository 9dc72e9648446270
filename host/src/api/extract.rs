//! Extractors that fail into the error envelope: JSON bodies, queries, and the caller.

use super::error::ApiError;
use super::request_id::RequestId;
use crate::principal::Principal;
use crate::service::{Actor, AuthMethod};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body; a bad one becomes `invalid_json`, `unsupported_media_type` or
/// `payload_too_large` in the envelope.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected `Content-Type: application/json`",
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is over the limit",
                ))
            }
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                e.body_text(),
            )),
        }
    }
}

/// A query string; a bad one becomes `invalid_request`.
pub struct QueryArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| QueryArgs(v))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}

/// The authenticated caller: the principal and the [`Actor`] its service calls carry.
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// The actor for the service (principal id, auth method, request id).
    pub actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("credentials required"))?;
        let via = parts
            .extensions
            .get::<AuthMethod>()
            .copied()
            .unwrap_or(AuthMethod::ApiKey);
        let mut actor = Actor::new(principal.id.clone(), via);
        if let Some(RequestId(id)) = parts.extensions.get::<RequestId>() {
            actor = actor.with_request_id(id.clone());
        }
        Ok(Caller { principal, actor })
    }
}
