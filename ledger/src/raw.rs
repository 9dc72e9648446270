//! Conversions between stored columns and typed values, shared by both backends.

use crate::error::{LedgerError, Result};
use crate::model::{Action, ApprovalRow, SwitchRow};
use crate::status::ActionStatus;
use autopack_governance::{Mode, Money, Tier, Timestamp};
use serde_json::Value;

/// The `actions` columns, in the order every query selects them.
macro_rules! action_cols {
    () => {
        "id, project, domain, operation, params, mode, tier, payload_hash, plugin_digest, \
         idempotency_key, proposer, status, decision, declared_spend, actual_spend, outcome, \
         error, preview, executor, created_at, updated_at, expires_at"
    };
}
pub(crate) use action_cols;

/// The `audit` columns, in the order every query selects them.
macro_rules! audit_cols {
    () => {
        "seq, at, request_id, actor, auth, project, domain, operation, action_id, tier, \
         payload_hash, idempotency_key, event, decision, reasons, mode, spend, outcome, \
         policy_digest, plugin_digest, prev_hash, hash"
    };
}
pub(crate) use audit_cols;

/// An `actions` row as stored.
pub(crate) struct RawAction {
    pub id: String,
    pub project: String,
    pub domain: String,
    pub operation: String,
    pub params: String,
    pub mode: String,
    pub tier: Option<String>,
    pub payload_hash: String,
    pub plugin_digest: String,
    pub idempotency_key: String,
    pub proposer: String,
    pub status: String,
    pub decision: String,
    pub declared_spend: String,
    pub actual_spend: Option<String>,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub preview: Option<String>,
    pub executor: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
}

fn integrity(id: &str, what: &str, e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Integrity(format!("action `{id}`: {what}: {e}"))
}

fn json(id: &str, what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| integrity(id, what, e))
}

fn json_opt(id: &str, what: &str, text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| json(id, what, &t)).transpose()
}

fn money_list(id: &str, what: &str, text: &str) -> Result<Vec<Money>> {
    serde_json::from_str(text).map_err(|e| integrity(id, what, e))
}

/// Parses a stored mode name.
pub(crate) fn parse_mode(s: &str) -> Option<Mode> {
    match s {
        "dry-run" => Some(Mode::DryRun),
        "live" => Some(Mode::Live),
        _ => None,
    }
}

/// Parses a stored tier name.
pub(crate) fn parse_tier(s: &str) -> Option<Tier> {
    match s {
        "A" => Some(Tier::A),
        "B" => Some(Tier::B),
        "C" => Some(Tier::C),
        _ => None,
    }
}

impl RawAction {
    /// Checks and converts every column.
    pub fn parse(self) -> Result<Action> {
        let id = self.id.clone();
        let id = id.as_str();
        Ok(Action {
            id: self.id.parse().map_err(|e| integrity(id, "id", e))?,
            project: self
                .project
                .parse()
                .map_err(|e| integrity(id, "project", e))?,
            domain: self
                .domain
                .parse()
                .map_err(|e| integrity(id, "domain", e))?,
            operation: self
                .operation
                .parse()
                .map_err(|e| integrity(id, "operation", e))?,
            params: json(id, "params", &self.params)?,
            mode: parse_mode(&self.mode).ok_or_else(|| integrity(id, "mode", &self.mode))?,
            tier: match &self.tier {
                Some(t) => Some(parse_tier(t).ok_or_else(|| integrity(id, "tier", t))?),
                None => None,
            },
            payload_hash: self
                .payload_hash
                .parse()
                .map_err(|e| integrity(id, "payload_hash", e))?,
            plugin_digest: self
                .plugin_digest
                .parse()
                .map_err(|e| integrity(id, "plugin_digest", e))?,
            idempotency_key: self.idempotency_key,
            proposer: self
                .proposer
                .parse()
                .map_err(|e| integrity(id, "proposer", e))?,
            status: ActionStatus::parse(&self.status)
                .ok_or_else(|| integrity(id, "status", &self.status))?,
            decision: json(id, "decision", &self.decision)?,
            declared_spend: money_list(id, "declared_spend", &self.declared_spend)?,
            actual_spend: match &self.actual_spend {
                Some(t) => Some(money_list(id, "actual_spend", t)?),
                None => None,
            },
            outcome: json_opt(id, "outcome", self.outcome)?,
            error: json_opt(id, "error", self.error)?,
            preview: json_opt(id, "preview", self.preview)?,
            executor: self.executor,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            expires_at: self.expires_at.map(Timestamp),
        })
    }
}

/// An `approvals` row as stored.
pub(crate) fn approval(
    approver: String,
    payload_hash: String,
    approved_at: i64,
    consumed: bool,
) -> Result<ApprovalRow> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        LedgerError::Integrity(format!("approval by `{approver}`: {what}: {e}"))
    };
    Ok(ApprovalRow {
        approver: approver.parse().map_err(|e| bad("approver", &e))?,
        payload_hash: payload_hash.parse().map_err(|e| bad("payload_hash", &e))?,
        approved_at: Timestamp(approved_at),
        consumed,
    })
}

/// A `switches` row as stored.
pub(crate) fn switch_row(
    scope: String,
    on: bool,
    updated_by: String,
    reason: String,
    updated_at: i64,
) -> SwitchRow {
    SwitchRow {
        scope,
        on,
        updated_by,
        reason,
        updated_at: Timestamp(updated_at),
    }
}

/// JSON text of a value for a TEXT column.
pub(crate) fn to_text<T: serde::Serialize>(what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| LedgerError::Invalid(format!("{what}: {e}")))
}
