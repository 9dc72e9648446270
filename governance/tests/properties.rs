//! Property tests of the canonical payload hash (I4) and of the decision (I2, tiers).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use autopack_governance::canonical::{Payload, canonicalize, parse_json};
use autopack_governance::{
    Action, Approval, Decision, DecisionInput, Effect, Mode, Money, Policy, PrincipalId,
    SpendUsage, Switches, Timestamp, Verdict, decide,
};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::fmt::Write as _;

// ---------- canonical JSON ----------

/// JSON values whose numbers are integers or simple decimals, with object keys that
/// include non-ASCII and escapes.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1_000_000_000i64..1_000_000_000).prop_map(Value::from),
        (-1000i32..1000, 1u32..4)
            .prop_map(|(m, e)| Value::from(f64::from(m) / 10f64.powi(e as i32) + 0.5)),
        "[a-zA-Z0-9 é€😂\"\\\\\n\t]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_é😂]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Writes `v` as JSON with object keys in reverse order and `ws` between every token.
fn write_scrambled(v: &Value, ws: &str, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(out, "{ws},{ws}").unwrap();
                }
                write_scrambled(item, ws, out);
            }
            write!(out, "{ws}]").unwrap();
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().rev().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write!(out, "{ws}{}{ws}:{ws}", serde_json::to_string(k).unwrap()).unwrap();
                write_scrambled(item, ws, out);
            }
            write!(out, "{ws}}}").unwrap();
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

fn payload(params: Value) -> Payload {
    Payload {
        project: "demo".parse().unwrap(),
        domain: "etsy".parse().unwrap(),
        operation: "update_listing".parse().unwrap(),
        params,
        mode: Mode::Live,
        plugin_digest: "ab".repeat(32).parse().unwrap(),
    }
}

/// Integer-only params: two such values are equal exactly when their canonical forms are.
fn int_params() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        "[a-z]{0,4}".prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    });
    prop::collection::btree_map("[a-d]{1,2}", value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>()))
}

proptest! {
    #[test]
    fn i4_key_order_and_whitespace_never_change_the_hash(v in json_value(), ws in "[ \t\n\r]{0,3}") {
        let mut text = String::new();
        write_scrambled(&v, &ws, &mut text);
        let reparsed = parse_json(&format!("{ws}{text}{ws}")).unwrap();
        prop_assert_eq!(canonicalize(&reparsed).unwrap(), canonicalize(&v).unwrap());
        prop_assert_eq!(payload(reparsed).hash().unwrap(), payload(v).hash().unwrap());
    }

    #[test]
    fn i4_canonical_form_is_a_fixed_point(v in json_value()) {
        let once = canonicalize(&v).unwrap();
        let twice = canonicalize(&parse_json(&once).unwrap()).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn i4_any_param_change_changes_the_hash(a in int_params(), b in int_params()) {
        prop_assume!(a != b);
        prop_assert_ne!(payload(a).hash().unwrap(), payload(b).hash().unwrap());
    }
}

// ---------- decision ----------

const OPS: [(&str, Effect); 5] = [
    ("get_shop", Effect::Read),
    ("create_draft_listing", Effect::Draft),
    ("update_listing", Effect::Modify),
    ("publish_listing", Effect::Publish),
    ("delete_listing", Effect::Delete),
];

#[derive(Debug, Clone)]
struct World {
    allowed: Vec<bool>,
    auto: Vec<bool>,
    raise: Vec<Option<char>>,
    approvals_required: u32,
    proposer_may_approve: Vec<char>,
    cap: Option<i64>,
    op: usize,
    known_op: bool,
    live: bool,
    global: bool,
    domain_on: bool,
    switches_known: bool,
    spend: Option<i64>,
    used_day: i64,
    approvers: Vec<(u8, i64, bool)>,
}

fn world() -> impl Strategy<Value = World> {
    (
        (
            prop::collection::vec(any::<bool>(), 5),
            prop::collection::vec(any::<bool>(), 5),
            prop::collection::vec(
                prop::option::of(prop::sample::select(vec!['A', 'B', 'C'])),
                5,
            ),
            1u32..4,
            prop::sample::subsequence(vec!['B', 'C'], 0..=2),
            prop::option::of(0i64..5000),
        ),
        (
            0usize..5,
            prop::bool::weighted(0.9),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.9),
        ),
        (
            prop::option::of(0i64..3000),
            0i64..3000,
            prop::collection::vec((0u8..4, 0i64..7200, prop::bool::weighted(0.8)), 0..5),
        ),
    )
        .prop_map(
            |(
                (allowed, auto, raise, approvals_required, proposer_may_approve, cap),
                (op, known_op, live, global, domain_on, switches_known),
                (spend, used_day, approvers),
            )| World {
                allowed,
                auto,
                raise,
                approvals_required,
                proposer_may_approve,
                cap,
                op,
                known_op,
                live,
                global,
                domain_on,
                switches_known,
                spend,
                used_day,
                approvers,
            },
        )
}

fn quoted(items: impl Iterator<Item = String>) -> String {
    items
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl World {
    /// The policy text; `extra_raise` adds (or strengthens) a raise of the action's operation.
    fn policy(&self, extra_raise: Option<char>) -> Policy {
        let allowed: Vec<usize> = (0..5).filter(|i| self.allowed[*i]).collect();
        let mut text = format!(
            "project = \"demo\"\napprovals_required = {}\nproposer_may_approve = [{}]\n",
            self.approvals_required,
            quoted(self.proposer_may_approve.iter().map(|c| c.to_string()))
        );
        if let Some(cap) = self.cap {
            let m = Money::new(cap, "USD".parse().unwrap());
            writeln!(text, "[caps]\nper_action = [\"{m}\"]\nper_day = [\"{m}\"]").unwrap();
        }
        writeln!(
            text,
            "[domains.etsy]\noperations = [{}]",
            quoted(allowed.iter().map(|i| OPS[*i].0.to_owned()))
        )
        .unwrap();
        let auto = allowed
            .iter()
            .filter(|i| self.auto[**i])
            .map(|i| OPS[*i].0.to_owned());
        writeln!(text, "auto_approve = [{}]", quoted(auto)).unwrap();
        let mut raises = Vec::new();
        for i in &allowed {
            let mut tier = self.raise[*i];
            if *i == self.op {
                tier = match (tier, extra_raise) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            if let Some(t) = tier {
                raises.push(format!("{} = \"{t}\"", OPS[*i].0));
            }
        }
        writeln!(text, "raise_tier = {{ {} }}", raises.join(", ")).unwrap();
        Policy::parse("demo.toml", &text).unwrap()
    }

    fn decide_with(&self, policy: &Policy, global: bool) -> Decision {
        let (name, effect) = OPS[self.op];
        let p = Payload {
            project: "demo".parse().unwrap(),
            domain: "etsy".parse().unwrap(),
            operation: name.parse().unwrap(),
            params: serde_json::json!({"listing_id": 1}),
            mode: if self.live { Mode::Live } else { Mode::DryRun },
            plugin_digest: "0".repeat(64).parse().unwrap(),
        };
        let spend = self
            .spend
            .map(|s| Money::new(s, "USD".parse().unwrap()))
            .into_iter()
            .collect();
        let action = Action::new(p, self.known_op.then_some(effect), spend).unwrap();
        let switches = if self.switches_known {
            Switches::Known {
                global,
                domains_on: if self.domain_on {
                    ["etsy".parse().unwrap()].into()
                } else {
                    Default::default()
                },
            }
        } else {
            Switches::Unknown
        };
        let mut usage = SpendUsage::new();
        usage
            .add_day(&Money::new(self.used_day, "USD".parse().unwrap()))
            .unwrap();
        let now = Timestamp(1_767_625_200);
        let approvals: Vec<Approval> = self
            .approvers
            .iter()
            .map(|(who, age, right_hash)| Approval {
                approver: format!("user{who}").parse().unwrap(),
                payload_hash: if *right_hash {
                    action.payload_hash().clone()
                } else {
                    "f".repeat(64).parse().unwrap()
                },
                approved_at: Timestamp(now.0 - age),
            })
            .collect();
        let proposer: PrincipalId = "user0".parse().unwrap();
        decide(&DecisionInput {
            action: &action,
            policy: Some(policy),
            switches: &switches,
            usage: &usage,
            approvals: &approvals,
            proposer: &proposer,
            now,
        })
    }
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Deny => 0,
        Verdict::NeedsApproval => 1,
        Verdict::Allow => 2,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn raising_a_tier_never_turns_deny_into_allow(w in world(), raise in prop::sample::select(vec!['A', 'B', 'C'])) {
        let before = w.decide_with(&w.policy(None), w.global);
        let after = w.decide_with(&w.policy(Some(raise)), w.global);
        prop_assert!(
            rank(after.verdict) <= rank(before.verdict),
            "raise to {} turned {:?} into {:?}\nbefore: {:?}\nafter: {:?}",
            raise, before.verdict, after.verdict, before.codes(), after.codes()
        );
        if before.verdict == Verdict::Deny {
            prop_assert_eq!(after.verdict, Verdict::Deny);
        }
        if let (Some(b), Some(a)) = (before.tier, after.tier) {
            prop_assert!(a >= b);
        }
    }

    #[test]
    fn i2_with_the_global_switch_off_no_live_decision_is_allow(mut w in world()) {
        w.live = true;
        let d = w.decide_with(&w.policy(None), false);
        prop_assert_ne!(d.verdict, Verdict::Allow, "{:?}", d.codes());
    }

    #[test]
    fn i2_with_switch_state_unknown_no_live_decision_is_allow(mut w in world()) {
        w.live = true;
        w.switches_known = false;
        let d = w.decide_with(&w.policy(None), true);
        prop_assert_ne!(d.verdict, Verdict::Allow, "{:?}", d.codes());
    }

    #[test]
    fn i1_an_operation_not_listed_is_denied_in_every_mode(mut w in world()) {
        w.allowed[w.op] = false;
        let d = w.decide_with(&w.policy(None), w.global);
        prop_assert_eq!(d.verdict, Verdict::Deny);
    }

    #[test]
    fn i7_live_allow_never_exceeds_a_cap(mut w in world()) {
        w.live = true;
        let d = w.decide_with(&w.policy(None), w.global);
        if d.verdict == Verdict::Allow {
            if let (Some(spend), Some(cap)) = (w.spend.filter(|s| *s > 0), w.cap) {
                prop_assert!(spend <= cap && w.used_day + spend <= cap);
            }
            if w.spend.is_some_and(|s| s > 0) {
                prop_assert!(w.cap.is_some(), "spend without a cap was allowed");
            }
        }
    }

    #[test]
    fn every_decision_ends_with_a_reason_that_explains_it(w in world()) {
        let d = w.decide_with(&w.policy(None), w.global);
        let last = d.reasons.last().unwrap();
        match d.verdict {
            Verdict::Deny => prop_assert_eq!(d.denial(), Some(last)),
            Verdict::NeedsApproval => prop_assert_eq!(last.code.as_str(), "approvals_missing"),
            Verdict::Allow => prop_assert!(d.denial().is_none()),
        }
    }
}

// ---------- parsers never panic; money round-trips ----------

proptest! {
    #[test]
    fn money_written_form_round_trips(minor in 0i64..=i64::MAX, unit in prop::sample::select(vec!["USD", "JPY", "KWD", "YT_QUOTA"])) {
        let m = Money::new(minor, unit.parse().unwrap());
        prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,200}") {
        let _ = Money::parse(&text);
        let _ = parse_json(&text);
        let _ = Policy::parse("policies/fuzz.toml", &text);
        let _ = autopack_governance::PolicyTests::parse("policies/fuzz.tests.toml", &text);
    }

    #[test]
    fn policy_parser_never_panics_on_near_valid_files(
        lines in prop::collection::vec(prop::sample::select(vec![
            "project = \"fuzz\"", "[caps]", "per_day = [\"1.00 USD\"]", "per_action = [\"1 USD\"]",
            "[domains.etsy]", "operations = [\"get_shop\"]", "auto_approve = [\"get_shop\"]",
            "raise_tier = { get_shop = \"C\" }", "[domains.etsy.limits]", "hours_utc = \"10:00-09:00\"",
            "max_notional = \"5.00 USD\"", "approvals_required = 99", "approval_lifetime = \"0m\"",
            "enabled = false", "bogus = 1", "[[case]]", "x = [", "]",
        ]), 0..12)
    ) {
        let text = lines.join("\n");
        if let Ok(p) = Policy::parse("policies/fuzz.toml", &text) {
            let _ = p.check(&common::catalog());
        }
    }
}
