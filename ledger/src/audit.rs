//! The audit chain (I10): records, their hashes, and the check that finds tampering.
//!
//! Every record carries the I10 minimum fields plus `seq` and `prev_hash`. Its `hash` is the
//! SHA-256 (lowercase hex) of the RFC 8785 canonical JSON of the record without `hash` — that
//! is, including `seq` and `prev_hash` — computed with `autopack_governance::canonical`. So:
//!
//! - an **edited** field changes the record's hash: the stored hash no longer matches;
//! - a **deleted** record leaves a gap in `seq` (or, at the tail, a head that points past the
//!   last record; `audit_head` keeps the last seq and hash);
//! - **reordered** records (content moved to another `seq`) hash correctly only under the
//!   `seq` they were written with, which the check finds through their `prev_hash`.
//!
//! The first record's `prev_hash` is [`GENESIS_HASH`] (64 zeros). The chain is
//! tamper-evident, not tamper-proof: someone who can rewrite every later record and the head
//! can forge it; exporting the head hash elsewhere (`audit export`) pins it.

use crate::error::{LedgerError, Result};
use autopack_governance::canonical::{canonicalize, sha256_hex};
use autopack_governance::{
    ActionId, Decision, Domain, Mode, Money, OperationName, PayloadHash, PluginDigest, ProjectId,
    Tier, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Event names the ledger writes itself (the caller's `event` is kept only by `record_event`).
pub mod events {
    /// A new action was recorded.
    pub const ACTION_PROPOSED: &str = "action.proposed";
    /// An approval was recorded.
    pub const ACTION_APPROVAL: &str = "action.approval";
    /// Execution was refused by the re-check; the action did not change.
    pub const ACTION_EXECUTION_DENIED: &str = "action.execution_denied";
    /// Prefix of a state change: `action.<new status>`, e.g. `action.executing`.
    pub const ACTION_STATE_PREFIX: &str = "action.";
    /// A switch was set on.
    pub const SWITCH_ON: &str = "switch.on";
    /// A switch was set off.
    pub const SWITCH_OFF: &str = "switch.off";
    /// A domain switch was tripped off by an actual spend above its reservation (I7).
    pub const SWITCH_TRIPPED: &str = "switch.tripped";
    /// Actor of records the ledger writes on its own (expiry, recovery, trips).
    pub const SYSTEM_ACTOR: &str = "system";
    /// Authentication method of the system actor.
    pub const SYSTEM_AUTH: &str = "internal";
}

/// What the caller knows about a change: who, how authenticated, why, and with what result.
///
/// For changes of an action the ledger fills project, domain, operation, action id, tier,
/// payload hash, idempotency key, mode and plugin digest from the action itself, and sets
/// `event` (see [`events`]); the other fields are the caller's.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// When (the caller's clock; the ledger reads none).
    pub at: Timestamp,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// Who: a principal id, or `system`.
    pub actor: String,
    /// How the actor authenticated: `api_key`, `jwt`, `cli`, `internal`…
    pub auth: String,
    /// The project.
    pub project: Option<ProjectId>,
    /// The domain.
    pub domain: Option<Domain>,
    /// The operation.
    pub operation: Option<OperationName>,
    /// The action.
    pub action_id: Option<ActionId>,
    /// The tier.
    pub tier: Option<Tier>,
    /// The payload hash.
    pub payload_hash: Option<PayloadHash>,
    /// The idempotency key.
    pub idempotency_key: Option<String>,
    /// What happened, e.g. `policy.loaded` (set by the ledger for action and switch changes).
    pub event: String,
    /// The decision's verdict (`allow`, `deny`, `needs_approval`).
    pub decision: Option<String>,
    /// The decision's reasons (JSON array), or other structured detail.
    pub reasons: Value,
    /// Dry-run or live.
    pub mode: Option<Mode>,
    /// Amounts declared, reserved or spent.
    pub spend: Vec<Money>,
    /// A short outcome text.
    pub outcome: Option<String>,
    /// SHA-256 of the policy in force.
    pub policy_digest: Option<String>,
    /// The plugin digest.
    pub plugin_digest: Option<PluginDigest>,
}

impl AuditEvent {
    /// An event by `actor` authenticated by `auth` at `at`; everything else empty.
    pub fn new(at: Timestamp, actor: impl Into<String>, auth: impl Into<String>) -> Self {
        AuditEvent {
            at,
            request_id: None,
            actor: actor.into(),
            auth: auth.into(),
            project: None,
            domain: None,
            operation: None,
            action_id: None,
            tier: None,
            payload_hash: None,
            idempotency_key: None,
            event: String::new(),
            decision: None,
            reasons: Value::Array(Vec::new()),
            mode: None,
            spend: Vec::new(),
            outcome: None,
            policy_digest: None,
            plugin_digest: None,
        }
    }

    /// An event written by the ledger itself.
    pub fn system(at: Timestamp) -> Self {
        AuditEvent::new(at, events::SYSTEM_ACTOR, events::SYSTEM_AUTH)
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Sets the event name (kept only by `record_event`).
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = event.into();
        self
    }

    /// Sets verdict and reasons from a governance decision.
    pub fn with_decision(mut self, decision: &Decision) -> Self {
        self.decision = Some(decision.verdict.as_str().to_owned());
        self.reasons = serde_json::to_value(&decision.reasons).unwrap_or(Value::Null);
        if self.tier.is_none() {
            self.tier = decision.tier;
        }
        self
    }

    /// Sets the outcome text.
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }

    /// Sets the spend.
    pub fn with_spend(mut self, spend: Vec<Money>) -> Self {
        self.spend = spend;
        self
    }

    /// Sets the policy digest.
    pub fn with_policy_digest(mut self, digest: impl Into<String>) -> Self {
        self.policy_digest = Some(digest.into());
        self
    }
}

/// One record of the chain, as stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// Who.
    pub actor: String,
    /// How they authenticated.
    pub auth: String,
    /// The project.
    pub project: Option<String>,
    /// The domain.
    pub domain: Option<String>,
    /// The operation.
    pub operation: Option<String>,
    /// The action.
    pub action_id: Option<String>,
    /// The tier.
    pub tier: Option<String>,
    /// The payload hash.
    pub payload_hash: Option<String>,
    /// The idempotency key.
    pub idempotency_key: Option<String>,
    /// What happened.
    pub event: String,
    /// The verdict.
    pub decision: Option<String>,
    /// The reasons (JSON).
    pub reasons: Value,
    /// Dry-run or live.
    pub mode: Option<String>,
    /// Amounts, as written money strings (`"20.00 USD"`).
    pub spend: Vec<String>,
    /// The outcome text.
    pub outcome: Option<String>,
    /// The policy digest.
    pub policy_digest: Option<String>,
    /// The plugin digest.
    pub plugin_digest: Option<String>,
    /// The previous record's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 of this record's canonical JSON without `hash`.
    pub hash: String,
}

impl AuditRecord {
    /// Builds record `seq` after `prev_hash` from an event and computes its hash.
    pub fn seal(seq: i64, prev_hash: &str, e: &AuditEvent) -> Result<AuditRecord> {
        let mut rec = AuditRecord {
            seq,
            at: e.at.0,
            request_id: e.request_id.clone(),
            actor: e.actor.clone(),
            auth: e.auth.clone(),
            project: e.project.as_ref().map(|v| v.to_string()),
            domain: e.domain.as_ref().map(|v| v.to_string()),
            operation: e.operation.as_ref().map(|v| v.to_string()),
            action_id: e.action_id.as_ref().map(|v| v.to_string()),
            tier: e.tier.map(|t| t.to_string()),
            payload_hash: e.payload_hash.as_ref().map(|v| v.to_string()),
            idempotency_key: e.idempotency_key.clone(),
            event: e.event.clone(),
            decision: e.decision.clone(),
            reasons: e.reasons.clone(),
            mode: e.mode.map(|m| m.as_str().to_owned()),
            spend: e.spend.iter().map(|m| m.to_string()).collect(),
            outcome: e.outcome.clone(),
            policy_digest: e.policy_digest.clone(),
            plugin_digest: e.plugin_digest.as_ref().map(|v| v.to_string()),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        if rec.actor.is_empty() || rec.auth.is_empty() || rec.event.is_empty() {
            return Err(LedgerError::Invalid(
                "an audit record needs an actor, an auth method and an event".into(),
            ));
        }
        rec.hash = rec.compute_hash()?;
        Ok(rec)
    }

    /// The canonical JSON that is hashed: every field except `hash`.
    pub fn canonical_body(&self) -> Result<String> {
        let mut v = serde_json::to_value(self)
            .map_err(|e| LedgerError::Invalid(format!("audit record: {e}")))?;
        if let Value::Object(map) = &mut v {
            map.remove("hash");
        }
        canonicalize(&v).map_err(|e| LedgerError::Invalid(format!("audit record: {e}")))
    }

    /// SHA-256 of [`AuditRecord::canonical_body`].
    pub fn compute_hash(&self) -> Result<String> {
        Ok(sha256_hex(self.canonical_body()?.as_bytes()))
    }

    /// The hash this record would have if it had been written as record `seq`.
    pub fn hash_as(&self, seq: i64) -> Option<String> {
        let mut moved = self.clone();
        moved.seq = seq;
        moved.compute_hash().ok()
    }

    /// The record as one line of JSON (canonical form, with its hash), for `audit export`.
    pub fn to_json_line(&self) -> Result<String> {
        let v = serde_json::to_value(self)
            .map_err(|e| LedgerError::Invalid(format!("audit record: {e}")))?;
        canonicalize(&v).map_err(|e| LedgerError::Invalid(format!("audit record: {e}")))
    }
}

/// What is wrong at the first bad place of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AuditFaultKind {
    /// The record's content does not match its hash.
    Edited,
    /// The record with this seq is gone.
    Missing,
    /// The record here was written at another position.
    Reordered {
        /// The seq it was written with.
        written_as: i64,
    },
    /// The record hashes correctly but does not link to its predecessor.
    ChainBroken,
    /// The chain head names a record that is not there, or another hash (tail deleted).
    Truncated,
}

/// The first bad record and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFault {
    /// Where the chain first goes wrong.
    pub seq: i64,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: AuditFaultKind,
    /// For people.
    pub message: String,
}

/// Result of [`crate::Ledger::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Whether the whole chain verifies.
    pub ok: bool,
    /// Records checked.
    pub records: i64,
    /// The hash of the last good record.
    pub head_hash: String,
    /// The first fault, if any.
    pub fault: Option<AuditFault>,
}

/// A stored row of the audit table, before its JSON columns are parsed.
#[derive(Debug, Clone)]
pub(crate) struct RawAuditRow {
    pub seq: i64,
    pub at: i64,
    pub request_id: Option<String>,
    pub actor: String,
    pub auth: String,
    pub project: Option<String>,
    pub domain: Option<String>,
    pub operation: Option<String>,
    pub action_id: Option<String>,
    pub tier: Option<String>,
    pub payload_hash: Option<String>,
    pub idempotency_key: Option<String>,
    pub event: String,
    pub decision: Option<String>,
    pub reasons: String,
    pub mode: Option<String>,
    pub spend: String,
    pub outcome: Option<String>,
    pub policy_digest: Option<String>,
    pub plugin_digest: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl RawAuditRow {
    /// Parses the JSON columns; an unparsable column is an edit.
    pub fn parse(self) -> Result<AuditRecord> {
        let bad = |what: &str, e: serde_json::Error| {
            LedgerError::Integrity(format!("audit record {}: {what}: {e}", self.seq))
        };
        let reasons: Value = serde_json::from_str(&self.reasons).map_err(|e| bad("reasons", e))?;
        let spend: Vec<String> = serde_json::from_str(&self.spend).map_err(|e| bad("spend", e))?;
        Ok(AuditRecord {
            seq: self.seq,
            at: self.at,
            request_id: self.request_id,
            actor: self.actor,
            auth: self.auth,
            project: self.project,
            domain: self.domain,
            operation: self.operation,
            action_id: self.action_id,
            tier: self.tier,
            payload_hash: self.payload_hash,
            idempotency_key: self.idempotency_key,
            event: self.event,
            decision: self.decision,
            reasons,
            mode: self.mode,
            spend,
            outcome: self.outcome,
            policy_digest: self.policy_digest,
            plugin_digest: self.plugin_digest,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// How far from its position a moved record is looked for.
pub(crate) const REORDER_WINDOW: i64 = 256;

/// Walks the chain in `seq` order; fed batch by batch, it stops at the first fault.
#[derive(Debug)]
pub(crate) struct ChainWalker {
    pub expected_seq: i64,
    pub prev_hash: String,
    pub fault: Option<AuditFault>,
}

/// What the walker needs resolved to classify a hash mismatch.
pub(crate) enum Step {
    /// Fine; go on.
    Ok,
    /// Stop: a fault was found.
    Fault,
    /// The record's hash is wrong; look up which record has hash `prev_hash` (its seq),
    /// then call [`ChainWalker::classify_mismatch`].
    NeedOwnerOf(String),
}

impl ChainWalker {
    pub fn new() -> Self {
        ChainWalker {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            fault: None,
        }
    }

    fn fail(&mut self, seq: i64, kind: AuditFaultKind, message: String) -> Step {
        self.fault = Some(AuditFault { seq, kind, message });
        Step::Fault
    }

    /// Checks the next stored row.
    pub fn step(&mut self, row: RawAuditRow) -> (Step, Option<AuditRecord>) {
        let seq = row.seq;
        if seq != self.expected_seq {
            let at = self.expected_seq;
            let msg = if seq > at {
                format!("record {at} is missing (next stored record is {seq})")
            } else {
                format!("record {seq} appears where record {at} was expected")
            };
            return (self.fail(at, AuditFaultKind::Missing, msg), None);
        }
        let rec = match row.parse() {
            Ok(r) => r,
            Err(e) => return (self.fail(seq, AuditFaultKind::Edited, e.to_string()), None),
        };
        match rec.compute_hash() {
            Ok(h) if h == rec.hash => {}
            _ => {
                let prev = rec.prev_hash.clone();
                return (Step::NeedOwnerOf(prev), Some(rec));
            }
        }
        if rec.prev_hash != self.prev_hash {
            let msg = format!(
                "record {seq} links to {} but record {} has hash {}",
                rec.prev_hash,
                seq - 1,
                self.prev_hash
            );
            return (self.fail(seq, AuditFaultKind::ChainBroken, msg), None);
        }
        self.prev_hash = rec.hash.clone();
        self.expected_seq += 1;
        (Step::Ok, Some(rec))
    }

    /// Classifies a record whose hash did not match, given the seq of the record whose hash
    /// is its `prev_hash` (0 for the genesis hash, `None` if no record has it).
    ///
    /// A record that hashes correctly under another `seq` was moved there (reordered): the
    /// candidates are the position after its predecessor's, then every position within
    /// [`REORDER_WINDOW`] of where it stands (predecessors may have moved too).
    pub fn classify_mismatch(&mut self, rec: &AuditRecord, prev_owner: Option<i64>) {
        let seq = rec.seq;
        let near = (1..=REORDER_WINDOW).flat_map(|d| [seq - d, seq + d]);
        let candidates = prev_owner.map(|p| p + 1).into_iter().chain(near);
        for written_as in candidates {
            if written_as >= 1
                && written_as != seq
                && rec.hash_as(written_as).as_deref() == Some(rec.hash.as_str())
            {
                let msg = format!(
                    "record {seq} holds the record written as {written_as}: the records were reordered"
                );
                self.fail(seq, AuditFaultKind::Reordered { written_as }, msg);
                return;
            }
        }
        let msg = format!("record {seq} does not match its hash: it was edited");
        self.fail(seq, AuditFaultKind::Edited, msg);
    }

    /// Checks the head after the last row.
    pub fn finish(&mut self, head_seq: i64, head_hash: &str) {
        if self.fault.is_some() {
            return;
        }
        let last = self.expected_seq - 1;
        if head_seq > last {
            let msg = format!("the chain head is record {head_seq} but the last record is {last}");
            self.fail(last + 1, AuditFaultKind::Truncated, msg);
        } else if head_seq < last {
            let msg = format!("record {} is past the chain head {head_seq}", head_seq + 1);
            self.fail(head_seq + 1, AuditFaultKind::ChainBroken, msg);
        } else if head_hash != self.prev_hash {
            let msg = format!(
                "the chain head (record {head_seq}, {head_hash}) does not match the last record"
            );
            self.fail(head_seq.max(1), AuditFaultKind::Truncated, msg);
        }
    }
}
