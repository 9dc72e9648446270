//! Health, readiness, sessions, providers, the OpenAPI document and metrics.

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, JsonBody};
use crate::governance::Domain;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// `GET /health`.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /ready`: the ledger answers within 2 s and every configured provider is loaded.
pub async fn ready(State(state): State<AppState>) -> Response {
    let ledger =
        tokio::time::timeout(Duration::from_secs(2), state.host().ledger().switch_list()).await;
    let ledger_ok = matches!(ledger, Ok(Ok(_)));
    let (loaded, configured) = state.host().provider_counts();
    if ledger_ok && loaded == configured {
        return Json(json!({"status": "ready", "ledger": "ok", "providers": loaded}))
            .into_response();
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        format!(
            "not ready: ledger {}, {loaded} of {configured} providers loaded",
            if ledger_ok { "ok" } else { "unreachable" }
        ),
    )
    .with(
        "ledger",
        json!(if ledger_ok { "ok" } else { "unreachable" }),
    )
    .with("providers", json!(loaded))
    .into_response()
}

/// The body of `POST /api/auth/login`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// An API key.
    pub api_key: String,
}

/// `POST /api/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    match state.auth().login(&body.api_key) {
        None => Err(ApiError::not_found(
            "sessions are disabled (`auth.jwt = false`): use `X-API-Key`",
        )),
        Some(Err(_)) => Err(ApiError::unauthorized("the API key is not valid")),
        Some(Ok((principal, session))) => {
            tracing::info!(principal = %principal.id, "session issued");
            Ok(Json(json!({
                "token": session.token,
                "token_type": session.token_type,
                "expires_in": session.expires_in,
                "principal": principal,
            })))
        }
    }
}

/// `GET /api/auth/whoami`.
pub async fn whoami(caller: Caller) -> Json<Value> {
    Json(json!({
        "id": caller.principal.id,
        "roles": caller.principal.roles,
        "projects": caller.principal.projects,
        "auth": caller.actor.auth.as_str(),
    }))
}

fn provider_json(p: &crate::runtime::Provider) -> Value {
    json!({
        "domain": p.domain(),
        "digest": p.digest(),
        "info": p.info(),
        "limits": {
            "memory_mib": p.limits().memory_mib,
            "wall_time_ms": p.limits().wall_time_ms,
            "max_requests": p.limits().max_requests,
        },
    })
}

/// `GET /api/providers`.
pub async fn list_providers(State(state): State<AppState>, _: Caller) -> Json<Value> {
    let list: Vec<Value> = state.host().providers().map(provider_json).collect();
    Json(json!({ "providers": list }))
}

/// `GET /api/providers/{domain}`.
pub async fn get_provider(
    State(state): State<AppState>,
    _: Caller,
    Path(domain): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d: Domain = super::parse("domain", &domain)?;
    state
        .host()
        .provider(&d)
        .map(|p| Json(provider_json(p)))
        .ok_or_else(|| ApiError::not_found(format!("provider `{domain}` not found")))
}

/// `GET /openapi.json`.
pub async fn openapi(State(state): State<AppState>, _: Caller) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.inner.openapi.clone(),
    )
        .into_response()
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, _: Caller) -> Response {
    let text = state.metrics().render(state.host()).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
