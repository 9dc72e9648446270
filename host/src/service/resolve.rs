//! Resolve: an operator reconciles an `unknown` action (I6), optionally asking the plugin's
//! `lookup` what happened. Nothing is ever retried.

use super::{Actor, Host, ServiceError};
use crate::governance::ActionId;
use crate::ledger::{Action, ActionStatus, Finished};
use crate::runtime::types::CallContext;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the operator found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveOutcome {
    /// The side effect happened.
    Succeeded,
    /// It did not happen.
    Failed,
}

impl Host {
    /// Settles an `unknown` action as `outcome`, with a note. With `use_lookup`, the
    /// plugin's `lookup` decides instead: an outcome means `succeeded`; nothing found means
    /// `outcome` if one was given, else `lookup_inconclusive`.
    pub async fn resolve(
        &self,
        actor: &Actor,
        id: &ActionId,
        outcome: Option<ResolveOutcome>,
        note: &str,
        use_lookup: bool,
    ) -> Result<Action, ServiceError> {
        let action = self.ledger.get_action(id).await?;
        if action.status != ActionStatus::Unknown {
            return Err(ServiceError::InvalidState {
                id: id.to_string(),
                actual: action.status,
                what: "only an unknown action is resolved".into(),
            });
        }
        let mut found = None;
        if use_lookup {
            let provider = self.providers.get(&action.domain).ok_or_else(|| {
                ServiceError::LookupInconclusive {
                    id: id.to_string(),
                    message: format!("provider `{}` is not loaded", action.domain),
                }
            })?;
            if !provider.info().supports_lookup {
                return Err(ServiceError::LookupInconclusive {
                    id: id.to_string(),
                    message: format!("provider `{}` has no lookup", action.domain),
                });
            }
            let ctx = CallContext {
                action_id: id.to_string(),
                project: action.project.to_string(),
                idempotency_key: action.idempotency_key.clone(),
                mode: action.mode,
            };
            match provider.lookup(&ctx).await.result {
                Ok(o) => found = o,
                Err(e) => {
                    return Err(ServiceError::LookupInconclusive {
                        id: id.to_string(),
                        message: format!("{}: {e}", e.code()),
                    });
                }
            }
        }
        let finished = match (found, outcome) {
            (Some(o), _) => Finished {
                status: ActionStatus::Succeeded,
                actual_spend: o
                    .spend
                    .as_ref()
                    .and_then(|a| {
                        crate::governance::Unit::parse(&a.unit)
                            .ok()
                            .map(|u| vec![crate::governance::Money::new(a.minor_units, u)])
                    })
                    .unwrap_or_else(|| action.declared_spend.clone()),
                outcome: Some(json!({"resolved_by": actor.id, "note": note, "lookup": o})),
                error: None,
                preview: None,
            },
            (None, Some(ResolveOutcome::Succeeded)) => Finished {
                status: ActionStatus::Succeeded,
                outcome: Some(json!({"resolved_by": actor.id, "note": note})),
                error: None,
                preview: None,
                actual_spend: action.declared_spend.clone(),
            },
            (None, Some(ResolveOutcome::Failed)) => Finished {
                status: ActionStatus::Failed,
                outcome: None,
                error: Some(
                    json!({"code": "resolved_failed", "resolved_by": actor.id, "note": note}),
                ),
                preview: None,
                actual_spend: Vec::new(),
            },
            (None, None) => {
                return Err(if use_lookup {
                    ServiceError::LookupInconclusive {
                        id: id.to_string(),
                        message: "the provider found nothing; resolve with an outcome".into(),
                    }
                } else {
                    ServiceError::InvalidRequest("resolve needs an outcome or a lookup".into())
                });
            }
        };
        let out = self
            .ledger
            .resolve(id, finished, actor.event(self.now()).with_outcome(note))
            .await?;
        Ok(out.action)
    }
}
