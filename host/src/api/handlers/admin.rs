//! Switches, spend, audit and policy explain.

use super::{ModeArg, in_scope, parse};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, JsonBody, QueryArgs};
use crate::governance::{Domain, ProjectId};
use crate::principal::ProjectScope;
use crate::service::{ProposeRequest, ServiceError};
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// On or off.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SwitchArg {
    /// Live actions may run (if every other gate agrees).
    On,
    /// No live action runs.
    Off,
}

/// The body of `PUT /api/switches/{scope}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchBody {
    /// The new state.
    pub state: SwitchArg,
    /// Why (recorded in the audit with who).
    pub reason: String,
}

/// The body of `POST /api/policies/{project}/explain`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainBody {
    /// The provider domain.
    pub domain: String,
    /// The operation.
    pub operation: String,
    /// The params (default `{}`).
    #[serde(default)]
    pub params: Option<Value>,
    /// `dry-run` (default) or `live`.
    #[serde(default)]
    pub mode: Option<ModeArg>,
}

/// `GET /api/switches`.
pub async fn list_switches(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Value>, ApiError> {
    let s = state.host().switches().await?;
    Ok(Json(serde_json::to_value(s).map_err(ApiError::internal)?))
}

fn known_scope(state: &AppState, scope: &str) -> Result<(), ApiError> {
    if scope == "global" {
        return Ok(());
    }
    let domain: Domain = parse("scope", scope)?;
    if state.host().provider(&domain).is_none() {
        return Err(ApiError::not_found(format!(
            "switch `{scope}` not found: expected `global` or a configured domain"
        )));
    }
    Ok(())
}

/// `GET /api/switches/{scope}`.
pub async fn get_switch(
    State(state): State<AppState>,
    _: Caller,
    Path(scope): Path<String>,
) -> Result<Json<Value>, ApiError> {
    known_scope(&state, &scope)?;
    let s = state.host().switches().await?;
    let row = s.rows.iter().find(|r| r.scope == scope);
    Ok(Json(match row {
        Some(r) => serde_json::to_value(r).map_err(ApiError::internal)?,
        None => {
            json!({"scope": scope, "on": false, "updated_by": null, "reason": "never turned on", "updated_at": null})
        }
    }))
}

/// `PUT /api/switches/{scope}`.
pub async fn put_switch(
    State(state): State<AppState>,
    caller: Caller,
    Path(scope): Path<String>,
    JsonBody(body): JsonBody<SwitchBody>,
) -> Result<Json<Value>, ApiError> {
    if !caller.principal.projects.is_all() {
        return Err(ApiError::forbidden(
            "switches act on every project; a principal scoped to some projects may not flip them",
        ));
    }
    known_scope(&state, &scope)?;
    let on = matches!(body.state, SwitchArg::On);
    let row = state
        .host()
        .set_switch(&caller.actor, &scope, on, &body.reason)
        .await?;
    Ok(Json(serde_json::to_value(row).map_err(ApiError::internal)?))
}

/// The query of `GET /api/spend`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendQuery {
    project: Option<String>,
}

/// `GET /api/spend`.
pub async fn spend(
    State(state): State<AppState>,
    caller: Caller,
    QueryArgs(q): QueryArgs<SpendQuery>,
) -> Result<Json<Value>, ApiError> {
    let project: ProjectId = match (&q.project, &caller.principal.projects) {
        (Some(p), _) => parse("project", p)?,
        (None, ProjectScope::Only(set)) if set.len() == 1 => set
            .iter()
            .next()
            .cloned()
            .ok_or_else(|| ApiError::invalid("pass `project`"))?,
        (None, _) => return Err(ApiError::invalid("pass `project`")),
    };
    in_scope(&caller.principal, &project)?;
    let policy = state
        .host()
        .policies()
        .get(&project)
        .ok_or_else(|| ApiError::not_found(format!("project `{project}` not found")))?;
    let summary = state
        .host()
        .ledger()
        .spend_summary(&project, state.host().now())
        .await
        .map_err(ServiceError::from)?;
    let caps = policy.caps();
    let mut names: std::collections::BTreeSet<&crate::governance::Unit> = caps.units();
    names.extend(summary.units.iter().map(|u| &u.unit));
    let cap = |m: Option<&crate::governance::Money>| m.map(|m| m.minor_units);
    let units: Vec<Value> = names
        .into_iter()
        .map(|unit| {
            let used = summary.units.iter().find(|u| &u.unit == unit);
            json!({
                "unit": unit.to_string(),
                "day_reserved": used.map_or(0, |u| u.day_reserved),
                "day_settled": used.map_or(0, |u| u.day_settled),
                "month_reserved": used.map_or(0, |u| u.month_reserved),
                "month_settled": used.map_or(0, |u| u.month_settled),
                "cap_per_action": cap(caps.per_action(unit)),
                "cap_per_day": cap(caps.per_day(unit)),
                "cap_per_month": cap(caps.per_month(unit)),
            })
        })
        .collect();
    Ok(Json(json!({
        "project": project,
        "day": summary.day,
        "month": summary.month,
        "minor_units": true,
        "units": units,
    })))
}

/// The query of `GET /api/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/audit`.
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryArgs(q): QueryArgs<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("`limit` is 1 to 1000"));
    }
    let records = state
        .host()
        .ledger()
        .audit_records(q.after.unwrap_or(0), limit)
        .await
        .map_err(ServiceError::from)?;
    let next_after = records.last().map(|r| r.seq);
    let scope = &caller.principal.projects;
    let visible: Vec<_> = records
        .into_iter()
        .filter(|r| match scope {
            ProjectScope::All => true,
            ProjectScope::Only(_) => r
                .project
                .as_deref()
                .and_then(|p| p.parse::<ProjectId>().ok())
                .is_some_and(|p| scope.allows(&p)),
        })
        .collect();
    Ok(Json(json!({
        "records": visible,
        "next_after": next_after,
    })))
}

/// `GET /api/audit/verify`.
pub async fn verify_audit(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Value>, ApiError> {
    let report = state.host().verify_audit().await?;
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

/// `POST /api/policies/{project}/explain`.
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<ExplainBody>,
) -> Result<Json<Value>, ApiError> {
    let p: ProjectId = parse("project", &project)?;
    in_scope(&caller.principal, &p)?;
    let req = ProposeRequest {
        project,
        domain: body.domain,
        operation: body.operation,
        params: body.params.unwrap_or_else(|| json!({})),
        mode: body
            .mode
            .map(Into::into)
            .unwrap_or(crate::governance::Mode::DryRun),
        idempotency_key: None,
    };
    let d = state.host().explain(&caller.actor, &req).await?;
    Ok(Json(serde_json::to_value(d).map_err(ApiError::internal)?))
}
