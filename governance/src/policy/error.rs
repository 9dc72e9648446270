//! Errors of policy files and policy test files: each names the file, the line and the key.

use crate::ids::IdError;
use crate::money::MoneyError;
use std::fmt;

/// What is wrong with a policy (or policy test) file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// Not valid TOML.
    #[error("invalid TOML: {0}")]
    Syntax(String),
    /// A key this format does not have.
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    /// A required key is absent.
    #[error("missing key `{0}`")]
    MissingKey(String),
    /// A value of the wrong type or shape.
    #[error("{0}")]
    InvalidValue(String),
    /// An amount that does not parse.
    #[error("{0}")]
    Money(MoneyError),
    /// A name that is not a valid id.
    #[error("{0}")]
    Id(IdError),
    /// A duration that does not parse (`30m`, `1h`, `90s`).
    #[error(
        "invalid duration `{0}`: expected a whole number followed by `s`, `m` or `h`, e.g. `30m`"
    )]
    Duration(String),
    /// The approval lifetime is outside 1 minute ..= 24 hours.
    #[error("approval lifetime `{0}` is outside the allowed range 1m ..= 24h")]
    LifetimeRange(String),
    /// `approvals_required` is below 1 or above 10.
    #[error("approvals_required must be between 1 and 10, got {0}")]
    ApprovalsRequiredRange(i64),
    /// The `project` key differs from the file name.
    #[error("project `{found}` does not match the file name, which says `{expected}`")]
    ProjectMismatch {
        /// The name the file name implies.
        expected: String,
        /// The name written in the file.
        found: String,
    },
    /// The same entry twice in a list or a table.
    #[error("duplicate entry `{0}`")]
    Duplicate(String),
    /// An operation named in `auto_approve`, `raise_tier` or `limits.operations` that is not in
    /// the domain's `operations` list.
    #[error("operation `{0}` is not in this domain's `operations` list")]
    NotListed(String),
    /// A tier name other than `A`, `B`, `C`, or one not allowed here.
    #[error("invalid tier `{0}`")]
    Tier(String),
    /// Trading hours that do not parse.
    #[error(
        "invalid hours `{0}`: expected `HH:MM-HH:MM` in UTC with different start and end, e.g. `14:30-21:00`"
    )]
    Hours(String),
    /// A weekday other than `mon` … `sun`.
    #[error("invalid day `{0}`: expected one of mon tue wed thu fri sat sun")]
    Day(String),
    /// `max_notional` in a quota unit.
    #[error("max_notional must be in a currency, not `{0}`")]
    NotCurrency(String),
    /// A reason code no gate produces (policy tests).
    #[error("unknown reason code `{0}`")]
    UnknownReason(String),
    /// A domain the providers' catalog does not have.
    #[error("unknown domain `{0}`: no configured provider serves it")]
    UnknownDomain(String),
    /// An operation the domain's provider does not have.
    #[error("unknown operation `{operation}` in domain `{domain}`")]
    UnknownOperation {
        /// The domain.
        domain: String,
        /// The operation.
        operation: String,
    },
    /// `raise_tier` below the operation's base tier.
    #[error(
        "operation `{operation}` has base tier {base}; a policy may raise a tier but never lower it (to {requested})"
    )]
    TierLowered {
        /// The operation.
        operation: String,
        /// Its tier from its effect.
        base: String,
        /// What the policy asked for.
        requested: String,
    },
    /// `auto_approve` names an operation whose tier is C.
    #[error("operation `{0}` is tier C; auto_approve allows only tier A and B operations")]
    AutoApproveTierC(String),
    /// Two policies for the same project.
    #[error("a policy for project `{0}` is already loaded")]
    DuplicateProject(String),
}

impl PolicyErrorKind {
    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyErrorKind::Syntax(_) => "toml_syntax",
            PolicyErrorKind::UnknownKey(_) => "unknown_key",
            PolicyErrorKind::MissingKey(_) => "missing_key",
            PolicyErrorKind::InvalidValue(_) => "invalid_value",
            PolicyErrorKind::Money(_) => "invalid_money",
            PolicyErrorKind::Id(_) => "invalid_id",
            PolicyErrorKind::Duration(_) => "invalid_duration",
            PolicyErrorKind::LifetimeRange(_) => "lifetime_range",
            PolicyErrorKind::ApprovalsRequiredRange(_) => "approvals_required_range",
            PolicyErrorKind::ProjectMismatch { .. } => "project_mismatch",
            PolicyErrorKind::Duplicate(_) => "duplicate_entry",
            PolicyErrorKind::NotListed(_) => "operation_not_listed",
            PolicyErrorKind::Tier(_) => "invalid_tier",
            PolicyErrorKind::Hours(_) => "invalid_hours",
            PolicyErrorKind::Day(_) => "invalid_day",
            PolicyErrorKind::NotCurrency(_) => "max_notional_not_currency",
            PolicyErrorKind::UnknownReason(_) => "unknown_reason_code",
            PolicyErrorKind::UnknownDomain(_) => "unknown_domain",
            PolicyErrorKind::UnknownOperation { .. } => "unknown_operation",
            PolicyErrorKind::TierLowered { .. } => "tier_lowered",
            PolicyErrorKind::AutoApproveTierC(_) => "auto_approve_tier_c",
            PolicyErrorKind::DuplicateProject(_) => "duplicate_project",
        }
    }
}

/// An error in a policy file, located by file, line (1-based) and key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    // Boxed: keeps `Result<_, PolicyError>` one pointer wide.
    inner: Box<ErrorInner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
    file: String,
    line: Option<usize>,
    key: String,
    kind: PolicyErrorKind,
}

impl PolicyError {
    /// Builds an error.
    pub fn new(
        file: &str,
        line: Option<usize>,
        key: impl Into<String>,
        kind: PolicyErrorKind,
    ) -> PolicyError {
        PolicyError {
            inner: Box::new(ErrorInner {
                file: file.to_owned(),
                line,
                key: key.into(),
                kind,
            }),
        }
    }

    /// The file's display name, as given to the parser.
    pub fn file(&self) -> &str {
        &self.inner.file
    }

    /// The 1-based line, when known.
    pub fn line(&self) -> Option<usize> {
        self.inner.line
    }

    /// The dotted key path, e.g. `domains.etsy.auto_approve`; empty for the whole file.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// What is wrong.
    pub fn kind(&self) -> &PolicyErrorKind {
        &self.inner.kind
    }

    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        self.inner.kind.code()
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.file)?;
        if let Some(line) = self.inner.line {
            write!(f, ":{line}")?;
        }
        if !self.inner.key.is_empty() {
            write!(f, ": key `{}`", self.inner.key)?;
        }
        write!(f, ": {}", self.inner.kind)
    }
}

impl std::error::Error for PolicyError {}

/// Maps byte offsets of a source text to 1-based line numbers.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn line_index() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(1), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }

    #[test]
    fn display_names_file_line_key() {
        let e = PolicyError::new(
            "policies/demo.toml",
            Some(7),
            "domains.etsy.auto_approve",
            PolicyErrorKind::AutoApproveTierC("publish_listing".into()),
        );
        assert_eq!(
            e.to_string(),
            "policies/demo.toml:7: key `domains.etsy.auto_approve`: operation `publish_listing` is tier C; auto_approve allows only tier A and B operations"
        );
        assert_eq!(e.code(), "auto_approve_tier_c");
    }
}
