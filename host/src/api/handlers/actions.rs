//! `/api/actions…`: propose, read, approve, reject, execute, resolve, artifacts.

use super::{ModeArg, in_scope, parse};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, JsonBody, QueryArgs};
use crate::governance::{ActionId, Domain, ProjectId};
use crate::ledger::{Action, ActionFilter, ActionStatus, Page};
use crate::principal::ProjectScope;
use crate::service::{ProposeRequest, ResolveOutcome, ServiceError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// The body of `POST /api/actions`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    /// The project whose policy governs the action.
    pub project: String,
    /// The provider domain.
    pub domain: String,
    /// The operation.
    pub operation: String,
    /// The params, checked against the operation's JSON Schema (default `{}`).
    #[serde(default)]
    pub params: Option<Value>,
    /// `dry-run` (the default unless the server says otherwise) or `live`.
    #[serde(default)]
    pub mode: Option<ModeArg>,
    /// `(project, key)` names one action; the `Idempotency-Key` header works too.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// The body of `POST /api/actions/{id}/approve`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The payload hash the approver reviewed; it must be the action's.
    pub payload_hash: String,
}

/// The body of `POST /api/actions/{id}/reject`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why.
    pub reason: String,
}

/// How an operator settles an `unknown` action.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolveArg {
    /// The side effect happened.
    Succeeded,
    /// It did not.
    Failed,
}

/// The body of `POST /api/actions/{id}/resolve`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// The outcome the operator asserts; omit it with `lookup: true` to let the plugin's
    /// lookup decide.
    #[serde(default)]
    pub outcome: Option<ResolveArg>,
    /// Ask the plugin's `lookup` first.
    #[serde(default)]
    pub lookup: bool,
    /// Why (recorded in the audit).
    pub note: String,
}

/// The query of `GET /api/actions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    project: Option<String>,
    domain: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Runs a service call on its own task: a client that disconnects or times out must not
/// cancel a proposal or execution halfway (the ledger would keep an `executing` action until
/// the next restart).
async fn detached<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, ServiceError>> + Send + 'static,
) -> Result<T, ApiError> {
    // The request's span (and its request id) goes along into the task's log lines.
    match tokio::spawn(tracing::Instrument::instrument(f, tracing::Span::current())).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("service task: {e}"))),
    }
}

/// Loads an action the caller may see (others' are `not_found`).
async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<Action, ApiError> {
    let id: ActionId = parse("action id", id)?;
    let action = state.host().get(&id).await?;
    if !caller.principal.projects.allows(&action.project) {
        return Err(ApiError::not_found(format!("action `{id}` not found")));
    }
    Ok(action)
}

fn action_json(action: &Action) -> Result<Value, ApiError> {
    serde_json::to_value(action).map_err(ApiError::internal)
}

/// `POST /api/actions`.
pub async fn propose(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProposeBody>,
) -> Result<Response, ApiError> {
    let project: ProjectId = parse("project", &body.project)?;
    in_scope(&caller.principal, &project)?;
    let header_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::invalid("the Idempotency-Key header is not text"))
        })
        .transpose()?;
    let key = match (header_key, body.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::invalid(
                "the Idempotency-Key header and `idempotency_key` differ",
            ));
        }
        (h, b) => h.or(b),
    };
    let req = ProposeRequest {
        project: body.project,
        domain: body.domain,
        operation: body.operation,
        params: body.params.unwrap_or_else(|| json!({})),
        mode: body
            .mode
            .map(Into::into)
            .unwrap_or(state.settings().default_mode),
        idempotency_key: key,
    };
    let domain = req.domain.clone();
    let host = state.host().clone();
    let actor = caller.actor.clone();
    let result = detached(async move { host.propose(&actor, req).await }).await;
    let proposed = match result {
        Ok(p) => p,
        Err(e) => {
            if e.code == "denied" {
                state.metrics().action(&domain, None, "deny", "denied");
            }
            return Err(e);
        }
    };
    let a = &proposed.action;
    state.metrics().action(
        a.domain.as_str(),
        a.tier.map(|t| t.to_string()).as_deref(),
        a.decision["verdict"].as_str().unwrap_or("unknown"),
        a.status.as_str(),
    );
    let status = if proposed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = (status, Json(action_json(a)?)).into_response();
    if proposed.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// `GET /api/actions`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryArgs(q): QueryArgs<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            ActionStatus::parse(s).ok_or_else(|| ApiError::invalid(format!("unknown status `{s}`")))
        })
        .transpose()?;
    let mut project: Option<ProjectId> = q
        .project
        .as_deref()
        .map(|p| parse("project", p))
        .transpose()?;
    match (&caller.principal.projects, &project) {
        (ProjectScope::All, _) => {}
        (ProjectScope::Only(_), Some(p)) => in_scope(&caller.principal, p)?,
        (ProjectScope::Only(set), None) if set.len() == 1 => project = set.iter().next().cloned(),
        (ProjectScope::Only(_), None) => {
            return Err(ApiError::invalid(
                "you are scoped to several projects: pass `project`",
            ));
        }
    }
    let domain: Option<Domain> = q
        .domain
        .as_deref()
        .map(|d| parse("domain", d))
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("`limit` is 1 to 1000"));
    }
    let page = state
        .host()
        .list(
            &ActionFilter {
                status,
                project,
                domain,
            },
            &Page {
                limit,
                after_cursor: q.cursor,
            },
        )
        .await?;
    Ok(Json(json!({
        "actions": page.actions,
        "next_cursor": page.next_cursor,
    })))
}

/// `GET /api/actions/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let action = visible(&state, &caller, &id).await?;
    let approvals = state
        .host()
        .ledger()
        .approvals(&action.id)
        .await
        .map_err(ServiceError::from)?;
    let mut v = action_json(&action)?;
    v["approvals"] = serde_json::to_value(approvals).map_err(ApiError::internal)?;
    Ok(Json(v))
}

/// `POST /api/actions/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ApproveBody>,
) -> Result<Json<Value>, ApiError> {
    let action = visible(&state, &caller, &id).await?;
    let a = state
        .host()
        .approve(&caller.actor, &action.id, &body.payload_hash)
        .await?;
    Ok(Json(action_json(&a)?))
}

/// `POST /api/actions/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RejectBody>,
) -> Result<Json<Value>, ApiError> {
    let action = visible(&state, &caller, &id).await?;
    let a = state
        .host()
        .reject(&caller.actor, &action.id, &body.reason)
        .await?;
    Ok(Json(action_json(&a)?))
}

/// `POST /api/actions/{id}/execute`.
pub async fn execute(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let action = visible(&state, &caller, &id).await?;
    let host = state.host().clone();
    let actor = caller.actor.clone();
    let id = action.id.clone();
    let result = detached(async move { host.execute(&actor, &id).await }).await;
    let a = match result {
        Ok(a) => a,
        Err(e) => {
            if e.code == "denied" {
                state.metrics().action(
                    action.domain.as_str(),
                    action.tier.map(|t| t.to_string()).as_deref(),
                    "deny",
                    action.status.as_str(),
                );
            }
            return Err(e);
        }
    };
    state.metrics().action(
        a.domain.as_str(),
        a.tier.map(|t| t.to_string()).as_deref(),
        "allow",
        a.status.as_str(),
    );
    Ok(Json(action_json(&a)?))
}

/// `POST /api/actions/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<Json<Value>, ApiError> {
    let action = visible(&state, &caller, &id).await?;
    let outcome = body.outcome.map(|o| match o {
        ResolveArg::Succeeded => ResolveOutcome::Succeeded,
        ResolveArg::Failed => ResolveOutcome::Failed,
    });
    let host = state.host().clone();
    let actor = caller.actor.clone();
    let id = action.id.clone();
    let a = detached(async move {
        host.resolve(&actor, &id, outcome, &body.note, body.lookup)
            .await
    })
    .await?;
    Ok(Json(action_json(&a)?))
}

/// The query of `GET /api/actions/{id}/artifacts/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactQuery {
    max_bytes: Option<u64>,
}

fn artifact_error(e: crate::artifacts::ArtifactError) -> ApiError {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        return ApiError::internal(&e);
    }
    ApiError::new(status, e.code(), e.to_string())
}

/// `GET /api/actions/{id}/artifacts/{name}`: streamed, bounded by `max_bytes` and the server
/// cap, redacted on read. Served as an attachment in a CSP sandbox, whatever the plugin said
/// its type was, so an artifact can never run script in the API's origin.
pub async fn artifact(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
    QueryArgs(q): QueryArgs<ArtifactQuery>,
) -> Result<Response, ApiError> {
    let action = visible(&state, &caller, &id).await?;
    let cap = state.settings().max_artifact_read_bytes;
    let redactor = state
        .host()
        .provider(&action.domain)
        .map(|p| p.redactor().clone())
        .unwrap_or_default();
    let opts = crate::artifacts::ReadOptions::new(redactor)
        .max_bytes(q.max_bytes.map_or(cap, |m| m.min(cap)));
    let read = state
        .host()
        .artifacts()
        .open(&action.id, &name, opts)
        .await
        .map_err(artifact_error)?;
    let m = &read.meta;
    let content_type = HeaderValue::from_str(&m.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut res = Response::new(axum::body::Body::from_stream(read.body));
    let h = res.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, content_type);
    h.insert(
        axum::http::header::CONTENT_LENGTH,
        HeaderValue::from(m.returned_bytes),
    );
    h.insert("x-artifact-total-bytes", HeaderValue::from(m.total_bytes));
    h.insert(
        "x-artifact-truncated",
        HeaderValue::from_static(if m.truncated { "true" } else { "false" }),
    );
    h.insert(
        "x-artifact-redacted",
        HeaderValue::from_static(if m.redacted { "true" } else { "false" }),
    );
    h.insert(
        axum::http::header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(res)
}
