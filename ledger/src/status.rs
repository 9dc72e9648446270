//! The action lifecycle of DESIGN §7 as a closed state machine.
//!
//! ```text
//!             ┌──────────── denied            (a gate refused at proposal)
//!             │
//! propose ────┼── executing ─► previewed      (dry-run finished)
//!             │      ▲     ─► succeeded | failed | unknown ─► succeeded | failed (resolve)
//!             │      │
//!             └── pending_approval ─► approved ─► (begin_execution) executing
//!                        │                 └────► expired
//!                        └─► rejected | expired
//! ```
//!
//! A live action can only reach `executing` through [`crate::Ledger::begin_execution`], which
//! re-checks every gate in the same transaction that reserves its spend (I2, I7); a dry-run
//! (or a run-now tier A read) may be recorded as `executing` directly at proposal and is then
//! finished like any other run. Terminal states never change, except `unknown`, which an
//! operator resolves to `succeeded` or `failed`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an action is in its lifecycle (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// A gate refused the action at proposal.
    Denied,
    /// A dry-run finished; its attempted writes are the preview.
    Previewed,
    /// Waiting for approvals of its payload hash.
    PendingApproval,
    /// Enough approvals; may be executed until it expires.
    Approved,
    /// The plugin is running (entered at most once, I6).
    Executing,
    /// The plugin reported success.
    Succeeded,
    /// The plugin reported failure (or trapped).
    Failed,
    /// The host stopped while the action was executing; an operator must resolve it.
    Unknown,
    /// An approver rejected it.
    Rejected,
    /// Its approval window closed before it ran.
    Expired,
}

impl ActionStatus {
    /// Every status.
    pub const ALL: [ActionStatus; 10] = [
        ActionStatus::Denied,
        ActionStatus::Previewed,
        ActionStatus::PendingApproval,
        ActionStatus::Approved,
        ActionStatus::Executing,
        ActionStatus::Succeeded,
        ActionStatus::Failed,
        ActionStatus::Unknown,
        ActionStatus::Rejected,
        ActionStatus::Expired,
    ];

    /// The stable snake_case name, as stored and as shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Denied => "denied",
            ActionStatus::Previewed => "previewed",
            ActionStatus::PendingApproval => "pending_approval",
            ActionStatus::Approved => "approved",
            ActionStatus::Executing => "executing",
            ActionStatus::Succeeded => "succeeded",
            ActionStatus::Failed => "failed",
            ActionStatus::Unknown => "unknown",
            ActionStatus::Rejected => "rejected",
            ActionStatus::Expired => "expired",
        }
    }

    /// Parses a stored or requested status name.
    pub fn parse(s: &str) -> Option<ActionStatus> {
        ActionStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether nothing but an operator's resolve (for `unknown`) can move it any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ActionStatus::Denied
                | ActionStatus::Previewed
                | ActionStatus::Succeeded
                | ActionStatus::Failed
                | ActionStatus::Unknown
                | ActionStatus::Rejected
                | ActionStatus::Expired
        )
    }

    /// Whether a new action may be recorded in this status at proposal.
    ///
    /// `executing` is allowed only for dry-run actions (checked by the ledger): a live action
    /// gets there only through [`crate::Ledger::begin_execution`].
    pub fn can_start_in(self) -> bool {
        matches!(
            self,
            ActionStatus::Denied
                | ActionStatus::PendingApproval
                | ActionStatus::Approved
                | ActionStatus::Executing
        )
    }
}

/// Whether the lifecycle allows `from → to` (DESIGN §7). Nothing else ever happens.
pub fn can_transition(from: ActionStatus, to: ActionStatus) -> bool {
    use ActionStatus::*;
    matches!(
        (from, to),
        (PendingApproval, Approved | Rejected | Expired)
            | (Approved, Executing | Expired)
            | (Executing, Previewed | Succeeded | Failed | Unknown)
            | (Unknown, Succeeded | Failed)
    )
}

impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i6_terminal_states_never_change_except_unknown() {
        for from in ActionStatus::ALL {
            for to in ActionStatus::ALL {
                if from.is_terminal() && can_transition(from, to) {
                    assert_eq!(from, ActionStatus::Unknown, "{from} -> {to}");
                    assert!(matches!(to, ActionStatus::Succeeded | ActionStatus::Failed));
                }
            }
            assert!(!can_transition(from, from), "{from} -> itself");
        }
    }

    #[test]
    fn names_round_trip() {
        for st in ActionStatus::ALL {
            assert_eq!(ActionStatus::parse(st.as_str()), Some(st));
            let json = serde_json::to_string(&st).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
        assert_eq!(ActionStatus::parse("running"), None);
    }
}
