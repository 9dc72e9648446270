//! The decision benchmark's policy cannot rot: `benches/policy13.toml` parses and checks
//! against the providers' catalog, decides as the benchmark expects, and its Cedar
//! translation `benches/policy13.cedar` reaches the same verdict on every benchmark request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

#[path = "../benches/policy13/mod.rs"]
mod policy13;

use autopack_governance::{Catalog, Policy, ReasonCode, Tier, Verdict};
use policy13::{Bench, CATALOG, POLICY_TOML};

#[test]
fn bench_policy13_parses_and_checks_against_the_providers_catalog() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/policy13.toml"),
    )
    .unwrap();
    assert_eq!(text, POLICY_TOML);
    let policy = Policy::parse("benches/policy13.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    policy
        .check(&common::catalog())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(policy.approvals_required(), 2);
    assert_eq!(policy.domains().count(), 3);
    // The bench's catalog is the providers' catalog the other tests use.
    assert_eq!(
        Catalog::from_entries(CATALOG.iter().copied()).unwrap(),
        common::catalog()
    );
}

#[test]
fn bench_policy13_both_engines_reach_the_expected_verdicts() {
    let bench = Bench::load().unwrap_or_else(|e| panic!("{e}"));
    assert!(bench.prepared.len() >= 15);
    for verdict in [Verdict::Allow, Verdict::Deny, Verdict::NeedsApproval] {
        assert!(bench.prepared.iter().any(|p| p.scenario.expect == verdict));
    }
    bench.verify().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn bench_policy13_a_few_decisions_in_detail() {
    let bench = Bench::load().unwrap();
    let find = |name: &str| {
        bench
            .prepared
            .iter()
            .position(|p| p.scenario.name == name)
            .unwrap_or_else(|| panic!("no scenario {name}"))
    };
    let d = bench.ours(find("allow: live limit order, 2 approvals"));
    assert_eq!((d.verdict, d.tier), (Verdict::Allow, Some(Tier::C)));
    assert!(d.has(ReasonCode::LimitsOk) && d.has(ReasonCode::SpendWithinCaps));

    let d = bench.ours(find("needs approval: raised tier, 1 approval"));
    assert_eq!(d.tier, Some(Tier::B));
    assert!(d.has(ReasonCode::TierRaised));

    let d = bench.ours(find("needs approval: tier B, own/expired/other approvals"));
    for code in [
        ReasonCode::ApprovalByProposer,
        ReasonCode::ApprovalExpired,
        ReasonCode::ApprovalHashMismatch,
    ] {
        assert!(d.has(code), "{code}");
    }

    let i = find("deny: notional");
    assert_eq!(
        bench.ours(i).denial().map(|r| r.code),
        Some(ReasonCode::LimitNotionalExceeded)
    );
    let r = bench.cedar(i);
    assert_eq!(bench.cedar_verdict(&r), Verdict::Deny);
    assert_eq!(bench.cedar_rules(&r), ["R10", "R4"]);
}
