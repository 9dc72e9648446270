//! Project policies: the model of `policies/<project>.toml`, parsed strictly from TOML, then
//! checked against the providers' [`Catalog`] (two phases, as in `policy check`).
//!
//! Phase 1, [`Policy::parse`], is text → model: TOML syntax, unknown keys, types, amounts,
//! names, durations and internal consistency (e.g. `auto_approve` naming an operation that is
//! not in `operations`). Phase 2, [`Policy::check`] / [`PolicySet::check`], needs the catalog:
//! unknown domains and operations, tier raises that would lower a tier, `auto_approve` of a
//! tier C operation. Both phases report [`PolicyError`]s naming the file, line and key.
//!
//! Defaults are the safe ones and are written next to the fields below; `docs/POLICY.md`
//! is the reference for people writing policies.

mod cases;
mod catalog;
mod check;
mod error;
mod limits;
mod parse;

pub use cases::{
    CaseResult, CaseSwitches, DEFAULT_NOW, PolicyTestCase, PolicyTests, TEST_PLUGIN_DIGEST,
    TestReport, run_policy_tests,
};
pub use catalog::Catalog;
pub use error::{PolicyError, PolicyErrorKind};
pub use limits::{HoursUtc, LimitViolation, TradingLimits};

use crate::effect::{Effect, Tier};
use crate::ids::{Domain, OperationName, ProjectId};
use crate::money::{Money, Unit};
use std::collections::{BTreeMap, BTreeSet};

/// Default approval lifetime: one hour.
pub const DEFAULT_APPROVAL_LIFETIME_SECS: i64 = 3600;
/// Longest approval lifetime a policy may set: 24 hours.
pub const MAX_APPROVAL_LIFETIME_SECS: i64 = 24 * 3600;
/// Shortest approval lifetime a policy may set: one minute.
pub const MIN_APPROVAL_LIFETIME_SECS: i64 = 60;
/// Most approvals a policy may require.
pub const MAX_APPROVALS_REQUIRED: u32 = 10;

/// One project's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) file: String,
    pub(crate) digest: String,
    pub(crate) project: ProjectId,
    pub(crate) description: Option<String>,
    /// Distinct approvers needed; default 1.
    pub(crate) approvals_required: u32,
    /// Seconds an approval stays valid; default 3600.
    pub(crate) approval_lifetime_secs: i64,
    /// Tiers at which the proposer's own approval counts; default none (separation of duties
    /// everywhere).
    pub(crate) proposer_may_approve: BTreeSet<Tier>,
    pub(crate) caps: Caps,
    /// Domains the project may use; any other domain is denied.
    pub(crate) domains: BTreeMap<Domain, DomainPolicy>,
}

impl Policy {
    /// The file name this policy was parsed from, as given to [`Policy::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// SHA-256 (lowercase hex) of the policy file's text, for audit records.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The project this policy governs.
    pub fn project(&self) -> &ProjectId {
        &self.project
    }

    /// The free-text description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// How many distinct approvers an action needing approval must have.
    pub fn approvals_required(&self) -> u32 {
        self.approvals_required
    }

    /// How long an approval stays valid, in seconds.
    pub fn approval_lifetime_secs(&self) -> i64 {
        self.approval_lifetime_secs
    }

    /// Whether the proposer's own approval counts at `tier` (separation of duties off).
    pub fn proposer_may_approve(&self, tier: Tier) -> bool {
        self.proposer_may_approve.contains(&tier)
    }

    /// The spend caps.
    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// The policy of one domain, if the project may use it at all.
    pub fn domain(&self, domain: &Domain) -> Option<&DomainPolicy> {
        self.domains.get(domain)
    }

    /// Every domain the policy names.
    pub fn domains(&self) -> impl Iterator<Item = (&Domain, &DomainPolicy)> {
        self.domains.iter()
    }

    /// The tier of `operation` in `domain` with effect `effect`: its base tier, raised by
    /// the policy if it says so (never lowered).
    pub fn tier(&self, domain: &Domain, operation: &OperationName, effect: Effect) -> Tier {
        let base = effect.base_tier();
        match self.domain(domain).and_then(|d| d.raised_tier(operation)) {
            Some(raised) => base.max(raised),
            None => base,
        }
    }
}

/// Spend caps, per currency or quota unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caps {
    pub(crate) per_action: BTreeMap<Unit, Money>,
    pub(crate) per_day: BTreeMap<Unit, Money>,
    pub(crate) per_month: BTreeMap<Unit, Money>,
}

impl Caps {
    /// Every unit any cap names.
    pub fn units(&self) -> std::collections::BTreeSet<&Unit> {
        self.per_action
            .keys()
            .chain(self.per_day.keys())
            .chain(self.per_month.keys())
            .collect()
    }

    /// Largest spend of one action in `unit`.
    pub fn per_action(&self, unit: &Unit) -> Option<&Money> {
        self.per_action.get(unit)
    }

    /// Largest spend per UTC day in `unit`.
    pub fn per_day(&self, unit: &Unit) -> Option<&Money> {
        self.per_day.get(unit)
    }

    /// Largest spend per UTC month in `unit`.
    pub fn per_month(&self, unit: &Unit) -> Option<&Money> {
        self.per_month.get(unit)
    }

    /// Whether any cap names `unit`; spending in a unit without any cap is denied.
    pub fn covers(&self, unit: &Unit) -> bool {
        self.per_action.contains_key(unit)
            || self.per_day.contains_key(unit)
            || self.per_month.contains_key(unit)
    }
}

/// What a project may do in one domain (`[domains.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPolicy {
    pub(crate) line: usize,
    /// `enabled = false` keeps the section but denies the domain; default true.
    pub(crate) enabled: bool,
    /// Allowed operations, with the line each is written on.
    pub(crate) operations: BTreeMap<OperationName, usize>,
    /// Operations whose tier B approval is automatic.
    pub(crate) auto_approve: BTreeMap<OperationName, usize>,
    /// Tier raises per operation, with their lines.
    pub(crate) raise_tier: BTreeMap<OperationName, (Tier, usize)>,
    pub(crate) limits: Option<TradingLimits>,
}

impl DomainPolicy {
    /// Whether the domain is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether `operation` is listed in `operations`.
    pub fn allows(&self, operation: &OperationName) -> bool {
        self.operations.contains_key(operation)
    }

    /// The allowed operations.
    pub fn operations(&self) -> impl Iterator<Item = &OperationName> {
        self.operations.keys()
    }

    /// Whether `operation` is listed in `auto_approve`.
    pub fn auto_approves(&self, operation: &OperationName) -> bool {
        self.auto_approve.contains_key(operation)
    }

    /// The tier the policy raises `operation` to, if any.
    pub fn raised_tier(&self, operation: &OperationName) -> Option<Tier> {
        self.raise_tier.get(operation).map(|(t, _)| *t)
    }

    /// Provider-specific limits, if any.
    pub fn limits(&self) -> Option<&TradingLimits> {
        self.limits.as_ref()
    }
}

/// The policies of every project, by project id.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: BTreeMap<ProjectId, Policy>,
}

impl PolicySet {
    /// An empty set: every project is denied everything (I1).
    pub fn new() -> PolicySet {
        PolicySet::default()
    }

    /// Adds a policy; a second policy for the same project is an error.
    pub fn insert(&mut self, policy: Policy) -> Result<(), PolicyError> {
        if self.policies.contains_key(&policy.project) {
            return Err(PolicyError::new(
                &policy.file,
                None,
                "project",
                PolicyErrorKind::DuplicateProject(policy.project.to_string()),
            ));
        }
        self.policies.insert(policy.project.clone(), policy);
        Ok(())
    }

    /// The policy of `project`, if it has one.
    pub fn get(&self, project: &ProjectId) -> Option<&Policy> {
        self.policies.get(project)
    }

    /// Every policy, by project.
    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.policies.values()
    }

    /// How many policies are loaded.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether no policy is loaded.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Checks every policy against the providers' catalog (phase 2); all errors are returned.
    pub fn check(&self, catalog: &Catalog) -> Result<(), Vec<PolicyError>> {
        let errors: Vec<PolicyError> = self
            .policies
            .values()
            .flat_map(|p| p.check_errors(catalog))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
