//! Propose: the way of one action up to its first record (DESIGN §3, I1, I3, I4, I5).
//!
//! policy → provider and operation (gates 1–3 on the raw request; unknown → deny, I1) →
//! host-side JSON Schema check → plugin `validate` (no network) → normalized params and
//! declared spend → payload hash (plugin digest included, I4) → idempotency (I5) →
//! [`decide`] → ledger record with its audit record → dry-run and allowed tier A run now
//! under the read-only profile (I3); live B/C wait for approval (or are auto-approved B).

use super::{Actor, Host, ServiceError, new_action_id};
use crate::governance::{
    Action as GovAction, ActionId, Decision, DecisionInput, Domain, Gate, Mode, Money,
    OperationName, Payload, PluginDigest, PrincipalId, ProjectId, SpendUsage, Switches, Tier, Unit,
    Verdict, decide,
};
use crate::ledger::{Action, ActionStatus, Inserted, NewAction};
use crate::runtime::Provider;
use crate::runtime::types::CallContext;
use crate::sandbox::egress::Profile;
use serde::Deserialize;
use serde_json::Value;

/// A request to propose an action (the body of `POST /api/actions`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeRequest {
    /// The project.
    pub project: String,
    /// The provider domain.
    pub domain: String,
    /// The operation.
    pub operation: String,
    /// The params (default `{}`).
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Dry-run unless `"live"` (I3).
    #[serde(default)]
    pub mode: Mode,
    /// `(project, key)` names one action (I5); default: the payload hash.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl ProposeRequest {
    /// A dry-run request without an idempotency key.
    pub fn new(
        project: impl Into<String>,
        domain: impl Into<String>,
        operation: impl Into<String>,
        params: Value,
    ) -> ProposeRequest {
        ProposeRequest {
            project: project.into(),
            domain: domain.into(),
            operation: operation.into(),
            params,
            mode: Mode::DryRun,
            idempotency_key: None,
        }
    }

    /// Sets live mode.
    pub fn live(mut self) -> ProposeRequest {
        self.mode = Mode::Live;
        self
    }

    /// Sets the idempotency key.
    pub fn with_key(mut self, key: impl Into<String>) -> ProposeRequest {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// The result of a proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    /// The action as recorded (finished, for dry-run and tier A).
    pub action: Action,
    /// Whether the idempotency key named an existing action, which is returned unchanged.
    pub replayed: bool,
}

/// An action ready for its decision.
pub(super) struct Prepared<'a> {
    pub(super) action: GovAction,
    pub(super) provider: &'a Provider,
}

/// How far preparation got.
pub(super) enum Stage<'a> {
    /// Gates 1–3 refused on the raw request (no policy, unknown domain or operation…).
    Refused(Decision),
    /// Validated and hashed.
    Ready(Box<Prepared<'a>>),
}

fn id<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, ServiceError>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| ServiceError::InvalidRequest(format!("{what} `{s}`: {e}")))
}

/// The digest used for the early (pre-validate) decision, which never reaches a record.
fn placeholder_digest() -> Result<PluginDigest, ServiceError> {
    "0".repeat(64)
        .parse()
        .map_err(|e| ServiceError::Internal(format!("placeholder digest: {e}")))
}

impl Host {
    /// Gates 1–3 on the raw request, then the schema check, `validate` and the hash.
    pub(super) async fn prepare(
        &self,
        req: &ProposeRequest,
        proposer: &PrincipalId,
        action_id: &ActionId,
    ) -> Result<Stage<'_>, ServiceError> {
        let project: ProjectId = id("project", &req.project)?;
        let domain: Domain = id("domain", &req.domain)?;
        let operation: OperationName = id("operation", &req.operation)?;
        let policy = self.policies.get(&project);
        let effect = self.catalog.effect(&domain, &operation);
        let early = GovAction::new(
            Payload {
                project: project.clone(),
                domain: domain.clone(),
                operation: operation.clone(),
                params: req.params.clone(),
                mode: req.mode,
                plugin_digest: placeholder_digest()?,
            },
            effect,
            Vec::new(),
        )
        .map_err(|e| ServiceError::InvalidParams {
            stage: "schema",
            messages: vec![e.to_string()],
        })?;
        let d = decide(&DecisionInput {
            action: &early,
            policy,
            switches: &Switches::Unknown,
            usage: &SpendUsage::new(),
            approvals: &[],
            proposer,
            now: self.now(),
        });
        if d.verdict == Verdict::Deny && d.denial().is_some_and(|r| r.gate <= Gate::Operation) {
            return Ok(Stage::Refused(d));
        }
        let provider = self.providers.get(&domain).ok_or_else(|| {
            ServiceError::Internal(format!(
                "domain `{domain}` is in the catalog but not loaded"
            ))
        })?;
        provider
            .check_params(operation.as_str(), &req.params)
            .map_err(|messages| ServiceError::InvalidParams {
                stage: "schema",
                messages,
            })?;
        let ctx = CallContext {
            action_id: action_id.to_string(),
            project: project.to_string(),
            idempotency_key: req.idempotency_key.clone().unwrap_or_default(),
            mode: req.mode,
        };
        let report = provider
            .validate(&ctx, operation.as_str(), &req.params.to_string())
            .await;
        let validated = report.result.map_err(|e| ServiceError::InvalidParams {
            stage: "validate",
            messages: vec![format!("{}: {e}", e.code())],
        })?;
        let mut spend = Vec::new();
        if let Some(a) = validated.spend {
            let unit = Unit::parse(&a.unit).map_err(|e| ServiceError::InvalidParams {
                stage: "validate",
                messages: vec![format!("declared spend unit `{}`: {e}", a.unit)],
            })?;
            spend.push(Money::new(a.minor_units, unit));
        }
        let plugin_digest: PluginDigest = provider
            .digest()
            .parse()
            .map_err(|e| ServiceError::Internal(format!("plugin digest: {e}")))?;
        let action = GovAction::new(
            Payload {
                project,
                domain,
                operation,
                params: validated.params,
                mode: req.mode,
                plugin_digest,
            },
            effect,
            spend,
        )
        .map_err(|e| ServiceError::InvalidParams {
            stage: "validate",
            messages: vec![format!("normalized params: {e}")],
        })?;
        Ok(Stage::Ready(Box::new(Prepared { action, provider })))
    }

    /// Spend used or reserved by `project` in the current UTC day and month.
    pub(super) async fn usage(&self, project: &ProjectId) -> Result<SpendUsage, ServiceError> {
        let summary = self.ledger.spend_summary(project, self.now()).await?;
        let mut usage = SpendUsage::new();
        for u in summary.units {
            let day = u.day_reserved.saturating_add(u.day_settled);
            let month = u.month_reserved.saturating_add(u.month_settled);
            let overflow = |e: crate::governance::MoneyError| ServiceError::Internal(e.to_string());
            usage
                .add_day(&Money::new(day, u.unit.clone()))
                .map_err(overflow)?;
            usage
                .add_month(&Money::new(month, u.unit))
                .map_err(overflow)?;
        }
        Ok(usage)
    }

    /// Proposes an action; see the module documentation for the way it goes.
    ///
    /// Errors: `invalid_request`, `invalid_params`, `denied` (with the decision; recorded as a
    /// `denied` action once it has a payload hash), `idempotency_key_reused`,
    /// `action_in_progress`.
    pub async fn propose(
        &self,
        actor: &Actor,
        req: ProposeRequest,
    ) -> Result<Proposed, ServiceError> {
        if let Some(k) = &req.idempotency_key
            && (k.is_empty() || k.len() > 255)
        {
            return Err(ServiceError::InvalidRequest(
                "an idempotency key has 1 to 255 characters".into(),
            ));
        }
        let action_id = new_action_id()?;
        let prepared = match self.prepare(&req, &actor.id, &action_id).await? {
            Stage::Refused(d) => {
                self.audit_refused(actor, &req, &d).await?;
                return Err(ServiceError::Denied {
                    decision: decision_json(&d)?,
                    action_id: None,
                });
            }
            Stage::Ready(p) => p,
        };
        let action = prepared.action;
        let hash = action.payload_hash().clone();
        let key = req
            .idempotency_key
            .clone()
            .unwrap_or_else(|| hash.to_string());
        if let Some(existing) = self
            .ledger
            .find_by_idempotency(action.project(), &key)
            .await?
        {
            return replay(existing, &hash, &key);
        }
        let policy = self.policies.get(action.project());
        let switches = self.effective(self.ledger.switches_or_unknown().await);
        let usage = if action.mode() == Mode::Live {
            self.usage(action.project()).await?
        } else {
            SpendUsage::new()
        };
        let now = self.now();
        let decision = decide(&DecisionInput {
            action: &action,
            policy,
            switches: &switches,
            usage: &usage,
            approvals: &[],
            proposer: &actor.id,
            now,
        });
        let run_now = decision.verdict == Verdict::Allow
            && (action.mode() == Mode::DryRun || decision.tier == Some(Tier::A));
        let status = match (decision.verdict, action.mode()) {
            (Verdict::Deny, _) => ActionStatus::Denied,
            (Verdict::Allow, Mode::DryRun) => ActionStatus::Executing,
            (Verdict::Allow, Mode::Live) => ActionStatus::Approved,
            (Verdict::NeedsApproval, _) => ActionStatus::PendingApproval,
        };
        let expires_at = match (status, policy) {
            (ActionStatus::PendingApproval | ActionStatus::Approved, Some(p)) => {
                Some(now.plus_seconds(p.approval_lifetime_secs()))
            }
            _ => None,
        };
        // A denial does not hold a caller-less key: the same payload may be proposed again
        // once the gate that refused it opens.
        let key = if status == ActionStatus::Denied && req.idempotency_key.is_none() {
            format!("denied-{action_id}")
        } else {
            key
        };
        let djson = decision_json(&decision)?;
        let mut event = actor.event(now).with_decision(&decision);
        if let Some(p) = policy {
            event = event.with_policy_digest(p.digest());
        }
        let new = NewAction {
            id: action_id.clone(),
            project: action.project().clone(),
            domain: action.domain().clone(),
            operation: action.operation().clone(),
            params: action.params().clone(),
            mode: action.mode(),
            tier: decision.tier,
            payload_hash: hash.clone(),
            plugin_digest: action.payload().plugin_digest.clone(),
            idempotency_key: key.clone(),
            proposer: actor.id.clone(),
            status,
            decision: djson.clone(),
            declared_spend: action.spend().to_vec(),
            created_at: now,
            expires_at,
        };
        let recorded = match self.ledger.insert_action(new, event).await? {
            Inserted::New(a) => a,
            Inserted::Existing(a) => return replay(a, &hash, &key),
        };
        if status == ActionStatus::Denied {
            return Err(ServiceError::Denied {
                decision: djson,
                action_id: Some(recorded.id),
            });
        }
        if !run_now {
            return Ok(Proposed {
                action: recorded,
                replayed: false,
            });
        }
        let action = if action.mode() == Mode::DryRun {
            let finished = super::execute::call(
                &self.artifacts,
                prepared.provider,
                &recorded,
                Profile::ReadOnly,
            )
            .await;
            self.ledger
                .finish_execution(&recorded.id, finished, actor.event(self.now()))
                .await?
                .action
        } else {
            self.run_live(actor, &recorded.id).await?
        };
        Ok(Proposed {
            action,
            replayed: false,
        })
    }

    /// Audits a proposal refused before it had a payload hash (no action is recorded).
    async fn audit_refused(
        &self,
        actor: &Actor,
        req: &ProposeRequest,
        d: &Decision,
    ) -> Result<(), ServiceError> {
        let mut e = actor
            .event(self.now())
            .with_event("action.refused")
            .with_decision(d);
        e.project = req.project.parse().ok();
        e.domain = req.domain.parse().ok();
        e.operation = req.operation.parse().ok();
        e.mode = Some(req.mode);
        e.tier = d.tier;
        e.idempotency_key = req.idempotency_key.clone();
        if let Some(p) = e.project.as_ref().and_then(|p| self.policies.get(p)) {
            e.policy_digest = Some(p.digest().to_owned());
        }
        self.ledger.record_event(e).await?;
        Ok(())
    }
}

/// The decision as stored and returned.
pub(super) fn decision_json(d: &Decision) -> Result<Value, ServiceError> {
    serde_json::to_value(d).map_err(|e| ServiceError::Internal(format!("decision JSON: {e}")))
}

/// The idempotency rules for a key that already names an action (I5).
fn replay(
    existing: Action,
    hash: &crate::governance::PayloadHash,
    key: &str,
) -> Result<Proposed, ServiceError> {
    if &existing.payload_hash != hash {
        return Err(ServiceError::IdempotencyKeyReused {
            key: key.to_owned(),
            action_id: existing.id,
        });
    }
    match existing.status {
        ActionStatus::Executing => Err(ServiceError::ActionInProgress {
            id: existing.id.to_string(),
        }),
        ActionStatus::Denied => Err(ServiceError::Denied {
            decision: existing.decision.clone(),
            action_id: Some(existing.id),
        }),
        _ => Ok(Proposed {
            action: existing,
            replayed: true,
        }),
    }
}
