//! Kill switches: global and per domain, in the ledger, default off, every flip audited;
//! `AUTOPACK_EXTERNAL_ACTIONS=off` forces the global switch off.

use super::{Actor, Host, ServiceError};
use crate::ledger::{SwitchRow, SwitchScope};
use serde::Serialize;

/// The switches as an operator sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchState {
    /// Whether live actions may run at all right now (global on, not forced off, readable).
    pub global_effective: bool,
    /// Whether `AUTOPACK_EXTERNAL_ACTIONS=off` forces the global switch off.
    pub external_actions_forced_off: bool,
    /// Every stored switch with who flipped it and why (absent scopes are off).
    pub rows: Vec<SwitchRow>,
}

impl Host {
    /// Turns the global switch or a configured domain's switch on or off, with a reason.
    pub async fn set_switch(
        &self,
        actor: &Actor,
        scope: &str,
        on: bool,
        reason: &str,
    ) -> Result<SwitchRow, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::InvalidRequest(
                "a switch flip needs a reason".into(),
            ));
        }
        let scope: SwitchScope = scope
            .parse()
            .map_err(|e| ServiceError::InvalidRequest(format!("switch scope `{scope}`: {e}")))?;
        if let SwitchScope::Domain(d) = &scope
            && !self.configured.contains(d)
        {
            return Err(ServiceError::NotFound {
                what: "provider domain",
                id: d.to_string(),
            });
        }
        let event = actor.event(self.now());
        Ok(self
            .ledger
            .set_switch(&scope, on, actor.id.as_str(), reason, event)
            .await?)
    }

    /// The stored switches and whether live actions may run.
    pub async fn switches(&self) -> Result<SwitchState, ServiceError> {
        let rows = self.ledger.switch_list().await?;
        let effective = self.effective(self.ledger.switches_or_unknown().await);
        Ok(SwitchState {
            global_effective: matches!(
                effective,
                crate::governance::Switches::Known { global: true, .. }
            ),
            external_actions_forced_off: self.external_actions_off,
            rows,
        })
    }
}
