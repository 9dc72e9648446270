//! The 13-rule policy of the decision benchmark in both engines, and the requests both
//! decide.
//!
//! Shared by `benches/decision.rs` (which times the two engines) and
//! `tests/bench_policy13.rs` (which runs [`Bench::verify`] in `cargo test`, so that neither
//! policy file can drift from the other or from the decision's behavior).
//!
//! Every scenario is one request, prepared in both shapes from the same inputs before any
//! timing: a [`DecisionInput`] for our `decide`, and a Cedar [`Request`] whose context carries
//! what Cedar cannot compute itself (the count of valid approvals, the weekday). See
//! `policy13.cedar` for the request shape and the rule mapping.
#![allow(dead_code)]

use autopack_governance::{
    Action, Approval, Catalog, Decision, DecisionInput, Effect, Mode, Money, Payload, PayloadHash,
    Policy, PrincipalId, ReasonCode, SpendUsage, Switches, Tier, Timestamp, Unit, Verdict, decide,
};
use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityUid, PolicySet, Request, Response,
    RestrictedExpression,
};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

/// The policy in our format.
pub const POLICY_TOML: &str = include_str!("../policy13.toml");
/// The same policy in Cedar.
pub const POLICY_CEDAR: &str = include_str!("../policy13.cedar");

/// The first-party providers' operations and effects (as their plugins describe them): our
/// catalog, and the tier groups of the Cedar action entities.
pub const CATALOG: &[(&str, &str, Effect)] = &[
    ("etsy", "get_shop", Effect::Read),
    ("etsy", "list_listings", Effect::Read),
    ("etsy", "create_draft_listing", Effect::Draft),
    ("etsy", "update_listing", Effect::Modify),
    ("etsy", "publish_listing", Effect::Publish),
    ("etsy", "delete_listing", Effect::Delete),
    ("shopify", "get_product", Effect::Read),
    ("shopify", "create_draft_product", Effect::Draft),
    ("shopify", "publish_product", Effect::Publish),
    ("shopify", "update_price", Effect::Modify),
    ("shopify", "adjust_inventory", Effect::Modify),
    ("shopify", "delete_product", Effect::Delete),
    ("youtube", "list_my_videos", Effect::Read),
    ("youtube", "upload_video", Effect::Draft),
    ("youtube", "set_privacy", Effect::Publish),
    ("youtube", "update_metadata", Effect::Modify),
    ("youtube", "delete_video", Effect::Delete),
    ("trading", "get_account", Effect::Read),
    ("trading", "list_positions", Effect::Read),
    ("trading", "place_order", Effect::Trade),
    ("trading", "cancel_order", Effect::Draft),
    ("trading", "close_position", Effect::Trade),
];

/// Who proposes every scenario's action.
pub const PROPOSER: &str = "pat";

/// One approval of a scenario.
#[derive(Debug, Clone, Copy)]
pub struct Appr {
    /// The approver.
    pub by: &'static str,
    /// Seconds before `now`.
    pub age: i64,
    /// Whether it carries this action's payload hash (false: another payload's).
    pub this_payload: bool,
}

/// A valid approval by `by`, one minute old.
pub const fn ok(by: &'static str) -> Appr {
    Appr {
        by,
        age: 60,
        this_payload: true,
    }
}

/// One representative request and what both engines must answer.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// What it shows.
    pub name: &'static str,
    /// The provider domain.
    pub domain: &'static str,
    /// The operation.
    pub operation: &'static str,
    /// Live (true) or dry-run.
    pub live: bool,
    /// Normalized params.
    pub params: Value,
    /// Declared spend.
    pub spend: Vec<&'static str>,
    /// Used or reserved today (USD).
    pub used_day: &'static str,
    /// Used or reserved this month (USD).
    pub used_month: &'static str,
    /// Approvals recorded for it.
    pub approvals: Vec<Appr>,
    /// Whether the domain's switch is on (the global switch is always on).
    pub domain_switch: bool,
    /// `now`: UTC year, month, day, hour, minute.
    pub at: (i64, u32, u32, u32, u32),
    /// The verdict both must reach.
    pub expect: Verdict,
    /// Our decision's last reason code.
    pub our_reason: ReasonCode,
    /// The `@rule`s of the Cedar policies that determine Cedar's answer (exactly).
    pub cedar_rules: Vec<&'static str>,
}

/// Monday 2026-01-05 15:00 UTC: inside the trading window.
const MONDAY: (i64, u32, u32, u32, u32) = (2026, 1, 5, 15, 0);

impl Scenario {
    fn new(
        name: &'static str,
        domain: &'static str,
        operation: &'static str,
        expect: Verdict,
        our_reason: ReasonCode,
        cedar_rules: &[&'static str],
    ) -> Scenario {
        Scenario {
            name,
            domain,
            operation,
            live: false,
            params: json!({}),
            spend: vec![],
            used_day: "0.00 USD",
            used_month: "0.00 USD",
            approvals: vec![],
            domain_switch: true,
            at: MONDAY,
            expect,
            our_reason,
            cedar_rules: cedar_rules.to_vec(),
        }
    }

    fn live(mut self) -> Scenario {
        self.live = true;
        self
    }

    fn params(mut self, params: Value) -> Scenario {
        self.params = params;
        self
    }

    fn spend(mut self, spend: &[&'static str]) -> Scenario {
        self.spend = spend.to_vec();
        self
    }

    fn used(mut self, day: &'static str, month: &'static str) -> Scenario {
        self.used_day = day;
        self.used_month = month;
        self
    }

    fn approvals(mut self, approvals: &[Appr]) -> Scenario {
        self.approvals = approvals.to_vec();
        self
    }
}

/// A limit order for `symbol` with `notional` USD.
fn order(symbol: &str, kind: &str, notional: &str) -> Value {
    json!({"symbol": symbol, "side": "buy", "type": kind, "notional": notional})
}

/// The representative requests: allows, denies at every gate, needs-approval.
pub fn scenarios() -> Vec<Scenario> {
    use ReasonCode as C;
    use Verdict::{Allow, Deny, NeedsApproval};
    let aapl = order("AAPL", "limit", "2500.00");
    vec![
        Scenario::new(
            "allow: dry-run publish",
            "etsy",
            "publish_listing",
            Allow,
            C::ApprovalsSkippedDryRun,
            &["R1"],
        )
        .params(json!({"listing_id": 1234567})),
        Scenario::new(
            "allow: live read, tier A",
            "etsy",
            "get_shop",
            Allow,
            C::ApprovalNotNeeded,
            &["R1"],
        )
        .live(),
        Scenario::new(
            "allow: live draft, auto-approved, with spend",
            "etsy",
            "create_draft_listing",
            Allow,
            C::AutoApproved,
            &["R1"],
        )
        .live()
        .params(json!({"title": "Mug", "price": "12.00"}))
        .spend(&["0.20 USD"])
        .used("100.00 USD", "900.00 USD"),
        Scenario::new(
            "allow: live limit order, 2 approvals",
            "trading",
            "place_order",
            Allow,
            C::ApprovalsSufficient,
            &["R3"],
        )
        .live()
        .params(aapl.clone())
        .spend(&["2500.00 USD"])
        .used("1000.00 USD", "9000.00 USD")
        .approvals(&[ok("alice"), ok("bob")]),
        Scenario::new(
            "allow: raised tier, 2 approvals",
            "trading",
            "get_account",
            Allow,
            C::ApprovalsSufficient,
            &["R3"],
        )
        .live()
        .approvals(&[ok("alice"), ok("bob")]),
        Scenario::new(
            "needs approval: live publish",
            "etsy",
            "publish_listing",
            NeedsApproval,
            C::ApprovalsMissing,
            &["R13"],
        )
        .live()
        .params(json!({"listing_id": 1234567})),
        Scenario::new(
            "needs approval: raised tier, 1 approval",
            "trading",
            "get_account",
            NeedsApproval,
            C::ApprovalsMissing,
            &["R8"],
        )
        .live()
        .approvals(&[ok("alice")]),
        Scenario::new(
            "needs approval: tier B, own/expired/other approvals",
            "trading",
            "cancel_order",
            NeedsApproval,
            C::ApprovalsMissing,
            &["R9"],
        )
        .live()
        .params(json!({"order_id": "61e69015"}))
        .approvals(&[
            ok(PROPOSER),
            Appr {
                by: "alice",
                age: 3600,
                this_payload: true,
            },
            Appr {
                by: "bob",
                age: 60,
                this_payload: false,
            },
        ]),
        Scenario::new(
            "needs approval: order, same approver twice",
            "trading",
            "place_order",
            NeedsApproval,
            C::ApprovalsMissing,
            &["R13"],
        )
        .live()
        .params(aapl.clone())
        .spend(&["2500.00 USD"])
        .approvals(&[ok("alice"), ok("alice")]),
        Scenario::new(
            "deny: domain not in policy",
            "youtube",
            "list_my_videos",
            Deny,
            C::DomainNotInPolicy,
            &[],
        ),
        Scenario::new(
            "deny: operation not allowed (live)",
            "etsy",
            "delete_listing",
            Deny,
            C::OperationNotAllowed,
            &[],
        )
        .live()
        .params(json!({"listing_id": 1234567})),
        Scenario::new(
            "deny: symbol",
            "trading",
            "place_order",
            Deny,
            C::LimitSymbolNotAllowed,
            &["R5"],
        )
        .params(order("TSLA", "limit", "100.00")),
        Scenario::new(
            "deny: notional",
            "trading",
            "place_order",
            Deny,
            C::LimitNotionalExceeded,
            &["R4", "R10"],
        )
        .live()
        .params(order("SPY", "limit", "6000.00"))
        .spend(&["6000.00 USD"])
        .approvals(&[ok("alice"), ok("bob")]),
        Scenario::new(
            "deny: order type",
            "trading",
            "place_order",
            Deny,
            C::LimitOrderTypeNotAllowed,
            &["R6"],
        )
        .params(order("MSFT", "market", "100.00")),
        Scenario {
            at: (2026, 1, 10, 15, 0),
            ..Scenario::new(
                "deny: market hours (Saturday)",
                "trading",
                "place_order",
                Deny,
                C::LimitOutsideHours,
                &["R7"],
            )
            .params(aapl.clone())
        },
        Scenario {
            domain_switch: false,
            ..Scenario::new(
                "deny: domain switch off",
                "etsy",
                "publish_listing",
                Deny,
                C::DomainSwitchOff,
                &["H"],
            )
            .live()
            .params(json!({"listing_id": 1234567}))
            .approvals(&[ok("alice"), ok("bob")])
        },
        Scenario::new(
            "deny: per-action cap",
            "etsy",
            "create_draft_listing",
            Deny,
            C::SpendPerActionExceeded,
            &["R10"],
        )
        .live()
        .spend(&["5000.01 USD"]),
        Scenario::new(
            "deny: daily cap",
            "trading",
            "place_order",
            Deny,
            C::SpendDailyExceeded,
            &["R11"],
        )
        .live()
        .params(aapl)
        .spend(&["2500.00 USD"])
        .used("18000.00 USD", "18000.00 USD")
        .approvals(&[ok("alice"), ok("bob")]),
        Scenario::new(
            "deny: monthly cap",
            "etsy",
            "create_draft_listing",
            Deny,
            C::SpendMonthlyExceeded,
            &["R12"],
        )
        .live()
        .spend(&["1.00 USD"])
        .used("0.00 USD", "100000.00 USD"),
    ]
}

/// One scenario in both shapes.
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    action: Action,
    switches: Switches,
    usage: SpendUsage,
    approvals: Vec<Approval>,
    proposer: PrincipalId,
    now: Timestamp,
    /// The Cedar request.
    pub request: Request,
}

impl Prepared {
    /// Our decision's input.
    pub fn input<'a>(&'a self, policy: &'a Policy) -> DecisionInput<'a> {
        DecisionInput {
            action: &self.action,
            policy: Some(policy),
            switches: &self.switches,
            usage: &self.usage,
            approvals: &self.approvals,
            proposer: &self.proposer,
            now: self.now,
        }
    }
}

/// Both engines, loaded, and the prepared scenarios.
pub struct Bench {
    /// Our policy.
    pub policy: Policy,
    /// Cedar's policies.
    pub cedar_policies: PolicySet,
    /// Cedar's entities (principal, domains, actions with their tier groups).
    pub entities: Entities,
    /// Cedar's authorizer.
    pub authorizer: Authorizer,
    /// Every scenario, prepared.
    pub prepared: Vec<Prepared>,
}

type BoxError = Box<dyn std::error::Error>;

fn uid(s: &str) -> Result<EntityUid, BoxError> {
    Ok(EntityUid::from_str(s)?)
}

fn cedar_action(domain: &str, operation: &str) -> Result<EntityUid, BoxError> {
    uid(&format!("Action::\"{domain}/{operation}\""))
}

fn domain_uid(domain: &str) -> Result<EntityUid, BoxError> {
    uid(&format!("Domain::\"{domain}\""))
}

fn tier_group(tier: Tier) -> Result<EntityUid, BoxError> {
    uid(match tier {
        Tier::A => "Action::\"tier_a\"",
        Tier::B => "Action::\"tier_b\"",
        Tier::C => "Action::\"tier_c\"",
    })
}

fn usd(s: &str) -> Result<i64, BoxError> {
    let m = Money::parse(s)?;
    if m.unit != Unit::parse("USD")? {
        return Err(format!("the Cedar model has USD caps only, not {s}").into());
    }
    Ok(m.minor_units)
}

impl Bench {
    /// Parses both policies and prepares every scenario.
    pub fn load() -> Result<Bench, BoxError> {
        let policy = Policy::parse("benches/policy13.toml", POLICY_TOML)?;
        let catalog = Catalog::from_entries(CATALOG.iter().copied())?;
        policy.check(&catalog).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let cedar_policies = PolicySet::from_str(POLICY_CEDAR)?;
        let mut entities = vec![Entity::new_no_attrs(
            uid("Project::\"policy13\"")?,
            HashSet::new(),
        )];
        let domains: BTreeSet<&str> = CATALOG.iter().map(|(d, _, _)| *d).collect();
        for d in &domains {
            entities.push(Entity::new_no_attrs(domain_uid(d)?, HashSet::new()));
        }
        for tier in [Tier::A, Tier::B, Tier::C] {
            entities.push(Entity::new_no_attrs(tier_group(tier)?, HashSet::new()));
        }
        for (d, o, effect) in CATALOG {
            let parents = HashSet::from([tier_group(effect.base_tier())?]);
            entities.push(Entity::new_no_attrs(cedar_action(d, o)?, parents));
        }
        let entities = Entities::from_entities(entities, None)?;
        let prepared = scenarios()
            .into_iter()
            .map(|s| prepare(s, &policy, &catalog, &domains))
            .collect::<Result<_, _>>()?;
        Ok(Bench {
            policy,
            cedar_policies,
            entities,
            authorizer: Authorizer::new(),
            prepared,
        })
    }

    /// Our decision for scenario `i`.
    pub fn ours(&self, i: usize) -> Decision {
        decide(&self.prepared[i].input(&self.policy))
    }

    /// Cedar's answer for scenario `i`.
    pub fn cedar(&self, i: usize) -> Response {
        self.authorizer.is_authorized(
            &self.prepared[i].request,
            &self.cedar_policies,
            &self.entities,
        )
    }

    /// The verdict class of a Cedar answer: allow; deny whose every determining policy is
    /// marked `@verdict("needs_approval")` is needs-approval; any other deny is deny.
    pub fn cedar_verdict(&self, r: &Response) -> Verdict {
        if r.decision() == cedar_policy::Decision::Allow {
            return Verdict::Allow;
        }
        let mut any = false;
        for id in r.diagnostics().reason() {
            any = true;
            if self.cedar_policies.annotation(id, "verdict") != Some("needs_approval") {
                return Verdict::Deny;
            }
        }
        if any {
            Verdict::NeedsApproval
        } else {
            Verdict::Deny
        }
    }

    /// The `@rule`s of the policies that determined a Cedar answer, sorted.
    pub fn cedar_rules(&self, r: &Response) -> Vec<String> {
        let mut rules: Vec<String> = r
            .diagnostics()
            .reason()
            .map(|id| {
                self.cedar_policies
                    .annotation(id, "rule")
                    .unwrap_or("?")
                    .to_owned()
            })
            .collect();
        rules.sort();
        rules
    }

    /// Checks that both engines reach each scenario's expected verdict, ours with the
    /// expected last reason and Cedar with exactly the expected rules and no errors.
    /// Returns every mismatch.
    pub fn verify(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (i, p) in self.prepared.iter().enumerate() {
            let s = &p.scenario;
            let d = self.ours(i);
            let last = d.reasons.last().map(|r| r.code);
            if d.verdict != s.expect || last != Some(s.our_reason) {
                problems.push(format!(
                    "{}: ours {} {:?}, expected {} {}",
                    s.name,
                    d.verdict,
                    d.codes(),
                    s.expect,
                    s.our_reason
                ));
            }
            let r = self.cedar(i);
            let errors: Vec<String> = r.diagnostics().errors().map(ToString::to_string).collect();
            let verdict = self.cedar_verdict(&r);
            let rules = self.cedar_rules(&r);
            let mut want: Vec<String> = s.cedar_rules.iter().map(|r| (*r).to_owned()).collect();
            want.sort();
            if !errors.is_empty() || verdict != s.expect || rules != want {
                problems.push(format!(
                    "{}: Cedar {verdict} {rules:?} errors {errors:?}, expected {} {want:?}",
                    s.name, s.expect
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

fn prepare(
    scenario: Scenario,
    policy: &Policy,
    catalog: &Catalog,
    domains: &BTreeSet<&str>,
) -> Result<Prepared, BoxError> {
    let s = &scenario;
    let (y, mo, d, h, mi) = s.at;
    let now = Timestamp::from_utc(y, mo, d, h, mi, 0).ok_or("bad scenario time")?;
    let mode = if s.live { Mode::Live } else { Mode::DryRun };
    let payload = Payload {
        project: policy.project().clone(),
        domain: s.domain.parse()?,
        operation: s.operation.parse()?,
        params: s.params.clone(),
        mode,
        plugin_digest: "0".repeat(64).parse()?,
    };
    let effect = catalog.effect(&payload.domain, &payload.operation);
    let tier = effect.map(|e| policy.tier(&payload.domain, &payload.operation, e));
    let spend: Vec<Money> = s
        .spend
        .iter()
        .map(|m| Money::parse(m))
        .collect::<Result<_, _>>()?;
    let action = Action::new(payload, effect, spend)?;

    let on = domains
        .iter()
        .filter(|d| s.domain_switch || **d != s.domain)
        .map(|d| d.parse())
        .collect::<Result<Vec<_>, _>>()?;
    let switches = Switches::on(on);
    let mut usage = SpendUsage::new();
    usage.add_day(&Money::parse(s.used_day)?)?;
    usage.add_month(&Money::parse(s.used_month)?)?;
    let other: PayloadHash = "f".repeat(64).parse()?;
    let approvals: Vec<Approval> = s
        .approvals
        .iter()
        .map(|a| {
            Ok(Approval {
                approver: a.by.parse()?,
                payload_hash: if a.this_payload {
                    action.payload_hash().clone()
                } else {
                    other.clone()
                },
                approved_at: Timestamp(now.0 - a.age),
            })
        })
        .collect::<Result<_, BoxError>>()?;
    let proposer: PrincipalId = PROPOSER.parse()?;

    // Cedar's context, from the same inputs. What Cedar cannot compute is computed here:
    // the distinct valid approvers (this hash, not expired, not the proposer unless the
    // policy lets the proposer approve at this tier) and the weekday.
    let lifetime = policy.approval_lifetime_secs();
    let sod = tier.is_none_or(|t| !policy.proposer_may_approve(t));
    let valid: BTreeSet<&PrincipalId> = approvals
        .iter()
        .filter(|a| &a.payload_hash == action.payload_hash())
        .filter(|a| a.approved_at <= now && now < a.approved_at.plus_seconds(lifetime))
        .filter(|a| !(sod && a.approver == proposer))
        .map(|a| &a.approver)
        .collect();
    let spend_usd = action
        .spend()
        .iter()
        .map(|m| usd(&m.to_string()))
        .sum::<Result<i64, _>>()?;
    let mut order = Vec::new();
    for key in ["symbol", "type"] {
        if let Some(v) = s.params.get(key).and_then(Value::as_str) {
            order.push((key.to_owned(), RestrictedExpression::new_string(v.into())));
        }
    }
    if let Some(v) = s.params.get("notional").and_then(Value::as_str) {
        order.push(("notional".into(), RestrictedExpression::new_decimal(v)));
    }
    let domains_on = domains
        .iter()
        .filter(|d| s.domain_switch || **d != s.domain)
        .map(|d| domain_uid(d).map(RestrictedExpression::new_entity_uid))
        .collect::<Result<Vec<_>, _>>()?;
    let context = Context::from_pairs([
        ("live".into(), RestrictedExpression::new_bool(s.live)),
        ("global_switch".into(), RestrictedExpression::new_bool(true)),
        (
            "domains_on".into(),
            RestrictedExpression::new_set(domains_on),
        ),
        ("spend".into(), RestrictedExpression::new_long(spend_usd)),
        (
            "used_day".into(),
            RestrictedExpression::new_long(usd(s.used_day)?),
        ),
        (
            "used_month".into(),
            RestrictedExpression::new_long(usd(s.used_month)?),
        ),
        (
            "valid_approvals".into(),
            RestrictedExpression::new_long(i64::try_from(valid.len())?),
        ),
        (
            "now".into(),
            RestrictedExpression::new_datetime(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00Z")),
        ),
        (
            "weekday".into(),
            RestrictedExpression::new_string(now.weekday().to_string()),
        ),
        ("order".into(), RestrictedExpression::new_record(order)?),
    ])?;
    let request = Request::new(
        uid("Project::\"policy13\"")?,
        cedar_action(s.domain, s.operation)?,
        domain_uid(s.domain)?,
        context,
        None,
    )?;
    Ok(Prepared {
        scenario,
        action,
        switches,
        usage,
        approvals,
        proposer,
        now,
        request,
    })
}
