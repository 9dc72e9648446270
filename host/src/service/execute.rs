//! Execute: every gate re-checked inside the transaction that reserves the spend, then the
//! plugin under the write profile, then the outcome recorded and the spend settled (I2, I5,
//! I6, I7).

use super::{Actor, Host, ServiceError};
use crate::artifacts::ArtifactStore;
use crate::governance::{
    Action as GovAction, Catalog, DecisionInput, Effect, Mode, Money, Payload, Policy, Switches,
    Tier, Unit, decide,
};
use crate::ledger::{
    Action, ActionPatch, ActionStatus, AuditEvent, BeginOutcome, Denied, ExecutionPlan,
    ExecutionSnapshot, Finished, LedgerError,
};
use crate::runtime::Provider;
use crate::runtime::types::CallContext;
use crate::sandbox::egress::Profile;
use serde_json::{Value, json};

/// Runs one call of `action`'s operation under `profile` and says how it ended: the outcome,
/// the error, the attempted writes as the preview, and the actual spend. The artifacts the
/// call put (already redacted by the journal) go to the artifact store; failing to store
/// them is logged and does not change how the action ended.
pub(super) async fn call(
    artifacts: &ArtifactStore,
    provider: &Provider,
    action: &Action,
    profile: Profile,
) -> Finished {
    let ctx = CallContext {
        action_id: action.id.to_string(),
        project: action.project.to_string(),
        idempotency_key: action.idempotency_key.clone(),
        mode: action.mode,
    };
    let mut report = provider
        .execute(
            &ctx,
            action.operation.as_str(),
            &action.params.to_string(),
            profile,
        )
        .await;
    if let Err(e) = artifacts
        .store(&action.id, std::mem::take(&mut report.artifacts))
        .await
    {
        tracing::warn!(action = %action.id, code = e.code(), "artifacts not stored: {e}");
    }
    let attempted: Vec<_> = report.attempted_writes().collect();
    let preview = (action.mode == Mode::DryRun || !attempted.is_empty())
        .then(|| serde_json::to_value(&attempted).unwrap_or(Value::Null));
    match report.result {
        Ok(outcome) => {
            let mut actual_spend = Vec::new();
            let mut error = None;
            if let Some(a) = &outcome.spend {
                match Unit::parse(&a.unit) {
                    Ok(unit) => actual_spend.push(Money::new(a.minor_units, unit)),
                    // Unknown unit: settle the declared spend and say why.
                    Err(e) => {
                        actual_spend = action.declared_spend.clone();
                        error =
                            Some(json!({"code": "invalid_spend_unit", "message": e.to_string()}));
                    }
                }
            }
            Finished {
                status: if action.mode == Mode::DryRun {
                    ActionStatus::Previewed
                } else {
                    ActionStatus::Succeeded
                },
                outcome: serde_json::to_value(&outcome).ok(),
                error,
                preview,
                actual_spend,
            }
        }
        Err(e) => Finished {
            status: ActionStatus::Failed,
            outcome: None,
            error: Some(json!({"code": e.code(), "message": e.to_string(), "detail": e})),
            preview,
            actual_spend: Vec::new(),
        },
    }
}

/// A denial that governance has no reason code for (the plugin changed, the provider is gone).
fn host_denial(a: &Action, code: &str, message: String, event: AuditEvent) -> Denied {
    let reasons =
        json!([{"code": code, "gate": "operation", "outcome": "fail", "message": message}]);
    let decision = json!({"verdict": "deny", "tier": a.tier, "reasons": reasons});
    let mut e = event;
    e.decision = Some("deny".into());
    e.reasons = reasons;
    Denied::new(decision, e)
}

/// Everything the in-transaction check needs, owned or shared, so it can run on any thread.
struct Check<'a> {
    policy: Option<&'a Policy>,
    catalog: &'a Catalog,
    current_digest: Option<&'a str>,
    forced_off: bool,
    event: AuditEvent,
}

impl Check<'_> {
    /// The execution-time decision on the locked snapshot (I2): the same [`decide`] as at
    /// proposal, with the switches, spend and approvals read in the transaction, and the
    /// plugin digest compared with the one that was hashed and approved (I4).
    fn run(self, snap: &ExecutionSnapshot) -> Result<ExecutionPlan, Denied> {
        let a = &snap.action;
        let Some(current) = self.current_digest else {
            return Err(host_denial(
                a,
                "provider_missing",
                format!("provider `{}` is not configured any more", a.domain),
                self.event,
            ));
        };
        if a.plugin_digest.as_str() != current {
            return Err(host_denial(
                a,
                "plugin_digest_changed",
                format!(
                    "the `{}` plugin is now {current}, not the {} whose payload was approved; propose again",
                    a.domain, a.plugin_digest
                ),
                self.event,
            ));
        }
        let effect: Option<Effect> = self.catalog.effect(&a.domain, &a.operation);
        let payload = Payload {
            project: a.project.clone(),
            domain: a.domain.clone(),
            operation: a.operation.clone(),
            params: a.params.clone(),
            mode: a.mode,
            plugin_digest: a.plugin_digest.clone(),
        };
        let gov = match GovAction::new(payload, effect, a.declared_spend.clone()) {
            Ok(g) if g.payload_hash() == &a.payload_hash => g,
            _ => {
                return Err(host_denial(
                    a,
                    "payload_hash_mismatch",
                    "the stored payload no longer hashes to the action's payload hash".into(),
                    self.event,
                ));
            }
        };
        let switches = effective(snap.switches.clone(), self.forced_off);
        let approvals = snap.governance_approvals();
        let d = decide(&DecisionInput {
            action: &gov,
            policy: self.policy,
            switches: &switches,
            usage: &snap.usage,
            approvals: &approvals,
            proposer: &a.proposer,
            now: snap.now,
        });
        let mut event = self.event.with_decision(&d);
        if let Some(p) = self.policy {
            event = event.with_policy_digest(p.digest());
        }
        let decision = serde_json::to_value(&d).unwrap_or(Value::Null);
        if d.is_allow() {
            Ok(ExecutionPlan {
                reserve: a.declared_spend.clone(),
                decision,
                audit: event,
            })
        } else {
            Err(Denied::new(decision, event))
        }
    }
}

/// The global switch forced off by `AUTOPACK_EXTERNAL_ACTIONS=off`; unknown stays unknown.
pub(super) fn effective(switches: Switches, forced_off: bool) -> Switches {
    match switches {
        Switches::Known { domains_on, .. } if forced_off => Switches::Known {
            global: false,
            domains_on,
        },
        other => other,
    }
}

impl Host {
    /// Executes an approved live action: the gates are re-checked and the spend reserved in
    /// one transaction, then the plugin runs under the write profile (tier A: read-only),
    /// then the outcome is recorded and the spend settled.
    ///
    /// A finished action is returned as recorded, never run again (I5); one that is running
    /// gives `action_in_progress`; a refused re-check gives `denied` (audited).
    pub async fn execute(
        &self,
        actor: &Actor,
        id: &crate::governance::ActionId,
    ) -> Result<Action, ServiceError> {
        self.run_live(actor, id).await
    }

    pub(super) async fn run_live(
        &self,
        actor: &Actor,
        id: &crate::governance::ActionId,
    ) -> Result<Action, ServiceError> {
        let action = self.ledger.get_action(id).await?;
        if action.mode == Mode::DryRun {
            return Err(ServiceError::InvalidState {
                id: id.to_string(),
                actual: action.status,
                what: "a dry-run is never executed live; propose it with mode live".into(),
            });
        }
        match action.status {
            ActionStatus::Approved => {}
            ActionStatus::Executing => {
                return Err(ServiceError::ActionInProgress { id: id.to_string() });
            }
            ActionStatus::Succeeded | ActionStatus::Failed => return Ok(action),
            other => {
                return Err(ServiceError::InvalidState {
                    id: id.to_string(),
                    actual: other,
                    what: "only an approved action can be executed".into(),
                });
            }
        }
        let now = self.now();
        if action.expires_at.is_some_and(|t| now >= t) {
            return Err(self.expire(actor, &action).await);
        }
        let provider = self.providers.get(&action.domain);
        let check = Check {
            policy: self.policies.get(&action.project),
            catalog: &self.catalog,
            current_digest: provider.map(|p| p.digest()),
            forced_off: self.external_actions_off,
            event: actor.event(now),
        };
        let begun = match self
            .ledger
            .begin_execution(id, now, move |snap| check.run(snap))
            .await
        {
            Ok(b) => b,
            // Another execution finished it since it was read: its recorded result (I5).
            Err(LedgerError::StateConflict {
                actual: ActionStatus::Succeeded | ActionStatus::Failed,
                ..
            }) => return Ok(self.ledger.get_action(id).await?),
            Err(e) => return Err(e.into()),
        };
        let started = match begun {
            BeginOutcome::Started(a) => *a,
            BeginOutcome::Denied(d) => {
                return Err(ServiceError::Denied {
                    decision: d.decision,
                    action_id: Some(id.clone()),
                });
            }
        };
        let Some(provider) = provider else {
            return Err(ServiceError::Internal(
                "provider vanished after the check".into(),
            ));
        };
        let profile = if started.tier == Some(Tier::A) {
            Profile::ReadOnly
        } else {
            Profile::Write
        };
        let finished = call(&self.artifacts, provider, &started, profile).await;
        let out = self
            .ledger
            .finish_execution(id, finished, actor.event(self.now()))
            .await?;
        if !out.overspend.is_empty() {
            tracing::warn!(action = %id, domain = %started.domain, "actual spend above the reservation: domain switch tripped off");
        }
        Ok(out.action)
    }

    /// Moves a pending or approved action whose window has closed to `expired`.
    pub(super) async fn expire(&self, actor: &Actor, action: &Action) -> ServiceError {
        let moved = self
            .ledger
            .transition(
                &action.id,
                &[ActionStatus::PendingApproval, ActionStatus::Approved],
                ActionStatus::Expired,
                ActionPatch::default(),
                actor
                    .event(self.now())
                    .with_outcome("approval window closed"),
            )
            .await;
        match moved {
            Ok(_) => ServiceError::Expired {
                id: action.id.to_string(),
            },
            Err(e) => e.into(),
        }
    }

    /// Moves every pending or approved action whose window has closed to `expired`.
    pub async fn expire_due(&self) -> Result<Vec<crate::governance::ActionId>, ServiceError> {
        Ok(self.ledger.expire_due(self.now()).await?)
    }
}
