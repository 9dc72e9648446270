//! Every policy in the repository's `policies/` parses, checks against the providers'
//! catalog, and passes its own policy tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use autopack_governance::policy::{Policy, PolicySet, PolicyTests, run_policy_tests};
use std::path::PathBuf;

fn policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn files(suffix: &str, exclude: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(policies_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(suffix) && exclude.is_none_or(|x| !n.ends_with(x)))
        .map(|n| {
            let text = std::fs::read_to_string(policies_dir().join(&n)).unwrap();
            (format!("policies/{n}"), text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn i1_every_example_policy_parses_checks_and_passes_its_tests() {
    let catalog = common::catalog();
    let mut set = PolicySet::new();
    let policies = files(".toml", Some(".tests.toml"));
    assert!(
        policies.len() >= 2,
        "expected the example policies, found {policies:?}"
    );
    for (name, text) in &policies {
        let policy = Policy::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
        set.insert(policy).unwrap();
    }
    if let Err(errors) = set.check(&catalog) {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("policy check failed:\n{}", lines.join("\n"));
    }
    let tests = files(".tests.toml", None);
    let mut total = 0;
    for (name, text) in &tests {
        let tests = PolicyTests::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
        assert!(!tests.cases().is_empty(), "{name} has no cases");
        let report = run_policy_tests(set.get(tests.project()), &tests, &catalog);
        println!("{report}");
        assert!(report.all_passed(), "{report}");
        total += report.cases.len();
    }
    // Every policy has a test file.
    for policy in set.iter() {
        let expected = format!("policies/{}.tests.toml", policy.project());
        assert!(
            tests.iter().any(|(n, _)| *n == expected),
            "{expected} is missing"
        );
    }
    assert!(total >= 20, "only {total} policy test cases");
}

#[test]
fn i1_a_project_without_policy_is_denied_by_the_runner() {
    let tests = PolicyTests::parse(
        "policies/nobody.tests.toml",
        "[[case]]\nname = \"read\"\ndomain = \"etsy\"\noperation = \"get_shop\"\nexpect = \"deny\"\nreasons = [\"policy_missing\"]\n",
    )
    .unwrap();
    let report = run_policy_tests(None, &tests, &common::catalog());
    assert!(report.all_passed(), "{report}");
}

#[test]
fn check_phase_errors_name_file_line_and_key() {
    let text = r#"project = "bad"

[domains.etsy]
operations = ["get_shop", "publish_listing", "frobnicate"]
auto_approve = ["publish_listing"]
raise_tier = { publish_listing = "B" }

[domains.myspace]
operations = ["post"]
"#;
    let policy = Policy::parse("policies/bad.toml", text).unwrap();
    let errors = policy.check(&common::catalog()).unwrap_err();
    let got: Vec<(String, Option<usize>, String)> = errors
        .iter()
        .map(|e| (e.code().to_owned(), e.line(), e.key().to_owned()))
        .collect();
    let want = [
        ("unknown_operation", Some(4), "domains.etsy.operations"),
        (
            "tier_lowered",
            Some(6),
            "domains.etsy.raise_tier.publish_listing",
        ),
        ("auto_approve_tier_c", Some(5), "domains.etsy.auto_approve"),
        ("unknown_domain", Some(8), "domains.myspace"),
    ];
    let want: Vec<(String, Option<usize>, String)> = want
        .iter()
        .map(|(c, l, k)| ((*c).to_owned(), *l, (*k).to_owned()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        errors[2].to_string(),
        "policies/bad.toml:5: key `domains.etsy.auto_approve`: operation `publish_listing` is tier C; auto_approve allows only tier A and B operations"
    );
}
