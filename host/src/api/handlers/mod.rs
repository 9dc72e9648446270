//! Route handlers, grouped by what they touch.

pub mod actions;
pub mod admin;
pub mod system;

use super::error::ApiError;
use crate::principal::Principal;
use serde::Deserialize;
use std::str::FromStr;

/// Parses a path or query value into a typed id, or `invalid_request`.
pub(crate) fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| ApiError::invalid(format!("{what} `{s}`: {e}")))
}

/// A project the principal may not see is answered as if it did not exist (so names and ids
/// of other projects do not leak).
pub(crate) fn in_scope(
    principal: &Principal,
    project: &crate::governance::ProjectId,
) -> Result<(), ApiError> {
    if principal.projects.allows(project) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "project `{project}` not found"
        )))
    }
}

/// Dry-run or live, as the API spells it.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ModeArg {
    /// No side effect: the read-only profile, writes recorded as the preview.
    DryRun,
    /// The real thing, after every gate.
    Live,
}

impl From<ModeArg> for crate::governance::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::DryRun => crate::governance::Mode::DryRun,
            ModeArg::Live => crate::governance::Mode::Live,
        }
    }
}
