//! Explain: the decision an action would get now, with every reason; records nothing.

use super::propose::{ProposeRequest, Stage};
use super::{Actor, Host, ServiceError, new_action_id};
use crate::governance::{Decision, DecisionInput, Mode, SpendUsage, decide};

impl Host {
    /// The decision `request` would get if `actor` proposed it now: the same preparation
    /// (schema check, plugin `validate`) and the same [`decide`] as [`Host::propose`], with
    /// the current switches and spend and no approvals. Nothing is recorded.
    pub async fn explain(
        &self,
        actor: &Actor,
        request: &ProposeRequest,
    ) -> Result<Decision, ServiceError> {
        let id = new_action_id()?;
        let prepared = match self.prepare(request, &actor.id, &id).await? {
            Stage::Refused(d) => return Ok(d),
            Stage::Ready(p) => p,
        };
        let action = prepared.action;
        let switches = self.effective(self.ledger.switches_or_unknown().await);
        let usage = if action.mode() == Mode::Live {
            self.usage(action.project()).await?
        } else {
            SpendUsage::new()
        };
        Ok(decide(&DecisionInput {
            action: &action,
            policy: self.policies.get(action.project()),
            switches: &switches,
            usage: &usage,
            approvals: &[],
            proposer: &actor.id,
            now: self.now(),
        }))
    }
}
