//! Effects, tiers and modes: the vocabulary shared by plugins and policy.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What an operation does to the outside world (the WIT `effect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Reads only.
    Read,
    /// Creates something not yet visible (draft, private upload).
    Draft,
    /// Makes something public.
    Publish,
    /// Changes something that exists.
    Modify,
    /// Removes something.
    Delete,
    /// Spends money or quota.
    Spend,
    /// Places or closes a financial position.
    Trade,
}

impl Effect {
    /// The tier this effect has before any policy raise (DESIGN §4).
    pub fn base_tier(self) -> Tier {
        match self {
            Effect::Read => Tier::A,
            Effect::Draft => Tier::B,
            Effect::Publish | Effect::Modify | Effect::Delete | Effect::Spend | Effect::Trade => {
                Tier::C
            }
        }
    }

    /// The lowercase name used in WIT, JSON and policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Draft => "draft",
            Effect::Publish => "publish",
            Effect::Modify => "modify",
            Effect::Delete => "delete",
            Effect::Spend => "spend",
            Effect::Trade => "trade",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Risk tier; ordered so that `A < B < C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// Read-only; never needs approval.
    A,
    /// Reversible; needs approval unless the policy auto-approves it.
    B,
    /// External side effect; always needs approval.
    C,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
        })
    }
}

/// Dry-run (the default) or live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Preview only; the sandbox blocks writes.
    #[default]
    DryRun,
    /// A real side effect.
    Live,
}

impl Mode {
    /// The name used in JSON and the payload hash.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_tiers_follow_design() {
        assert_eq!(Effect::Read.base_tier(), Tier::A);
        assert_eq!(Effect::Draft.base_tier(), Tier::B);
        for e in [
            Effect::Publish,
            Effect::Modify,
            Effect::Delete,
            Effect::Spend,
            Effect::Trade,
        ] {
            assert_eq!(e.base_tier(), Tier::C, "{e}");
        }
        assert!(Tier::A < Tier::B && Tier::B < Tier::C);
    }
}
