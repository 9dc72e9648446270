//! Approve and reject: an approval is bound to the payload hash the approver reviewed (I4),
//! separation of duties holds per policy, distinct approvers count, and the approval window
//! closes after the policy's lifetime.

use super::propose::decision_json;
use super::{Actor, Host, ServiceError};
use crate::governance::{
    Action as GovAction, ActionId, DecisionInput, Payload, PayloadHash, SpendUsage, Switches, Tier,
    Verdict, decide,
};
use crate::ledger::{Action, ActionPatch, ActionStatus, ApprovalRow};
use serde_json::json;

impl Host {
    /// Records `actor`'s approval of action `id`, whose payload hash they send. When the
    /// policy's `approvals_required` distinct valid approvals exist, the action becomes
    /// `approved` (expiring one approval lifetime after its oldest counted approval).
    ///
    /// At approval only the approvals gate decides the move: every other gate (switches,
    /// caps, policy, plugin digest) is re-checked when execution starts (I2).
    pub async fn approve(
        &self,
        actor: &Actor,
        id: &ActionId,
        payload_hash: &str,
    ) -> Result<Action, ServiceError> {
        let action = self.ledger.get_action(id).await?;
        if action.status != ActionStatus::PendingApproval {
            return Err(ServiceError::InvalidState {
                id: id.to_string(),
                actual: action.status,
                what: "only an action pending approval can be approved".into(),
            });
        }
        let now = self.now();
        if action.expires_at.is_some_and(|t| now >= t) {
            return Err(self.expire(actor, &action).await);
        }
        let mismatch = || ServiceError::PayloadHashMismatch {
            id: id.to_string(),
            expected: action.payload_hash.to_string(),
            got: payload_hash.to_owned(),
        };
        let hash: PayloadHash = payload_hash.parse().map_err(|_| mismatch())?;
        if hash != action.payload_hash {
            self.audit_approval_refused(actor, &action, "payload_hash_mismatch")
                .await?;
            return Err(mismatch());
        }
        let Some(policy) = self.policies.get(&action.project) else {
            return Err(ServiceError::Denied {
                decision: json!({"verdict": "deny", "tier": action.tier, "reasons": [{
                    "code": "policy_missing", "gate": "policy", "outcome": "fail",
                    "message": format!("project `{}` has no policy any more", action.project)}]}),
                action_id: Some(id.clone()),
            });
        };
        let tier = action.tier.unwrap_or(Tier::C);
        if actor.id == action.proposer && !policy.proposer_may_approve(tier) {
            self.audit_approval_refused(actor, &action, "approval_by_proposer")
                .await?;
            return Err(ServiceError::ApprovalByProposer {
                id: id.to_string(),
                approver: actor.id.to_string(),
            });
        }
        if let Some(p) = self.providers.get(&action.domain)
            && p.digest() != action.plugin_digest.as_str()
        {
            self.audit_approval_refused(actor, &action, "plugin_digest_changed")
                .await?;
            return Err(ServiceError::Denied {
                decision: json!({"verdict": "deny", "tier": action.tier, "reasons": [{
                    "code": "plugin_digest_changed", "gate": "operation", "outcome": "fail",
                    "message": format!("the `{}` plugin changed since this payload was hashed; propose again", action.domain)}]}),
                action_id: Some(id.clone()),
            });
        }
        let added = self
            .ledger
            .add_approval(
                id,
                ApprovalRow::new(actor.id.clone(), hash, now),
                actor.event(now).with_policy_digest(policy.digest()),
            )
            .await?;
        // The approvals gate alone: every other gate is treated as open here.
        let gov = GovAction::new(
            Payload {
                project: action.project.clone(),
                domain: action.domain.clone(),
                operation: action.operation.clone(),
                params: action.params.clone(),
                mode: action.mode,
                plugin_digest: action.plugin_digest.clone(),
            },
            self.catalog.effect(&action.domain, &action.operation),
            Vec::new(),
        )
        .map_err(|e| ServiceError::Internal(format!("stored payload: {e}")))?;
        let approvals: Vec<_> = added
            .approvals
            .iter()
            .map(ApprovalRow::to_governance)
            .collect();
        let d = decide(&DecisionInput {
            action: &gov,
            policy: Some(policy),
            switches: &Switches::on([action.domain.clone()]),
            usage: &SpendUsage::new(),
            approvals: &approvals,
            proposer: &action.proposer,
            now,
        });
        if d.verdict != Verdict::Allow {
            return Ok(self.ledger.get_action(id).await?);
        }
        let oldest = added
            .approvals
            .iter()
            .map(|a| a.approved_at)
            .min()
            .unwrap_or(now);
        let patch = ActionPatch {
            decision: Some(decision_json(&d)?),
            expires_at: Some(oldest.plus_seconds(policy.approval_lifetime_secs())),
            ..ActionPatch::default()
        };
        let moved = self
            .ledger
            .transition(
                id,
                &[ActionStatus::PendingApproval],
                ActionStatus::Approved,
                patch,
                actor
                    .event(now)
                    .with_decision(&d)
                    .with_policy_digest(policy.digest()),
            )
            .await;
        match moved {
            Ok(a) => Ok(a),
            // A concurrent approval moved it first.
            Err(crate::ledger::LedgerError::StateConflict {
                actual: ActionStatus::Approved,
                ..
            }) => Ok(self.ledger.get_action(id).await?),
            Err(e) => Err(e.into()),
        }
    }

    /// Rejects an action pending approval, with a reason (recorded).
    pub async fn reject(
        &self,
        actor: &Actor,
        id: &ActionId,
        reason: &str,
    ) -> Result<Action, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::InvalidRequest(
                "a rejection needs a reason".into(),
            ));
        }
        let patch = ActionPatch {
            error: Some(json!({"code": "rejected", "by": actor.id, "reason": reason})),
            ..ActionPatch::default()
        };
        Ok(self
            .ledger
            .transition(
                id,
                &[ActionStatus::PendingApproval],
                ActionStatus::Rejected,
                patch,
                actor.event(self.now()).with_outcome(reason),
            )
            .await?)
    }

    /// Audits an approval the service refused (no state changes).
    async fn audit_approval_refused(
        &self,
        actor: &Actor,
        a: &Action,
        code: &str,
    ) -> Result<(), ServiceError> {
        let mut e = actor
            .event(self.now())
            .with_event("action.approval_refused")
            .with_outcome(code);
        e.project = Some(a.project.clone());
        e.domain = Some(a.domain.clone());
        e.operation = Some(a.operation.clone());
        e.action_id = Some(a.id.clone());
        e.tier = a.tier;
        e.payload_hash = Some(a.payload_hash.clone());
        e.idempotency_key = Some(a.idempotency_key.clone());
        e.mode = Some(a.mode);
        e.plugin_digest = Some(a.plugin_digest.clone());
        e.decision = Some("deny".into());
        e.reasons = json!([{"code": code}]);
        self.ledger.record_event(e).await?;
        Ok(())
    }
}
