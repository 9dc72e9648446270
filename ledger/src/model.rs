//! What goes into the ledger and what comes out of it.

use crate::audit::AuditEvent;
use crate::status::ActionStatus;
use autopack_governance::{
    ActionId, Approval, Domain, Mode, Money, OperationName, PayloadHash, PluginDigest, PrincipalId,
    ProjectId, SpendUsage, Switches, Tier, Timestamp, Unit,
};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A new action as the service proposes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    /// A fresh id (`act_` + ULID).
    pub id: ActionId,
    /// The project.
    pub project: ProjectId,
    /// The provider domain.
    pub domain: Domain,
    /// The operation.
    pub operation: OperationName,
    /// The normalized params (as hashed).
    pub params: Value,
    /// Dry-run or live.
    pub mode: Mode,
    /// The effective tier, if the operation is known.
    pub tier: Option<Tier>,
    /// SHA-256 of the canonical payload (I4).
    pub payload_hash: PayloadHash,
    /// The plugin that will run it.
    pub plugin_digest: PluginDigest,
    /// The caller's idempotency key, or the payload hash when none was sent (I5).
    pub idempotency_key: String,
    /// Who proposed it.
    pub proposer: PrincipalId,
    /// Where it starts: `denied`, `pending_approval`, `approved`, or `executing` (dry-run).
    pub status: ActionStatus,
    /// The proposal's decision (verdict, tier, reasons) as JSON.
    pub decision: Value,
    /// Declared spend from the plugin's `validate`.
    pub declared_spend: Vec<Money>,
    /// When it was proposed.
    pub created_at: Timestamp,
    /// When a pending or approved action expires, if it can.
    pub expires_at: Option<Timestamp>,
}

/// An action as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// Its id.
    pub id: ActionId,
    /// The project.
    pub project: ProjectId,
    /// The provider domain.
    pub domain: Domain,
    /// The operation.
    pub operation: OperationName,
    /// The normalized params.
    pub params: Value,
    /// Dry-run or live.
    pub mode: Mode,
    /// The effective tier, if the operation is known.
    pub tier: Option<Tier>,
    /// SHA-256 of the canonical payload.
    pub payload_hash: PayloadHash,
    /// The plugin digest in the payload.
    pub plugin_digest: PluginDigest,
    /// The idempotency key.
    pub idempotency_key: String,
    /// Who proposed it.
    pub proposer: PrincipalId,
    /// Where it is in its lifecycle.
    pub status: ActionStatus,
    /// The latest decision as JSON.
    pub decision: Value,
    /// Declared spend.
    pub declared_spend: Vec<Money>,
    /// Actual spend reported by the plugin, once finished.
    pub actual_spend: Option<Vec<Money>>,
    /// The plugin's outcome, once finished.
    pub outcome: Option<Value>,
    /// The error, if it failed.
    pub error: Option<Value>,
    /// The attempted writes (method, URL, redacted body) recorded as the preview.
    pub preview: Option<Value>,
    /// Which host instance began executing it, if any.
    pub executor: Option<String>,
    /// When it was proposed.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When a pending or approved action expires.
    pub expires_at: Option<Timestamp>,
}

/// Optional field updates applied with a transition; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionPatch {
    /// A new decision.
    pub decision: Option<Value>,
    /// The outcome.
    pub outcome: Option<Value>,
    /// The error.
    pub error: Option<Value>,
    /// The preview.
    pub preview: Option<Value>,
    /// A new expiry (e.g. set when approved).
    pub expires_at: Option<Timestamp>,
}

/// Result of [`crate::Ledger::insert_action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// The action was recorded.
    New(Action),
    /// `(project, idempotency_key)` already named this action; nothing was written (I5).
    Existing(Action),
}

impl Inserted {
    /// The action, new or existing.
    pub fn action(&self) -> &Action {
        match self {
            Inserted::New(a) | Inserted::Existing(a) => a,
        }
    }

    /// Whether it was newly recorded.
    pub fn is_new(&self) -> bool {
        matches!(self, Inserted::New(_))
    }
}

/// One approval as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRow {
    /// Who approved.
    pub approver: PrincipalId,
    /// The payload hash they sent (must be the action's).
    pub payload_hash: PayloadHash,
    /// When.
    pub approved_at: Timestamp,
    /// Whether an execution has consumed it.
    pub consumed: bool,
}

impl ApprovalRow {
    /// A fresh, unconsumed approval.
    pub fn new(approver: PrincipalId, payload_hash: PayloadHash, approved_at: Timestamp) -> Self {
        ApprovalRow {
            approver,
            payload_hash,
            approved_at,
            consumed: false,
        }
    }

    /// The governance view of this approval.
    pub fn to_governance(&self) -> Approval {
        Approval {
            approver: self.approver.clone(),
            payload_hash: self.payload_hash.clone(),
            approved_at: self.approved_at,
        }
    }
}

/// Result of [`crate::Ledger::add_approval`]: the action and all its approvals after the insert.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalAdded {
    /// The action (unchanged status).
    pub action: Action,
    /// Every approval of the action, including the new one, read in the same transaction.
    pub approvals: Vec<ApprovalRow>,
}

/// What [`crate::Ledger::begin_execution`]'s check sees, read inside its transaction.
#[derive(Debug, Clone)]
pub struct ExecutionSnapshot {
    /// The action, locked.
    pub action: Action,
    /// Its unconsumed approvals.
    pub approvals: Vec<ApprovalRow>,
    /// The kill switches.
    pub switches: Switches,
    /// The project's spend reserved or settled in `now`'s UTC day and month, per unit.
    pub usage: SpendUsage,
    /// The instant passed to `begin_execution`.
    pub now: Timestamp,
}

impl ExecutionSnapshot {
    /// The approvals as governance sees them.
    pub fn governance_approvals(&self) -> Vec<Approval> {
        self.approvals
            .iter()
            .map(ApprovalRow::to_governance)
            .collect()
    }
}

/// The check passed: what to reserve and what to record.
#[derive(Debug, Clone)]
pub struct ExecutionPlan {
    /// Amounts to reserve (normally the declared spend); same-unit amounts are added up.
    pub reserve: Vec<Money>,
    /// The execution-time decision, stored on the action.
    pub decision: Value,
    /// The audit record of the move to `executing`.
    pub audit: AuditEvent,
}

/// The check refused: nothing changes except a denial record in the audit chain.
#[derive(Debug, Clone)]
pub struct Denied {
    /// The execution-time decision (with its reasons).
    pub decision: Value,
    /// The audit record of the denial (boxed: keeps the check's `Result` small).
    pub audit: Box<AuditEvent>,
}

impl Denied {
    /// A denial with its decision and audit record.
    pub fn new(decision: Value, audit: AuditEvent) -> Denied {
        Denied {
            decision,
            audit: Box::new(audit),
        }
    }
}

/// Result of [`crate::Ledger::begin_execution`].
#[derive(Debug, Clone)]
pub enum BeginOutcome {
    /// The action is now `executing`; its spend is reserved and its approvals consumed.
    Started(Box<Action>),
    /// The re-check refused; the action is unchanged and the denial is audited.
    Denied(Denied),
}

/// How a run ended, for [`crate::Ledger::finish_execution`] and [`crate::Ledger::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// `succeeded`, `failed`, or `previewed` (dry-run only).
    pub status: ActionStatus,
    /// The plugin's outcome.
    pub outcome: Option<Value>,
    /// The error, if it failed.
    pub error: Option<Value>,
    /// The preview (attempted writes), if any.
    pub preview: Option<Value>,
    /// What was actually spent.
    pub actual_spend: Vec<Money>,
}

/// Result of [`crate::Ledger::finish_execution`] and [`crate::Ledger::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct FinishOutcome {
    /// The action in its final state.
    pub action: Action,
    /// Amounts spent above their reservation (I7); non-empty means the domain switch tripped.
    pub overspend: Vec<Money>,
}

/// A kill switch: the global one or one domain's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SwitchScope {
    /// The global external-actions switch.
    Global,
    /// One provider domain's switch.
    Domain(Domain),
}

impl SwitchScope {
    /// `global` or the domain name, as stored.
    pub fn as_str(&self) -> &str {
        match self {
            SwitchScope::Global => "global",
            SwitchScope::Domain(d) => d.as_str(),
        }
    }
}

impl FromStr for SwitchScope {
    type Err = autopack_governance::IdError;
    /// `global` is always the global switch (so a domain named `global` has no switch of its
    /// own and can never run live: fail closed); anything else must be a domain name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "global" {
            Ok(SwitchScope::Global)
        } else {
            Domain::new(s).map(SwitchScope::Domain)
        }
    }
}

impl fmt::Display for SwitchScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A switch as stored. A scope without a row is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchRow {
    /// `global` or a domain.
    pub scope: String,
    /// On or off.
    pub on: bool,
    /// Who flipped it last.
    pub updated_by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub updated_at: Timestamp,
}

/// Which actions [`crate::Ledger::list_actions`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionFilter {
    /// Only this status.
    pub status: Option<ActionStatus>,
    /// Only this project.
    pub project: Option<ProjectId>,
    /// Only this domain.
    pub domain: Option<Domain>,
}

/// A page request: newest first, `limit` items after the cursor of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// At most this many (1–1000).
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub after_cursor: Option<String>,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 50,
            after_cursor: None,
        }
    }
}

/// A page of actions.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionPage {
    /// The actions, newest first.
    pub actions: Vec<Action>,
    /// Pass as `after_cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Spend of one unit in the current day and month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitSpend {
    /// The unit.
    pub unit: Unit,
    /// Reserved by actions still executing or unknown, today.
    pub day_reserved: i64,
    /// Settled (actually spent) today.
    pub day_settled: i64,
    /// Reserved this month.
    pub month_reserved: i64,
    /// Settled this month.
    pub month_settled: i64,
}

/// A project's spend against its caps' periods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendSummary {
    /// The project.
    pub project: ProjectId,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The UTC month, `YYYY-MM`.
    pub month: String,
    /// Per unit, sorted by unit.
    pub units: Vec<UnitSpend>,
}
