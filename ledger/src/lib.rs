//! The action ledger and the audit chain of Autopack Host (DESIGN §3 `ledger`, I2, I4–I7, I10).
//!
//! One type, [`Ledger`], with two backends behind it, chosen by the URL given to
//! [`Ledger::open`]:
//!
//! - `sqlite://<path>` — the embedded default: a file in the data dir, created if missing,
//!   WAL journal, `synchronous=FULL` (durable commits), foreign keys on, a busy timeout;
//!   every write transaction is `BEGIN IMMEDIATE` (see the `sqlite` module);
//! - `postgres://…` — several host replicas on one database; correctness across processes
//!   comes from row locks, a per-project advisory transaction lock for spend, and a
//!   single-row lock on the audit chain head (see the `postgres` module).
//!
//! Versioned migrations (`migrations/sqlite`, `migrations/postgres`) are applied at open.
//! The backends share one implementation of every operation (the `ops` module, instantiated
//! per backend: no `sqlx::Any`), and one conformance suite (`tests/conformance.rs`).
//!
//! # Guarantees
//!
//! - **Audit with every change (I10).** Every state transition, approval, switch flip and
//!   recorded event is one database transaction that writes the change and appends its
//!   audit record: no change without a record, no record without its change. Records are
//!   hash-chained ([`audit`]); [`Ledger::verify_audit`] finds an edit, a deletion or a
//!   reordering and names the first bad `seq`.
//! - **The lifecycle is closed (DESIGN §7).** [`ActionStatus`] and [`can_transition`] are the
//!   whole state machine; every move is a compare-and-set on the current state, and a lost
//!   race is a typed [`LedgerError::StateConflict`].
//! - **Gates are re-checked where spend is reserved (I2, I7).** [`Ledger::begin_execution`]
//!   calls the caller's check *inside* its transaction with the locked action, its unconsumed
//!   approvals, the switches and the project's spend for the UTC day and month; only if it
//!   passes are the spend reserved, the approvals consumed and the action moved to
//!   `executing`, in the same commit. Concurrent executions of one project are serialized
//!   there, so a cap that fits N actions lets exactly N through, on both backends.
//! - **At most one attempt (I6).** Only `begin_execution` enters `executing`, once; a
//!   second call gets [`LedgerError::ActionInProgress`]. At start-up
//!   [`Ledger::mark_executing_unknown`] turns this instance's `executing` actions into
//!   `unknown`; nothing retries them.
//! - **Idempotency (I5).** `(project, idempotency_key)` is unique; inserting it again returns
//!   the existing action untouched ([`Inserted::Existing`]) for the service to compare hashes.
//! - **Switches fail closed.** No row means off; [`Ledger::switches`] returns an error (not a
//!   default) when they cannot be read, and [`Ledger::switches_or_unknown`] maps that to
//!   [`Switches::Unknown`], which governance refuses for live actions.
//!
//! The ledger reads no clock: every instant is passed in. It never calls a plugin, never
//! opens a socket other than its database connection, and holds no state in memory that
//! other replicas would need.

mod error;
mod migrations;
mod model;
mod ops;
mod postgres;
mod raw;
mod sqlite;
mod status;
mod time;

pub mod audit;

pub use audit::{
    AuditEvent, AuditFault, AuditFaultKind, AuditRecord, AuditReport, GENESIS_HASH, events,
};
pub use autopack_governance::Switches;
pub use error::{LedgerError, Result};
pub use model::{
    Action, ActionFilter, ActionPage, ActionPatch, ApprovalAdded, ApprovalRow, BeginOutcome,
    Denied, ExecutionPlan, ExecutionSnapshot, FinishOutcome, Finished, Inserted, NewAction, Page,
    SpendSummary, SwitchRow, SwitchScope, UnitSpend,
};
pub use status::{ActionStatus, can_transition};
pub use time::{day_bucket, month_bucket};

use autopack_governance::{ActionId, ProjectId, Timestamp};
use std::time::Duration;

/// How [`Ledger::open_with`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOptions {
    /// Connections of the PostgreSQL pool, or of the SQLite read pool.
    pub max_connections: u32,
    /// Connections of the SQLite write pool (1: writes queue in-process; more: they queue
    /// on SQLite's lock, which the busy timeout bounds).
    pub sqlite_writers: u32,
    /// How long SQLite waits for another process's write lock.
    pub busy_timeout: Duration,
    /// How long an operation waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// This host instance's stable name, recorded on the actions it executes;
    /// [`Ledger::mark_executing_unknown`] recovers only this instance's actions, so each
    /// replica sharing a PostgreSQL database needs its own.
    pub instance_id: String,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            max_connections: 8,
            sqlite_writers: 1,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            instance_id: "default".to_owned(),
        }
    }
}

/// Which database a ledger uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

enum Inner {
    Sqlite(sqlite::Backend),
    Postgres(postgres::Backend),
}

/// Runs the same call on whichever backend is behind the ledger.
macro_rules! dispatch {
    ($self:ident, $b:ident => $call:expr) => {
        match &$self.inner {
            Inner::Sqlite($b) => $call,
            Inner::Postgres($b) => $call,
        }
    };
}

/// The ledger: actions, approvals, reservations, switches and the audit chain.
pub struct Ledger {
    inner: Inner,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("backend", &self.backend())
            .finish()
    }
}

impl Ledger {
    /// Opens `sqlite://<path>` or `postgres://…` with default options and migrates it.
    pub async fn open(url: &str) -> Result<Ledger> {
        Ledger::open_with(url, &LedgerOptions::default()).await
    }

    /// Opens a ledger with explicit options and migrates it.
    pub async fn open_with(url: &str, opts: &LedgerOptions) -> Result<Ledger> {
        let inner = if url.starts_with("sqlite:") {
            Inner::Sqlite(sqlite::Backend::open(url, opts).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Inner::Postgres(postgres::Backend::open(url, opts).await?)
        } else {
            return Err(LedgerError::Invalid(
                "the database URL must start with `sqlite:` or `postgres://`".into(),
            ));
        };
        Ok(Ledger { inner })
    }

    /// Which backend this is.
    pub fn backend(&self) -> BackendKind {
        match self.inner {
            Inner::Sqlite(_) => BackendKind::Sqlite,
            Inner::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Closes the connections; later calls fail with `database_unavailable`.
    pub async fn close(&self) {
        dispatch!(self, b => b.close().await)
    }

    /// Records a new action with its `action.proposed` record, or returns the action that
    /// `(project, idempotency_key)` already names, writing nothing (I5).
    pub async fn insert_action(&self, new: NewAction, event: AuditEvent) -> Result<Inserted> {
        dispatch!(self, b => b.insert_action(new, event).await)
    }

    /// Moves an action from one of `expected_from` to `to` (compare-and-set), applying
    /// `patch`, with its `action.<to>` record. Moves into or out of `executing` and out of
    /// `unknown` have their own operations.
    pub async fn transition(
        &self,
        id: &ActionId,
        expected_from: &[ActionStatus],
        to: ActionStatus,
        patch: ActionPatch,
        event: AuditEvent,
    ) -> Result<Action> {
        dispatch!(self, b => b.transition(id, expected_from, to, patch, event).await)
    }

    /// Records an approval of a `pending_approval` action (its payload hash must match, I4)
    /// with its `action.approval` record; returns every approval of the action, read in the
    /// same transaction, so the caller can decide whether it is now approved.
    pub async fn add_approval(
        &self,
        id: &ActionId,
        approval: ApprovalRow,
        event: AuditEvent,
    ) -> Result<ApprovalAdded> {
        dispatch!(self, b => b.add_approval(id, approval, event).await)
    }

    /// Starts executing an `approved` action: inside one transaction, calls `check` with the
    /// locked action, its unconsumed approvals, the switches and the project's spend; on
    /// `Ok` reserves the plan's spend, consumes the approvals, moves the action to
    /// `executing` and appends the record; on `Err` appends the denial record and changes
    /// nothing else (I2, I6, I7). An action already executing gives `action_in_progress`.
    pub async fn begin_execution<F>(
        &self,
        id: &ActionId,
        now: Timestamp,
        check: F,
    ) -> Result<BeginOutcome>
    where
        F: FnOnce(&ExecutionSnapshot) -> std::result::Result<ExecutionPlan, Denied> + Send,
    {
        dispatch!(self, b => b.begin_execution(id, now, check).await)
    }

    /// Ends an `executing` action: settles its reservations with the actual spend (releasing
    /// the rest), records the outcome, and — if any unit was spent above its reservation —
    /// turns the domain switch off with its own `switch.tripped` record, all in one
    /// transaction (I7).
    pub async fn finish_execution(
        &self,
        id: &ActionId,
        finished: Finished,
        event: AuditEvent,
    ) -> Result<FinishOutcome> {
        dispatch!(self, b => b.finish_execution(id, finished, event).await)
    }

    /// An operator's reconciliation of an `unknown` action to `succeeded` or `failed`,
    /// settled like [`Ledger::finish_execution`].
    pub async fn resolve(
        &self,
        id: &ActionId,
        finished: Finished,
        event: AuditEvent,
    ) -> Result<FinishOutcome> {
        dispatch!(self, b => b.resolve(id, finished, event).await)
    }

    /// At start-up: every action this instance left `executing` becomes `unknown`, one
    /// record each (I6). Returns their ids.
    pub async fn mark_executing_unknown(&self, now: Timestamp) -> Result<Vec<ActionId>> {
        dispatch!(self, b => b.mark_executing_unknown(now, false).await)
    }

    /// Like [`Ledger::mark_executing_unknown`] for every instance's actions: for an operator
    /// who knows no other replica is running.
    pub async fn mark_all_executing_unknown(&self, now: Timestamp) -> Result<Vec<ActionId>> {
        dispatch!(self, b => b.mark_executing_unknown(now, true).await)
    }

    /// Moves `pending_approval` and `approved` actions whose `expires_at` has passed to
    /// `expired`, one record each. Returns their ids.
    pub async fn expire_due(&self, now: Timestamp) -> Result<Vec<ActionId>> {
        dispatch!(self, b => b.expire_due(now).await)
    }

    /// Turns a switch on or off, recording who and why (`switch.on` / `switch.off`).
    pub async fn set_switch(
        &self,
        scope: &SwitchScope,
        on: bool,
        actor: &str,
        reason: &str,
        event: AuditEvent,
    ) -> Result<SwitchRow> {
        dispatch!(self, b => b.set_switch(scope, on, actor, reason, event).await)
    }

    /// The switches as governance reads them; an error means the state is unknown.
    pub async fn switches(&self) -> Result<Switches> {
        dispatch!(self, b => b.switches().await)
    }

    /// The switches, or [`Switches::Unknown`] if they cannot be read (fail closed).
    pub async fn switches_or_unknown(&self) -> Switches {
        self.switches().await.unwrap_or(Switches::Unknown)
    }

    /// Every stored switch with who flipped it and why (absent scopes are off).
    pub async fn switch_list(&self) -> Result<Vec<SwitchRow>> {
        dispatch!(self, b => b.switch_list().await)
    }

    /// Appends a record that is not about an action (policy load, config load…).
    pub async fn record_event(&self, event: AuditEvent) -> Result<AuditRecord> {
        dispatch!(self, b => b.record_event(event).await)
    }

    /// One action, or `not_found`.
    pub async fn get_action(&self, id: &ActionId) -> Result<Action> {
        dispatch!(self, b => b.get_action(id).await)
    }

    /// The action `(project, key)` names, if any.
    pub async fn find_by_idempotency(
        &self,
        project: &ProjectId,
        key: &str,
    ) -> Result<Option<Action>> {
        dispatch!(self, b => b.find_by_idempotency(project, key).await)
    }

    /// Every approval of an action, consumed or not.
    pub async fn approvals(&self, id: &ActionId) -> Result<Vec<ApprovalRow>> {
        dispatch!(self, b => b.approvals(id).await)
    }

    /// Actions matching `filter`, newest first, one page at a time.
    pub async fn list_actions(&self, filter: &ActionFilter, page: &Page) -> Result<ActionPage> {
        dispatch!(self, b => b.list_actions(filter, page).await)
    }

    /// The project's reserved and settled spend per unit in `now`'s UTC day and month.
    pub async fn spend_summary(&self, project: &ProjectId, now: Timestamp) -> Result<SpendSummary> {
        dispatch!(self, b => b.spend_summary(project, now).await)
    }

    /// Up to `limit` audit records after `after_seq`, in chain order.
    pub async fn audit_records(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        dispatch!(self, b => b.audit_records(after_seq, limit).await)
    }

    /// The whole chain as JSON lines (canonical JSON, one record each, with its hash).
    pub async fn export_audit(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let batch = self.audit_records(after, 1000).await?;
            let Some(last) = batch.last() else {
                return Ok(out);
            };
            after = last.seq;
            for rec in &batch {
                out.push(rec.to_json_line()?);
            }
        }
    }

    /// Recomputes the chain and reports the first bad record and why.
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        dispatch!(self, b => b.verify_audit().await)
    }
}
