//! The service's errors: one enum, each variant with a stable code and an HTTP status hint.

use crate::config::ConfigError;
use crate::governance::{ActionId, PolicyError};
use crate::ledger::{ActionStatus, LedgerError};
use crate::runtime::LoadError;
use serde_json::Value;

/// Why a service call did not do what was asked. The ledger is unchanged unless the variant
/// says otherwise (a denial is audited).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The host config cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A provider could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A policy file does not parse or does not fit the providers.
    #[error("{}", policy_list(.0))]
    Policy(Vec<PolicyError>),
    /// The host could not start for another reason (runtime, database URL…).
    #[error("cannot start: {0}")]
    Start(String),
    /// The request itself is malformed (bad id, empty reason…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The params fail the operation's JSON Schema or the plugin's `validate`.
    #[error("invalid params ({stage}): {}", .messages.join("; "))]
    InvalidParams {
        /// `schema` (host-side check) or `validate` (the plugin).
        stage: &'static str,
        /// What is wrong, each naming its path.
        messages: Vec<String>,
    },
    /// No such action, or no such switch scope.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// What was looked up.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A gate refused; the decision carries every reason (audited).
    #[error("denied: {}", denial_text(.decision))]
    Denied {
        /// The decision as JSON (verdict, tier, reasons).
        decision: Value,
        /// The recorded action, when the denial was recorded as one.
        action_id: Option<ActionId>,
    },
    /// The idempotency key names an action with another payload (I5).
    #[error("idempotency key `{key}` was used for action `{action_id}` with another payload")]
    IdempotencyKeyReused {
        /// The key.
        key: String,
        /// The action it names.
        action_id: ActionId,
    },
    /// The action is executing right now (I5).
    #[error("action `{id}` is executing")]
    ActionInProgress {
        /// The action.
        id: String,
    },
    /// The approver sent another payload hash than the action's (I4).
    #[error("payload hash `{got}` is not action `{id}`'s (`{expected}`)")]
    PayloadHashMismatch {
        /// The action.
        id: String,
        /// Its hash.
        expected: String,
        /// The hash sent.
        got: String,
    },
    /// The proposer may not approve their own action at this tier (separation of duties).
    #[error("`{approver}` proposed action `{id}` and may not approve it")]
    ApprovalByProposer {
        /// The action.
        id: String,
        /// The approver.
        approver: String,
    },
    /// This approver already approved the action.
    #[error("`{approver}` already approved action `{id}`")]
    DuplicateApproval {
        /// The action.
        id: String,
        /// The approver.
        approver: String,
    },
    /// The action is not in a state the operation applies to.
    #[error("action `{id}` is {actual}; {what}")]
    InvalidState {
        /// The action.
        id: String,
        /// Its state.
        actual: ActionStatus,
        /// What the operation needs.
        what: String,
    },
    /// The action's approval window has closed (it is now `expired`).
    #[error("action `{id}` expired")]
    Expired {
        /// The action.
        id: String,
    },
    /// The provider cannot tell what happened (no `lookup`, or it returned nothing).
    #[error("lookup of action `{id}`: {message}")]
    LookupInconclusive {
        /// The action.
        id: String,
        /// Why.
        message: String,
    },
    /// The ledger cannot be reached: live actions are refused (fail closed).
    #[error("ledger unavailable: {0}")]
    Unavailable(String),
    /// Any other ledger failure.
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    /// A bug or an inconsistency that is not the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

fn policy_list(errors: &[PolicyError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

fn denial_text(decision: &Value) -> String {
    let reasons = decision["reasons"].as_array();
    let failed = reasons.and_then(|rs| {
        rs.iter()
            .find(|r| r["outcome"] == "fail")
            .or_else(|| rs.last())
    });
    match failed {
        Some(r) => format!(
            "{} ({})",
            r["message"].as_str().unwrap_or(""),
            r["code"].as_str().unwrap_or("")
        ),
        None => "no reason given".into(),
    }
}

impl ServiceError {
    /// Stable snake_case code (the API's `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Config(e) => e.code(),
            ServiceError::Load(e) => e.code(),
            ServiceError::Policy(_) => "policy_invalid",
            ServiceError::Start(_) => "start_failed",
            ServiceError::InvalidRequest(_) => "invalid_request",
            ServiceError::InvalidParams { .. } => "invalid_params",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Denied { .. } => "denied",
            ServiceError::IdempotencyKeyReused { .. } => "idempotency_key_reused",
            ServiceError::ActionInProgress { .. } => "action_in_progress",
            ServiceError::PayloadHashMismatch { .. } => "payload_hash_mismatch",
            ServiceError::ApprovalByProposer { .. } => "approval_by_proposer",
            ServiceError::DuplicateApproval { .. } => "duplicate_approval",
            ServiceError::InvalidState { .. } => "invalid_state",
            ServiceError::Expired { .. } => "action_expired",
            ServiceError::LookupInconclusive { .. } => "lookup_inconclusive",
            ServiceError::Unavailable(_) => "database_unavailable",
            ServiceError::Ledger(e) => e.code(),
            ServiceError::Internal(_) => "internal",
        }
    }

    /// The HTTP status the API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ServiceError::InvalidRequest(_) | ServiceError::InvalidParams { .. } => 400,
            ServiceError::Denied { .. } | ServiceError::ApprovalByProposer { .. } => 403,
            ServiceError::NotFound { .. } => 404,
            ServiceError::ActionInProgress { .. }
            | ServiceError::DuplicateApproval { .. }
            | ServiceError::InvalidState { .. }
            | ServiceError::Expired { .. }
            | ServiceError::LookupInconclusive { .. } => 409,
            ServiceError::IdempotencyKeyReused { .. }
            | ServiceError::PayloadHashMismatch { .. } => 422,
            ServiceError::Unavailable(_) => 503,
            ServiceError::Config(_)
            | ServiceError::Load(_)
            | ServiceError::Policy(_)
            | ServiceError::Start(_)
            | ServiceError::Ledger(_)
            | ServiceError::Internal(_) => 500,
        }
    }

    /// The decision, for a denial.
    pub fn decision(&self) -> Option<&Value> {
        match self {
            ServiceError::Denied { decision, .. } => Some(decision),
            _ => None,
        }
    }
}

impl From<LedgerError> for ServiceError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NotFound { what, id } => ServiceError::NotFound { what, id },
            LedgerError::ActionInProgress { id } => ServiceError::ActionInProgress { id },
            LedgerError::ActionExpired { id, .. } => ServiceError::Expired { id },
            LedgerError::DuplicateApproval { id, approver } => {
                ServiceError::DuplicateApproval { id, approver }
            }
            LedgerError::PayloadHashMismatch { id, expected, got } => {
                ServiceError::PayloadHashMismatch { id, expected, got }
            }
            LedgerError::StateConflict {
                id,
                expected,
                actual,
            } => {
                let names: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
                ServiceError::InvalidState {
                    id,
                    actual,
                    what: format!("expected {}", names.join(" or ")),
                }
            }
            e if e.is_unavailable() => ServiceError::Unavailable(e.to_string()),
            e => ServiceError::Ledger(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_and_statuses_are_stable() {
        let id: ActionId = "act_01J9Z3K4W5X6Y7Z8A9B0C1D2E3".parse().unwrap();
        let cases: Vec<(ServiceError, &str, u16)> = vec![
            (
                ServiceError::IdempotencyKeyReused {
                    key: "k".into(),
                    action_id: id.clone(),
                },
                "idempotency_key_reused",
                422,
            ),
            (
                ServiceError::ActionInProgress { id: "a".into() },
                "action_in_progress",
                409,
            ),
            (
                ServiceError::PayloadHashMismatch {
                    id: "a".into(),
                    expected: "x".into(),
                    got: "y".into(),
                },
                "payload_hash_mismatch",
                422,
            ),
            (
                ServiceError::ApprovalByProposer {
                    id: "a".into(),
                    approver: "p".into(),
                },
                "approval_by_proposer",
                403,
            ),
            (
                ServiceError::NotFound {
                    what: "action",
                    id: "a".into(),
                },
                "not_found",
                404,
            ),
            (
                ServiceError::InvalidParams {
                    stage: "schema",
                    messages: vec!["`/x`: bad".into()],
                },
                "invalid_params",
                400,
            ),
        ];
        for (e, code, status) in cases {
            assert_eq!((e.code(), e.http_status()), (code, status), "{e}");
        }
        let denied = ServiceError::Denied {
            decision: json!({"verdict": "deny", "reasons": [
                {"code": "domain_allowed", "outcome": "pass", "message": "ok"},
                {"code": "global_switch_off", "outcome": "fail", "message": "the global switch is off"}
            ]}),
            action_id: Some(id),
        };
        assert_eq!((denied.code(), denied.http_status()), ("denied", 403));
        assert_eq!(
            denied.to_string(),
            "denied: the global switch is off (global_switch_off)"
        );
        assert!(denied.decision().is_some());
    }
}
