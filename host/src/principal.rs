//! Principals and roles: who a caller is and what they may do.
//!
//! The role lattice (documented in `docs/API.md`):
//!
//! ```text
//!            admin
//!          /       \
//!     approver    operator
//!         |          |
//!     proposer       |
//!          \        /
//!           viewer
//! ```
//!
//! A role grants itself and everything below it. `approver` and `operator` are separate on
//! purpose: the person who flips kill switches and reconciles unknown actions is not, by that
//! alone, allowed to approve side effects, and an approver cannot turn the switches on.

use crate::governance::{PrincipalId, ProjectId};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads providers, actions, switches, spend, audit, metrics.
    Viewer,
    /// Proposes and executes actions.
    Proposer,
    /// Approves and rejects actions (and may propose).
    Approver,
    /// Flips switches and resolves unknown actions.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Proposer,
        Role::Approver,
        Role::Operator,
        Role::Admin,
    ];

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Proposer => "proposer",
            Role::Approver => "approver",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether holding `self` grants `required`.
    pub fn grants(self, required: Role) -> bool {
        use Role::*;
        match (self, required) {
            (Admin, _) => true,
            (a, b) if a == b => true,
            (_, Viewer) => true,
            (Approver, Proposer) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}`: expected viewer, proposer, approver, operator or admin"
                )
            })
    }
}

/// Which projects a principal may see and touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ProjectScope {
    /// Every project (serialized as `"*"`).
    #[serde(serialize_with = "all_projects")]
    All,
    /// Only these.
    Only(BTreeSet<ProjectId>),
}

fn all_projects<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("*")
}

impl ProjectScope {
    /// Whether `project` is in scope.
    pub fn allows(&self, project: &ProjectId) -> bool {
        match self {
            ProjectScope::All => true,
            ProjectScope::Only(set) => set.contains(project),
        }
    }

    /// Whether every project is in scope (needed for instance-wide acts such as switches).
    pub fn is_all(&self) -> bool {
        matches!(self, ProjectScope::All)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Its id.
    pub id: PrincipalId,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    /// Its projects.
    pub projects: ProjectScope,
}

impl Principal {
    /// Whether any of its roles grants `required`.
    pub fn has(&self, required: Role) -> bool {
        self.roles.iter().any(|r| r.grants(required))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_lattice_is_as_documented() {
        use Role::*;
        let expect = [
            (Viewer, vec![Viewer]),
            (Proposer, vec![Viewer, Proposer]),
            (Approver, vec![Viewer, Proposer, Approver]),
            (Operator, vec![Viewer, Operator]),
            (Admin, Role::ALL.to_vec()),
        ];
        for (held, granted) in expect {
            for r in Role::ALL {
                assert_eq!(held.grants(r), granted.contains(&r), "{held} grants {r}?");
            }
        }
    }

    #[test]
    fn roles_parse_strictly() {
        assert_eq!("operator".parse::<Role>(), Ok(Role::Operator));
        assert!("Operator".parse::<Role>().is_err());
        assert!("root".parse::<Role>().is_err());
    }
}
