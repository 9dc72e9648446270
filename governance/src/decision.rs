//! The one decision function, used by propose, execute (re-check) and explain.
//!
//! [`decide`] runs the gates in this fixed order; each appends a [`Reason`] and the first
//! gate that refuses ends the evaluation with [`Verdict::Deny`] (its reason is the last one):
//!
//! 1. **policy** — the project has a policy (none: deny, I1);
//! 2. **domain** — the policy names the domain and has not disabled it;
//! 3. **operation** — the provider has the operation (catalog) and the policy lists it;
//! 4. **limits** — provider-specific limits (trading: symbols, order types, sides, notional,
//!    days and hours in UTC), for operations they apply to;
//! 5. **tier** — the effect's base tier, raised by the policy (never lowered);
//! 6. **switches** — live only: switch state known, global switch on, domain switch on;
//! 7. **spend** — live only: every declared amount within the per-action cap and, together
//!    with what is already used or reserved, the daily and monthly caps; a unit without any
//!    cap cannot be spent;
//! 8. **approvals** — live only: tier A needs none; tier B none if listed in
//!    `auto_approve`; otherwise at least `approvals_required` distinct approvers whose
//!    approval carries this exact payload hash, is not expired, and — unless the policy lets
//!    the proposer approve at this tier — is not the proposer's own. Too few:
//!    [`Verdict::NeedsApproval`].
//!
//! Dry-run stops after the tier gate with a skipped reason for each of gates 6–8 and
//! [`Verdict::Allow`]: the host runs it under the read-only profile (I3). Anything that is
//! not explicitly allowed is denied: there is no path to `Allow` that skips a gate.

use crate::canonical::{CanonicalError, Payload};
use crate::effect::{Effect, Mode, Tier};
use crate::ids::{Domain, OperationName, PayloadHash, PrincipalId, ProjectId};
use crate::money::{Money, MoneyError, Unit};
use crate::policy::Policy;
use crate::timestamp::Timestamp;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Defines [`ReasonCode`] with its stable strings in one place.
macro_rules! reason_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// Machine-readable reason codes; the strings are stable API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum ReasonCode {
            $($(#[$doc])* $variant,)*
        }

        impl ReasonCode {
            /// Every code, in gate order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// The stable snake_case string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $code,)*
                }
            }

            /// Looks a code up by its string.
            pub fn parse(s: &str) -> Option<ReasonCode> {
                match s {
                    $($code => Some(ReasonCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reason_codes! {
    /// The project has no policy (I1).
    PolicyMissing => "policy_missing",
    /// The policy given is another project's.
    PolicyProjectMismatch => "policy_project_mismatch",
    /// The policy does not name the domain.
    DomainNotInPolicy => "domain_not_in_policy",
    /// The policy names the domain with `enabled = false`.
    DomainDisabled => "domain_disabled",
    /// The domain is enabled by the policy.
    DomainAllowed => "domain_allowed",
    /// The provider has no such operation.
    OperationUnknown => "operation_unknown",
    /// The policy does not list the operation.
    OperationNotAllowed => "operation_not_allowed",
    /// The policy lists the operation.
    OperationAllowed => "operation_allowed",
    /// No provider limit applies to this operation.
    LimitsNone => "limits_none",
    /// Every provider limit holds.
    LimitsOk => "limits_ok",
    /// The params have no `symbol` but symbols are limited.
    LimitSymbolMissing => "limit_symbol_missing",
    /// The symbol is not in the allowed list.
    LimitSymbolNotAllowed => "limit_symbol_not_allowed",
    /// The params have no `type` but order types are limited.
    LimitOrderTypeMissing => "limit_order_type_missing",
    /// The order type is not in the allowed list.
    LimitOrderTypeNotAllowed => "limit_order_type_not_allowed",
    /// The params have no `side` but sides are limited.
    LimitSideMissing => "limit_side_missing",
    /// The side is not in the allowed list.
    LimitSideNotAllowed => "limit_side_not_allowed",
    /// The order value cannot be known before execution.
    LimitNotionalUnknown => "limit_notional_unknown",
    /// A quantity, price or notional is not a plain decimal.
    LimitNotionalInvalid => "limit_notional_invalid",
    /// The order value is above `max_notional`.
    LimitNotionalExceeded => "limit_notional_exceeded",
    /// Outside the allowed trading days or hours (UTC).
    LimitOutsideHours => "limit_outside_hours",
    /// The tier from the effect.
    TierBase => "tier_base",
    /// The tier, raised by the policy.
    TierRaised => "tier_raised",
    /// Dry-run: switches are not consulted.
    SwitchesSkippedDryRun => "switches_skipped_dry_run",
    /// The switch state could not be read: live refused (fail closed).
    SwitchStateUnknown => "switch_state_unknown",
    /// The global external-actions switch is off.
    GlobalSwitchOff => "global_switch_off",
    /// The domain's switch is off.
    DomainSwitchOff => "domain_switch_off",
    /// Global and domain switches are on.
    SwitchesOn => "switches_on",
    /// Dry-run: spend caps are not consulted.
    SpendSkippedDryRun => "spend_skipped_dry_run",
    /// The action declares no spend.
    SpendNone => "spend_none",
    /// A declared amount is negative or overflows.
    SpendInvalid => "spend_invalid",
    /// A declared amount is in a unit the policy has no cap for.
    SpendUncapped => "spend_uncapped",
    /// A declared amount is above the per-action cap.
    SpendPerActionExceeded => "spend_per_action_exceeded",
    /// Used plus declared is above the daily cap.
    SpendDailyExceeded => "spend_daily_exceeded",
    /// Used plus declared is above the monthly cap.
    SpendMonthlyExceeded => "spend_monthly_exceeded",
    /// Every declared amount fits its caps.
    SpendWithinCaps => "spend_within_caps",
    /// Dry-run: approvals are not consulted.
    ApprovalsSkippedDryRun => "approvals_skipped_dry_run",
    /// Tier A needs no approval.
    ApprovalNotNeeded => "approval_not_needed",
    /// Tier B listed in `auto_approve`.
    AutoApproved => "auto_approved",
    /// An approval for another payload hash was ignored.
    ApprovalHashMismatch => "approval_hash_mismatch",
    /// An expired (or not yet valid) approval was ignored.
    ApprovalExpired => "approval_expired",
    /// The proposer's own approval was ignored (separation of duties).
    ApprovalByProposer => "approval_by_proposer",
    /// Fewer valid approvals than required.
    ApprovalsMissing => "approvals_missing",
    /// Enough valid approvals.
    ApprovalsSufficient => "approvals_sufficient",
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The gates, in evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The project has a policy.
    Policy,
    /// The domain is enabled by the policy.
    Domain,
    /// The operation exists and is allowed.
    Operation,
    /// Provider-specific limits.
    Limits,
    /// Tier assignment.
    Tier,
    /// Kill switches (live).
    Switches,
    /// Spend caps (live).
    Spend,
    /// Approvals (live).
    Approvals,
}

/// What a reason did to the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The gate passed.
    Pass,
    /// The gate refused: the verdict is deny.
    Fail,
    /// The gate waits for approvals: the verdict is needs-approval.
    Pending,
    /// The gate was not consulted (dry-run).
    Skipped,
    /// Information only (tier, ignored approvals).
    Note,
}

/// One step of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable machine-readable code.
    pub code: ReasonCode,
    /// The gate that produced it.
    pub gate: Gate,
    /// Pass, fail, pending, skipped or note.
    pub outcome: Outcome,
    /// What a person reads.
    pub message: String,
}

/// The result of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every gate passed.
    Allow,
    /// A gate refused.
    Deny,
    /// Every gate passed except approvals, which are too few.
    NeedsApproval,
}

impl Verdict {
    /// `allow`, `deny` or `needs_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::NeedsApproval => "needs_approval",
        }
    }

    /// Parses `allow`, `deny` or `needs_approval`.
    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Allow, Verdict::Deny, Verdict::NeedsApproval]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision: the verdict, the tier (when the operation is known) and every reason in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allow, deny or needs approval.
    pub verdict: Verdict,
    /// The effective tier, if the operation is known.
    pub tier: Option<Tier>,
    /// Every gate's reason, in gate order.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// Whether the verdict is allow.
    pub fn is_allow(&self) -> bool {
        self.verdict == Verdict::Allow
    }

    /// The codes of all reasons, in order.
    pub fn codes(&self) -> Vec<ReasonCode> {
        self.reasons.iter().map(|r| r.code).collect()
    }

    /// Whether some reason has `code`.
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The reason that denied the action, if it was denied.
    pub fn denial(&self) -> Option<&Reason> {
        self.reasons.iter().find(|r| r.outcome == Outcome::Fail)
    }
}

/// An action to decide on: its payload, its hash, its effect and its declared spend.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    payload: Payload,
    payload_hash: PayloadHash,
    effect: Option<Effect>,
    spend: Vec<Money>,
}

impl Action {
    /// Builds an action and computes its payload hash. `effect` is the operation's effect
    /// from the catalog (`None`: the provider has no such operation, which is denied);
    /// `spend` is the declared spend from the plugin's `validate`.
    pub fn new(
        payload: Payload,
        effect: Option<Effect>,
        spend: Vec<Money>,
    ) -> Result<Action, CanonicalError> {
        let payload_hash = payload.hash()?;
        Ok(Action {
            payload,
            payload_hash,
            effect,
            spend,
        })
    }

    /// The hashed payload.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// SHA-256 of the canonical payload.
    pub fn payload_hash(&self) -> &PayloadHash {
        &self.payload_hash
    }

    /// The project.
    pub fn project(&self) -> &ProjectId {
        &self.payload.project
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.payload.domain
    }

    /// The operation.
    pub fn operation(&self) -> &OperationName {
        &self.payload.operation
    }

    /// The normalized params.
    pub fn params(&self) -> &Value {
        &self.payload.params
    }

    /// Dry-run or live.
    pub fn mode(&self) -> Mode {
        self.payload.mode
    }

    /// The operation's effect, if known.
    pub fn effect(&self) -> Option<Effect> {
        self.effect
    }

    /// The declared spend.
    pub fn spend(&self) -> &[Money] {
        &self.spend
    }
}

/// Kill-switch state as read from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switches {
    /// The state could not be read: live actions are refused (fail closed).
    Unknown,
    /// The state was read.
    Known {
        /// The global external-actions switch.
        global: bool,
        /// Domains whose switch is on; every other domain is off (the default).
        domains_on: BTreeSet<Domain>,
    },
}

impl Switches {
    /// Everything off: the default state.
    pub fn all_off() -> Switches {
        Switches::Known {
            global: false,
            domains_on: BTreeSet::new(),
        }
    }

    /// Global on and the given domains on.
    pub fn on(domains: impl IntoIterator<Item = Domain>) -> Switches {
        Switches::Known {
            global: true,
            domains_on: domains.into_iter().collect(),
        }
    }
}

/// Spend already used or reserved in the current UTC day and month, per unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendUsage {
    day: BTreeMap<Unit, i64>,
    month: BTreeMap<Unit, i64>,
}

impl SpendUsage {
    /// Nothing used.
    pub fn new() -> SpendUsage {
        SpendUsage::default()
    }

    /// Adds to today's usage.
    pub fn add_day(&mut self, amount: &Money) -> Result<(), MoneyError> {
        add(&mut self.day, amount)
    }

    /// Adds to this month's usage.
    pub fn add_month(&mut self, amount: &Money) -> Result<(), MoneyError> {
        add(&mut self.month, amount)
    }

    /// Today's usage in `unit`.
    pub fn day(&self, unit: &Unit) -> Money {
        Money::new(self.day.get(unit).copied().unwrap_or(0), unit.clone())
    }

    /// This month's usage in `unit`.
    pub fn month(&self, unit: &Unit) -> Money {
        Money::new(self.month.get(unit).copied().unwrap_or(0), unit.clone())
    }
}

fn add(map: &mut BTreeMap<Unit, i64>, amount: &Money) -> Result<(), MoneyError> {
    let current = Money::new(
        map.get(&amount.unit).copied().unwrap_or(0),
        amount.unit.clone(),
    );
    let sum = current.checked_add(amount)?;
    map.insert(sum.unit, sum.minor_units);
    Ok(())
}

/// One approval of one payload hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Who approved.
    pub approver: PrincipalId,
    /// The hash they reviewed and sent.
    pub payload_hash: PayloadHash,
    /// When (from the same clock as `now`).
    pub approved_at: Timestamp,
}

/// Everything [`decide`] looks at. Time is passed in; nothing is read from a clock.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// The action.
    pub action: &'a Action,
    /// The project's policy, if it has one.
    pub policy: Option<&'a Policy>,
    /// Kill-switch state.
    pub switches: &'a Switches,
    /// Spend used or reserved in the current day and month.
    pub usage: &'a SpendUsage,
    /// Approvals recorded for the action.
    pub approvals: &'a [Approval],
    /// Who proposed the action.
    pub proposer: &'a PrincipalId,
    /// The current instant.
    pub now: Timestamp,
}

struct Trail {
    reasons: Vec<Reason>,
    tier: Option<Tier>,
}

impl Trail {
    fn push(&mut self, gate: Gate, outcome: Outcome, code: ReasonCode, message: String) {
        self.reasons.push(Reason {
            code,
            gate,
            outcome,
            message,
        });
    }

    fn end(self, verdict: Verdict) -> Decision {
        Decision {
            verdict,
            tier: self.tier,
            reasons: self.reasons,
        }
    }

    fn deny(mut self, gate: Gate, code: ReasonCode, message: String) -> Decision {
        self.push(gate, Outcome::Fail, code, message);
        self.end(Verdict::Deny)
    }
}

/// Decides on an action; see the module documentation for the gates and their order.
pub fn decide(input: &DecisionInput<'_>) -> Decision {
    let action = input.action;
    let domain = action.domain();
    let op = action.operation();
    let mut t = Trail {
        reasons: Vec::new(),
        tier: action.effect().map(Effect::base_tier),
    };

    // 1. policy
    let Some(policy) = input.policy else {
        return t.deny(
            Gate::Policy,
            ReasonCode::PolicyMissing,
            format!("project `{}` has no policy; default deny", action.project()),
        );
    };
    if policy.project() != action.project() {
        return t.deny(
            Gate::Policy,
            ReasonCode::PolicyProjectMismatch,
            format!(
                "the policy given is project `{}`'s, not `{}`'s",
                policy.project(),
                action.project()
            ),
        );
    }

    // 2. domain
    let Some(dp) = policy.domain(domain) else {
        return t.deny(
            Gate::Domain,
            ReasonCode::DomainNotInPolicy,
            format!("the policy does not enable domain `{domain}`"),
        );
    };
    if !dp.enabled() {
        return t.deny(
            Gate::Domain,
            ReasonCode::DomainDisabled,
            format!("domain `{domain}` is disabled by the policy"),
        );
    }
    t.push(
        Gate::Domain,
        Outcome::Pass,
        ReasonCode::DomainAllowed,
        format!("domain `{domain}` is enabled by the policy"),
    );

    // 3. operation
    let Some(effect) = action.effect() else {
        return t.deny(
            Gate::Operation,
            ReasonCode::OperationUnknown,
            format!("provider `{domain}` has no operation `{op}`"),
        );
    };
    if !dp.allows(op) {
        return t.deny(
            Gate::Operation,
            ReasonCode::OperationNotAllowed,
            format!("the policy does not allow `{domain}.{op}`"),
        );
    }
    t.push(
        Gate::Operation,
        Outcome::Pass,
        ReasonCode::OperationAllowed,
        format!("the policy allows `{domain}.{op}`"),
    );
    let base = effect.base_tier();
    let tier = policy.tier(domain, op, effect);
    t.tier = Some(tier);

    // 4. provider limits
    match dp.limits().filter(|l| l.applies_to(op, effect)) {
        None => t.push(
            Gate::Limits,
            Outcome::Skipped,
            ReasonCode::LimitsNone,
            "no provider limit applies".into(),
        ),
        Some(limits) => match limits.evaluate(action.params(), input.now) {
            Ok(()) => t.push(
                Gate::Limits,
                Outcome::Pass,
                ReasonCode::LimitsOk,
                "every provider limit holds".into(),
            ),
            Err(v) => return t.deny(Gate::Limits, v.code, v.message),
        },
    }

    // 5. tier
    if tier > base {
        t.push(
            Gate::Tier,
            Outcome::Note,
            ReasonCode::TierRaised,
            format!("effect `{effect}` has tier {base}; the policy raises it to {tier}"),
        );
    } else {
        t.push(
            Gate::Tier,
            Outcome::Note,
            ReasonCode::TierBase,
            format!("effect `{effect}` has tier {tier}"),
        );
    }

    if action.mode() == Mode::DryRun {
        let why = "dry-run: runs under the read-only profile";
        t.push(
            Gate::Switches,
            Outcome::Skipped,
            ReasonCode::SwitchesSkippedDryRun,
            format!("{why}; switches not consulted"),
        );
        t.push(
            Gate::Spend,
            Outcome::Skipped,
            ReasonCode::SpendSkippedDryRun,
            format!("{why}; nothing is spent"),
        );
        t.push(
            Gate::Approvals,
            Outcome::Skipped,
            ReasonCode::ApprovalsSkippedDryRun,
            format!("{why}; no approval needed"),
        );
        return t.end(Verdict::Allow);
    }

    // 6. switches (live)
    match input.switches {
        Switches::Unknown => {
            return t.deny(
                Gate::Switches,
                ReasonCode::SwitchStateUnknown,
                "switch state could not be read; live actions are refused".into(),
            );
        }
        Switches::Known { global, domains_on } => {
            if !global {
                return t.deny(
                    Gate::Switches,
                    ReasonCode::GlobalSwitchOff,
                    "the global external-actions switch is off".into(),
                );
            }
            if !domains_on.contains(domain) {
                return t.deny(
                    Gate::Switches,
                    ReasonCode::DomainSwitchOff,
                    format!("the switch of domain `{domain}` is off"),
                );
            }
            t.push(
                Gate::Switches,
                Outcome::Pass,
                ReasonCode::SwitchesOn,
                format!("global and `{domain}` switches are on"),
            );
        }
    }

    // 7. spend caps (live)
    if let Err((code, message)) = spend_gate(policy, action.spend(), input.usage) {
        return t.deny(Gate::Spend, code, message);
    }
    if action.spend().iter().all(Money::is_zero) {
        t.push(
            Gate::Spend,
            Outcome::Pass,
            ReasonCode::SpendNone,
            "no spend declared".into(),
        );
    } else {
        let list: Vec<String> = action.spend().iter().map(Money::to_string).collect();
        t.push(
            Gate::Spend,
            Outcome::Pass,
            ReasonCode::SpendWithinCaps,
            format!("{} within the caps", list.join(", ")),
        );
    }

    // 8. approvals (live)
    if tier == Tier::A {
        t.push(
            Gate::Approvals,
            Outcome::Pass,
            ReasonCode::ApprovalNotNeeded,
            "tier A needs no approval".into(),
        );
        return t.end(Verdict::Allow);
    }
    if tier == Tier::B && dp.auto_approves(op) {
        t.push(
            Gate::Approvals,
            Outcome::Pass,
            ReasonCode::AutoApproved,
            format!("the policy auto-approves tier B `{op}`"),
        );
        return t.end(Verdict::Allow);
    }
    let required = usize::try_from(policy.approvals_required()).unwrap_or(usize::MAX);
    let sod = !policy.proposer_may_approve(tier);
    let lifetime = policy.approval_lifetime_secs();
    let mut valid: BTreeSet<&PrincipalId> = BTreeSet::new();
    for a in input.approvals {
        if &a.payload_hash != action.payload_hash() {
            t.push(
                Gate::Approvals,
                Outcome::Note,
                ReasonCode::ApprovalHashMismatch,
                format!(
                    "approval by `{}` is for another payload and does not count",
                    a.approver
                ),
            );
        } else if a.approved_at > input.now || input.now >= a.approved_at.plus_seconds(lifetime) {
            t.push(
                Gate::Approvals,
                Outcome::Note,
                ReasonCode::ApprovalExpired,
                format!(
                    "approval by `{}` is expired (lifetime {lifetime}s) and does not count",
                    a.approver
                ),
            );
        } else if sod && &a.approver == input.proposer {
            t.push(
                Gate::Approvals,
                Outcome::Note,
                ReasonCode::ApprovalByProposer,
                format!(
                    "`{}` proposed the action and may not approve it at tier {tier}",
                    a.approver
                ),
            );
        } else {
            valid.insert(&a.approver);
        }
    }
    if valid.len() >= required {
        t.push(
            Gate::Approvals,
            Outcome::Pass,
            ReasonCode::ApprovalsSufficient,
            format!("{} of {required} required approvals", valid.len()),
        );
        t.end(Verdict::Allow)
    } else {
        t.push(
            Gate::Approvals,
            Outcome::Pending,
            ReasonCode::ApprovalsMissing,
            format!(
                "tier {tier} needs {required} approval(s) of this payload hash; {} valid",
                valid.len()
            ),
        );
        t.end(Verdict::NeedsApproval)
    }
}

/// The spend gate: `Err((code, message))` on the first cap that does not hold.
fn spend_gate(
    policy: &Policy,
    spend: &[Money],
    usage: &SpendUsage,
) -> Result<(), (ReasonCode, String)> {
    // Sum the declared amounts per unit first, so two entries cannot each pass alone.
    let mut totals: BTreeMap<Unit, Money> = BTreeMap::new();
    for m in spend {
        if m.minor_units < 0 {
            return Err((
                ReasonCode::SpendInvalid,
                format!("declared spend {m} is negative"),
            ));
        }
        let sum = match totals.get(&m.unit) {
            Some(prev) => prev.checked_add(m),
            None => Ok(m.clone()),
        }
        .map_err(|e| (ReasonCode::SpendInvalid, format!("declared spend: {e}")))?;
        totals.insert(m.unit.clone(), sum);
    }
    let caps = policy.caps();
    for (unit, amount) in totals.iter().filter(|(_, m)| !m.is_zero()) {
        if !caps.covers(unit) {
            return Err((
                ReasonCode::SpendUncapped,
                format!("the policy has no cap in {unit}, so {amount} may not be spent"),
            ));
        }
        if let Some(cap) = caps.per_action(unit)
            && amount.minor_units > cap.minor_units
        {
            return Err((
                ReasonCode::SpendPerActionExceeded,
                format!("{amount} is above the per-action cap {cap}"),
            ));
        }
        let windows = [
            (
                caps.per_day(unit),
                usage.day(unit),
                ReasonCode::SpendDailyExceeded,
                "daily",
            ),
            (
                caps.per_month(unit),
                usage.month(unit),
                ReasonCode::SpendMonthlyExceeded,
                "monthly",
            ),
        ];
        for (cap, used, code, name) in windows {
            let Some(cap) = cap else { continue };
            let total = used
                .checked_add(amount)
                .map_err(|e| (ReasonCode::SpendInvalid, format!("{name} total: {e}")))?;
            if total.minor_units > cap.minor_units {
                return Err((
                    code,
                    format!("{used} used plus {amount} is above the {name} cap {cap}"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    const POLICY: &str = r#"
project = "demo"
approvals_required = 1
approval_lifetime = "1h"

[caps]
per_action = ["20.00 USD"]
per_day = ["50.00 USD"]
per_month = ["100.00 USD"]

[domains.etsy]
operations = ["get_shop", "create_draft_listing", "update_listing", "publish_listing"]
auto_approve = ["create_draft_listing"]
raise_tier = { get_shop = "B" }

[domains.shopify]
enabled = false
operations = ["get_product"]
"#;

    fn policy() -> Policy {
        Policy::parse("demo.toml", POLICY).unwrap()
    }

    fn action(op: &str, effect: Option<Effect>, mode: Mode, spend: &[&str]) -> Action {
        action_in("etsy", op, effect, mode, spend)
    }

    fn action_in(
        domain: &str,
        op: &str,
        effect: Option<Effect>,
        mode: Mode,
        spend: &[&str],
    ) -> Action {
        let payload = Payload {
            project: "demo".parse().unwrap(),
            domain: domain.parse().unwrap(),
            operation: op.parse().unwrap(),
            params: json!({"listing_id": 1}),
            mode,
            plugin_digest: "0".repeat(64).parse().unwrap(),
        };
        Action::new(
            payload,
            effect,
            spend.iter().map(|s| Money::parse(s).unwrap()).collect(),
        )
        .unwrap()
    }

    struct Env {
        policy: Option<Policy>,
        switches: Switches,
        usage: SpendUsage,
        approvals: Vec<Approval>,
        proposer: PrincipalId,
        now: Timestamp,
    }

    impl Env {
        fn new() -> Env {
            Env {
                policy: Some(policy()),
                switches: Switches::on(["etsy".parse().unwrap()]),
                usage: SpendUsage::new(),
                approvals: vec![],
                proposer: "pat".parse().unwrap(),
                now: Timestamp(1_000_000),
            }
        }

        fn approve(&mut self, who: &str, a: &Action, ago: i64) {
            self.approvals.push(Approval {
                approver: who.parse().unwrap(),
                payload_hash: a.payload_hash().clone(),
                approved_at: Timestamp(self.now.0 - ago),
            });
        }

        fn decide(&self, a: &Action) -> Decision {
            decide(&DecisionInput {
                action: a,
                policy: self.policy.as_ref(),
                switches: &self.switches,
                usage: &self.usage,
                approvals: &self.approvals,
                proposer: &self.proposer,
                now: self.now,
            })
        }
    }

    fn last(d: &Decision) -> &'static str {
        d.reasons.last().unwrap().code.as_str()
    }

    #[test]
    fn i1_no_policy_denies() {
        let mut env = Env::new();
        env.policy = None;
        let d = env.decide(&action("get_shop", Some(Effect::Read), Mode::DryRun, &[]));
        assert_eq!((d.verdict, last(&d)), (Verdict::Deny, "policy_missing"));
    }

    #[test]
    fn i1_unknown_domain_and_operation_deny() {
        let env = Env::new();
        let d = env.decide(&action_in(
            "youtube",
            "list_my_videos",
            Some(Effect::Read),
            Mode::DryRun,
            &[],
        ));
        assert_eq!(
            (d.verdict, last(&d)),
            (Verdict::Deny, "domain_not_in_policy")
        );
        let d = env.decide(&action_in(
            "shopify",
            "get_product",
            Some(Effect::Read),
            Mode::DryRun,
            &[],
        ));
        assert_eq!((d.verdict, last(&d)), (Verdict::Deny, "domain_disabled"));
        let d = env.decide(&action("get_shop", None, Mode::DryRun, &[]));
        assert_eq!((d.verdict, last(&d)), (Verdict::Deny, "operation_unknown"));
        let d = env.decide(&action(
            "delete_listing",
            Some(Effect::Delete),
            Mode::DryRun,
            &[],
        ));
        assert_eq!(
            (d.verdict, last(&d)),
            (Verdict::Deny, "operation_not_allowed")
        );
        assert_eq!(d.tier, Some(Tier::C));
    }

    #[test]
    fn i3_dry_run_skips_live_gates() {
        let mut env = Env::new();
        env.switches = Switches::Unknown;
        let d = env.decide(&action(
            "publish_listing",
            Some(Effect::Publish),
            Mode::DryRun,
            &["999.00 USD"],
        ));
        assert_eq!(d.verdict, Verdict::Allow);
        assert!(
            d.has(ReasonCode::SwitchesSkippedDryRun)
                && d.has(ReasonCode::SpendSkippedDryRun)
                && d.has(ReasonCode::ApprovalsSkippedDryRun)
        );
        assert_eq!(d.tier, Some(Tier::C));
    }

    #[test]
    fn i2_live_needs_switches_even_for_tier_a() {
        let mut env = Env::new();
        env.policy = Some(
            Policy::parse(
                "demo.toml",
                &POLICY.replace("raise_tier = { get_shop = \"B\" }", ""),
            )
            .unwrap(),
        );
        let a = action("get_shop", Some(Effect::Read), Mode::Live, &[]);
        let d = env.decide(&a);
        assert_eq!(
            (d.verdict, last(&d), d.tier),
            (Verdict::Allow, "approval_not_needed", Some(Tier::A))
        );
        env.switches = Switches::all_off();
        assert_eq!(last(&env.decide(&a)), "global_switch_off");
        env.switches = Switches::on([]);
        assert_eq!(last(&env.decide(&a)), "domain_switch_off");
        env.switches = Switches::Unknown;
        let d = env.decide(&a);
        assert_eq!(
            (d.verdict, last(&d)),
            (Verdict::Deny, "switch_state_unknown")
        );
    }

    #[test]
    fn tier_raise_and_auto_approve() {
        let env = Env::new();
        let d = env.decide(&action("get_shop", Some(Effect::Read), Mode::Live, &[]));
        assert_eq!((d.verdict, d.tier), (Verdict::NeedsApproval, Some(Tier::B)));
        assert!(d.has(ReasonCode::TierRaised));
        let d = env.decide(&action(
            "create_draft_listing",
            Some(Effect::Draft),
            Mode::Live,
            &[],
        ));
        assert_eq!((d.verdict, last(&d)), (Verdict::Allow, "auto_approved"));
    }

    #[test]
    fn i4_approvals_bound_to_hash_and_lifetime() {
        let mut env = Env::new();
        let a = action("publish_listing", Some(Effect::Publish), Mode::Live, &[]);
        let other = action("update_listing", Some(Effect::Modify), Mode::Live, &[]);
        env.approve("alice", &other, 10);
        let d = env.decide(&a);
        assert_eq!(d.verdict, Verdict::NeedsApproval);
        assert!(d.has(ReasonCode::ApprovalHashMismatch));
        env.approvals.clear();
        env.approve("alice", &a, 3600);
        let d = env.decide(&a);
        assert_eq!(d.verdict, Verdict::NeedsApproval);
        assert!(d.has(ReasonCode::ApprovalExpired));
        env.approvals.clear();
        env.approve("alice", &a, 3599);
        assert_eq!(env.decide(&a).verdict, Verdict::Allow);
        env.approvals.clear();
        env.approve("alice", &a, -5);
        assert!(env.decide(&a).has(ReasonCode::ApprovalExpired));
    }

    #[test]
    fn separation_of_duties_and_distinct_approvers() {
        let mut env = Env::new();
        env.policy = Some(
            Policy::parse(
                "demo.toml",
                &POLICY.replace("approvals_required = 1", "approvals_required = 2"),
            )
            .unwrap(),
        );
        let a = action("publish_listing", Some(Effect::Publish), Mode::Live, &[]);
        env.approve("pat", &a, 1);
        env.approve("alice", &a, 1);
        env.approve("alice", &a, 2);
        let d = env.decide(&a);
        assert_eq!(d.verdict, Verdict::NeedsApproval);
        assert!(d.has(ReasonCode::ApprovalByProposer));
        env.approve("bob", &a, 1);
        assert_eq!(env.decide(&a).verdict, Verdict::Allow);
        // The proposer counts only where the policy says so.
        let p = POLICY.replace(
            "approvals_required = 1",
            "approvals_required = 1\nproposer_may_approve = [\"C\"]",
        );
        env.policy = Some(Policy::parse("demo.toml", &p).unwrap());
        env.approvals.clear();
        env.approve("pat", &a, 1);
        assert_eq!(env.decide(&a).verdict, Verdict::Allow);
    }

    #[test]
    fn i7_spend_caps() {
        let mut env = Env::new();
        let ok = action(
            "create_draft_listing",
            Some(Effect::Draft),
            Mode::Live,
            &["20.00 USD"],
        );
        assert_eq!(last(&env.decide(&ok)), "auto_approved");
        assert!(env.decide(&ok).has(ReasonCode::SpendWithinCaps));
        let big = action(
            "create_draft_listing",
            Some(Effect::Draft),
            Mode::Live,
            &["20.01 USD"],
        );
        assert_eq!(last(&env.decide(&big)), "spend_per_action_exceeded");
        let split = action(
            "create_draft_listing",
            Some(Effect::Draft),
            Mode::Live,
            &["15.00 USD", "15.00 USD"],
        );
        assert_eq!(last(&env.decide(&split)), "spend_per_action_exceeded");
        let eur = action(
            "create_draft_listing",
            Some(Effect::Draft),
            Mode::Live,
            &["1.00 EUR"],
        );
        assert_eq!(last(&env.decide(&eur)), "spend_uncapped");
        let zero_eur = action(
            "create_draft_listing",
            Some(Effect::Draft),
            Mode::Live,
            &["0.00 EUR"],
        );
        assert_eq!(env.decide(&zero_eur).verdict, Verdict::Allow);
        env.usage
            .add_day(&Money::parse("30.00 USD").unwrap())
            .unwrap();
        env.usage
            .add_month(&Money::parse("30.00 USD").unwrap())
            .unwrap();
        assert_eq!(env.decide(&ok).verdict, Verdict::Allow);
        env.usage
            .add_day(&Money::parse("0.01 USD").unwrap())
            .unwrap();
        assert_eq!(last(&env.decide(&ok)), "spend_daily_exceeded");
        let mut env = Env::new();
        env.usage
            .add_month(&Money::parse("80.01 USD").unwrap())
            .unwrap();
        assert_eq!(last(&env.decide(&ok)), "spend_monthly_exceeded");
        let neg = action("create_draft_listing", Some(Effect::Draft), Mode::Live, &[]);
        let neg = Action {
            spend: vec![Money::new(-1, Unit::parse("USD").unwrap())],
            ..neg
        };
        assert_eq!(last(&env.decide(&neg)), "spend_invalid");
    }

    #[test]
    fn reason_codes_are_unique_and_parse() {
        let mut seen = BTreeSet::new();
        for c in ReasonCode::ALL {
            assert!(seen.insert(c.as_str()), "{c}");
            assert_eq!(ReasonCode::parse(c.as_str()), Some(*c));
        }
        assert_eq!(
            Verdict::parse("needs_approval"),
            Some(Verdict::NeedsApproval)
        );
    }

    #[test]
    fn decision_serializes_for_explain() {
        let env = Env::new();
        let d = env.decide(&action(
            "publish_listing",
            Some(Effect::Publish),
            Mode::Live,
            &[],
        ));
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(j["verdict"], "needs_approval");
        assert_eq!(j["tier"], "C");
        assert_eq!(j["reasons"][0]["code"], "domain_allowed");
        assert_eq!(j["reasons"][0]["gate"], "domain");
        assert_eq!(j["reasons"][0]["outcome"], "pass");
    }
}
