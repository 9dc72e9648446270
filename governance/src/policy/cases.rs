//! Policy tests: `policies/<project>.tests.toml`, cases of action → expected decision, and the
//! runner that evaluates them with [`decide`].
//!
//! A case describes the world the decision sees; what it leaves out takes a default chosen
//! so that a case tests the *policy*: switches all on, nothing spent yet, no approvals, the
//! proposer `proposer`, dry-run, and `now` = `2026-01-05T15:00:00Z` (a Monday).

use super::parse::{Src, from_toml, parse_duration, stem};
use super::{Catalog, Policy, PolicyError, PolicyErrorKind};
use crate::canonical::{Payload, canonicalize};
use crate::decision::{
    Action, Approval, Decision, DecisionInput, ReasonCode, SpendUsage, Switches, Verdict, decide,
};
use crate::effect::Mode;
use crate::ids::{Domain, OperationName, PluginDigest, PrincipalId, ProjectId};
use crate::money::Money;
use crate::timestamp::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use toml::Spanned;

/// `now` of a case that does not set it: 2026-01-05T15:00:00Z, a Monday.
pub const DEFAULT_NOW: Timestamp = Timestamp(1_767_625_200);

/// The plugin digest that test actions are hashed with (64 zeros).
pub const TEST_PLUGIN_DIGEST: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// One case of a policy test file.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTestCase {
    /// The case's name, unique in its file.
    pub name: String,
    /// The line of its `name` key.
    pub line: usize,
    /// The action's domain.
    pub domain: Domain,
    /// The action's operation.
    pub operation: OperationName,
    /// The action's params (default `{}`).
    pub params: Value,
    /// Dry-run (default) or live.
    pub mode: Mode,
    /// Declared spend.
    pub spend: Vec<Money>,
    /// Spend already used or reserved today.
    pub used_day: Vec<Money>,
    /// Spend already used or reserved this month.
    pub used_month: Vec<Money>,
    /// Switch state (default: global and every catalog domain on).
    pub switches: CaseSwitches,
    /// Who approved this exact payload.
    pub approvals: Vec<PrincipalId>,
    /// How long before `now` the approvals were given, in seconds (default 0).
    pub approval_age_secs: i64,
    /// Who proposed the action (default `proposer`).
    pub proposer: PrincipalId,
    /// The instant of the decision.
    pub now: Timestamp,
    /// The expected verdict.
    pub expect: Verdict,
    /// Reason codes that must appear in the decision.
    pub reasons: Vec<ReasonCode>,
}

/// The switch state a case describes (`switches = { ... }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseSwitches {
    /// No `switches` key: global and every catalog domain on.
    AllOn,
    /// `unknown = true`: the state could not be read.
    Unknown,
    /// `global` (default true) and `domains` on (default: every catalog domain).
    Known {
        /// The global switch.
        global: bool,
        /// Domains switched on; `None` means every catalog domain.
        domains: Option<BTreeSet<Domain>>,
    },
}

/// A parsed policy test file.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTests {
    file: String,
    project: ProjectId,
    cases: Vec<PolicyTestCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTests {
    #[serde(default)]
    project: Option<Spanned<String>>,
    #[serde(default, rename = "case")]
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Spanned<String>,
    domain: Spanned<String>,
    operation: Spanned<String>,
    #[serde(default)]
    params: Option<Spanned<Value>>,
    #[serde(default)]
    mode: Option<Spanned<String>>,
    #[serde(default)]
    spend: Vec<Spanned<String>>,
    #[serde(default)]
    used_day: Vec<Spanned<String>>,
    #[serde(default)]
    used_month: Vec<Spanned<String>>,
    #[serde(default)]
    switches: Option<RawSwitches>,
    #[serde(default)]
    approvals: Vec<Spanned<String>>,
    #[serde(default)]
    approval_age: Option<Spanned<String>>,
    #[serde(default)]
    proposer: Option<Spanned<String>>,
    #[serde(default)]
    now: Option<Spanned<String>>,
    expect: Spanned<String>,
    #[serde(default)]
    reasons: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwitches {
    #[serde(default)]
    unknown: bool,
    #[serde(default)]
    global: Option<bool>,
    #[serde(default)]
    domains: Option<Vec<Spanned<String>>>,
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ`.
fn parse_utc(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    Timestamp::from_utc(
        i64::from(num(0..4)?),
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )
}

fn money_list(
    src: &Src<'_>,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<Money>, PolicyError> {
    items
        .into_iter()
        .map(|m| {
            Money::parse(m.get_ref()).map_err(|e| src.err(m.span(), key, PolicyErrorKind::Money(e)))
        })
        .collect()
}

impl PolicyTests {
    /// Parses a policy test file. `file` is the display name; when it ends with `.tests.toml`
    /// its stem names the project (and must match a `project` key if there is one).
    pub fn parse(file: &str, text: &str) -> Result<PolicyTests, PolicyError> {
        let raw: RawTests = from_toml(file, text)?;
        let src = Src::new(file, text);
        let from_name = stem(file, ".tests.toml");
        let project = match (&raw.project, from_name) {
            (Some(p), expected) => {
                let id = ProjectId::new(p.get_ref().as_str())
                    .map_err(|e| src.err(p.span(), "project", PolicyErrorKind::Id(e)))?;
                if let Some(expected) = expected.filter(|e| *e != id.as_str()) {
                    return Err(src.err(
                        p.span(),
                        "project",
                        PolicyErrorKind::ProjectMismatch {
                            expected: expected.to_owned(),
                            found: id.to_string(),
                        },
                    ));
                }
                id
            }
            (None, Some(name)) => ProjectId::new(name)
                .map_err(|e| PolicyError::new(file, None, "project", PolicyErrorKind::Id(e)))?,
            (None, None) => {
                return Err(PolicyError::new(
                    file,
                    None,
                    "project",
                    PolicyErrorKind::MissingKey("project".into()),
                ));
            }
        };
        let mut names = BTreeSet::new();
        let mut cases = Vec::new();
        for (i, rc) in raw.cases.into_iter().enumerate() {
            let case = convert_case(&src, i, rc)?;
            if !names.insert(case.name.clone()) {
                return Err(PolicyError::new(
                    file,
                    Some(case.line),
                    format!("case[{i}].name"),
                    PolicyErrorKind::Duplicate(case.name),
                ));
            }
            cases.push(case);
        }
        Ok(PolicyTests {
            file: file.to_owned(),
            project,
            cases,
        })
    }

    /// The file's display name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The project whose policy the cases test.
    pub fn project(&self) -> &ProjectId {
        &self.project
    }

    /// The cases, in file order.
    pub fn cases(&self) -> &[PolicyTestCase] {
        &self.cases
    }
}

fn convert_case(src: &Src<'_>, i: usize, rc: RawCase) -> Result<PolicyTestCase, PolicyError> {
    let k = |leaf: &str| format!("case[{i}].{leaf}");
    let domain = Domain::new(rc.domain.get_ref().as_str())
        .map_err(|e| src.err(rc.domain.span(), k("domain"), PolicyErrorKind::Id(e)))?;
    let operation = OperationName::new(rc.operation.get_ref().as_str())
        .map_err(|e| src.err(rc.operation.span(), k("operation"), PolicyErrorKind::Id(e)))?;
    let params = match rc.params {
        None => Value::Object(serde_json::Map::new()),
        Some(p) => {
            let span = p.span();
            let v = p.into_inner();
            canonicalize(&v).map_err(|e| {
                src.err(
                    span,
                    k("params"),
                    PolicyErrorKind::InvalidValue(e.to_string()),
                )
            })?;
            v
        }
    };
    let mode = match rc.mode {
        None => Mode::DryRun,
        Some(m) => match m.get_ref().as_str() {
            "dry-run" => Mode::DryRun,
            "live" => Mode::Live,
            other => {
                return Err(src.err(
                    m.span(),
                    k("mode"),
                    PolicyErrorKind::InvalidValue(format!(
                        "invalid mode `{other}`: expected `dry-run` or `live`"
                    )),
                ));
            }
        },
    };
    let switches = match rc.switches {
        None => CaseSwitches::AllOn,
        Some(s) if s.unknown => CaseSwitches::Unknown,
        Some(s) => {
            let domains = match s.domains {
                None => None,
                Some(list) => Some(
                    list.into_iter()
                        .map(|d| {
                            Domain::new(d.get_ref().as_str()).map_err(|e| {
                                src.err(d.span(), k("switches.domains"), PolicyErrorKind::Id(e))
                            })
                        })
                        .collect::<Result<BTreeSet<_>, _>>()?,
                ),
            };
            CaseSwitches::Known {
                global: s.global.unwrap_or(true),
                domains,
            }
        }
    };
    let approvals = rc
        .approvals
        .into_iter()
        .map(|a| {
            PrincipalId::new(a.get_ref().as_str())
                .map_err(|e| src.err(a.span(), k("approvals"), PolicyErrorKind::Id(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let approval_age_secs = match rc.approval_age {
        None => 0,
        Some(a) => parse_duration(a.get_ref()).ok_or_else(|| {
            src.err(
                a.span(),
                k("approval_age"),
                PolicyErrorKind::Duration(a.get_ref().clone()),
            )
        })?,
    };
    let proposer = match rc.proposer {
        None => PrincipalId::new("proposer")
            .map_err(|e| src.err(rc.name.span(), k("proposer"), PolicyErrorKind::Id(e)))?,
        Some(p) => PrincipalId::new(p.get_ref().as_str())
            .map_err(|e| src.err(p.span(), k("proposer"), PolicyErrorKind::Id(e)))?,
    };
    let now = match rc.now {
        None => DEFAULT_NOW,
        Some(n) => parse_utc(n.get_ref()).ok_or_else(|| {
            src.err(
                n.span(),
                k("now"),
                PolicyErrorKind::InvalidValue(format!(
                    "invalid instant `{}`: expected `YYYY-MM-DDTHH:MM:SSZ`",
                    n.get_ref()
                )),
            )
        })?,
    };
    let expect = Verdict::parse(rc.expect.get_ref()).ok_or_else(|| {
        src.err(
            rc.expect.span(),
            k("expect"),
            PolicyErrorKind::InvalidValue(format!(
                "invalid verdict `{}`: expected `allow`, `deny` or `needs_approval`",
                rc.expect.get_ref()
            )),
        )
    })?;
    let reasons = rc
        .reasons
        .into_iter()
        .map(|r| {
            ReasonCode::parse(r.get_ref()).ok_or_else(|| {
                src.err(
                    r.span(),
                    k("reasons"),
                    PolicyErrorKind::UnknownReason(r.get_ref().clone()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PolicyTestCase {
        line: src.line(rc.name.span()),
        name: rc.name.into_inner(),
        domain,
        operation,
        params,
        mode,
        spend: money_list(src, &k("spend"), rc.spend)?,
        used_day: money_list(src, &k("used_day"), rc.used_day)?,
        used_month: money_list(src, &k("used_month"), rc.used_month)?,
        switches,
        approvals,
        approval_age_secs,
        proposer,
        now,
        expect,
        reasons,
    })
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// The line of the case's `name` key.
    pub line: usize,
    /// The expected verdict.
    pub expected: Verdict,
    /// The decision reached, unless the case could not be evaluated.
    pub decision: Option<Decision>,
    /// Expected reason codes the decision lacks.
    pub missing_reasons: Vec<ReasonCode>,
    /// Why the case could not be evaluated, if it could not.
    pub error: Option<String>,
}

impl CaseResult {
    /// Whether the decision matched the expectation.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.missing_reasons.is_empty()
            && self
                .decision
                .as_ref()
                .is_some_and(|d| d.verdict == self.expected)
    }
}

/// The outcome of a policy test file.
#[derive(Debug, Clone, PartialEq)]
pub struct TestReport {
    /// The test file's display name.
    pub file: String,
    /// One result per case, in file order.
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.cases {
            let status = if c.passed() { "ok" } else { "FAILED" };
            write!(f, "{}:{}: {} ... {status}", self.file, c.line, c.name)?;
            if !c.passed() {
                if let Some(e) = &c.error {
                    write!(f, " ({e})")?;
                }
                if let Some(d) = &c.decision {
                    let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
                    write!(
                        f,
                        " (expected {}, got {} [{}])",
                        c.expected,
                        d.verdict,
                        codes.join(", ")
                    )?;
                }
                if !c.missing_reasons.is_empty() {
                    let missing: Vec<&str> = c.missing_reasons.iter().map(|r| r.as_str()).collect();
                    write!(f, " (missing reasons: {})", missing.join(", "))?;
                }
            }
            writeln!(f)?;
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Runs every case of `tests` against `policy` (`None`: the project has no policy) with the
/// operations' effects from `catalog`.
pub fn run_policy_tests(
    policy: Option<&Policy>,
    tests: &PolicyTests,
    catalog: &Catalog,
) -> TestReport {
    let cases = tests
        .cases
        .iter()
        .map(|c| run_case(policy, tests, catalog, c))
        .collect();
    TestReport {
        file: tests.file.clone(),
        cases,
    }
}

fn run_case(
    policy: Option<&Policy>,
    tests: &PolicyTests,
    catalog: &Catalog,
    case: &PolicyTestCase,
) -> CaseResult {
    let mut result = CaseResult {
        name: case.name.clone(),
        line: case.line,
        expected: case.expect,
        decision: None,
        missing_reasons: Vec::new(),
        error: None,
    };
    match evaluate(policy, tests, catalog, case) {
        Ok(decision) => {
            result.missing_reasons = case
                .reasons
                .iter()
                .copied()
                .filter(|r| !decision.has(*r))
                .collect();
            result.decision = Some(decision);
        }
        Err(e) => result.error = Some(e),
    }
    result
}

fn evaluate(
    policy: Option<&Policy>,
    tests: &PolicyTests,
    catalog: &Catalog,
    case: &PolicyTestCase,
) -> Result<Decision, String> {
    let plugin_digest = PluginDigest::new(TEST_PLUGIN_DIGEST).map_err(|e| e.to_string())?;
    let payload = Payload {
        project: tests.project.clone(),
        domain: case.domain.clone(),
        operation: case.operation.clone(),
        params: case.params.clone(),
        mode: case.mode,
        plugin_digest,
    };
    let effect = catalog.effect(&case.domain, &case.operation);
    let action = Action::new(payload, effect, case.spend.clone()).map_err(|e| e.to_string())?;
    let switches = match &case.switches {
        CaseSwitches::AllOn => Switches::on(catalog.domains().cloned()),
        CaseSwitches::Unknown => Switches::Unknown,
        CaseSwitches::Known { global, domains } => Switches::Known {
            global: *global,
            domains_on: domains
                .clone()
                .unwrap_or_else(|| catalog.domains().cloned().collect()),
        },
    };
    let mut usage = SpendUsage::new();
    for m in &case.used_day {
        usage.add_day(m).map_err(|e| e.to_string())?;
    }
    for m in &case.used_month {
        usage.add_month(m).map_err(|e| e.to_string())?;
    }
    let approved_at = case.now.plus_seconds(-case.approval_age_secs);
    let approvals: Vec<Approval> = case
        .approvals
        .iter()
        .map(|who| Approval {
            approver: who.clone(),
            payload_hash: action.payload_hash().clone(),
            approved_at,
        })
        .collect();
    Ok(decide(&DecisionInput {
        action: &action,
        policy,
        switches: &switches,
        usage: &usage,
        approvals: &approvals,
        proposer: &case.proposer,
        now: case.now,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::effect::Effect;

    #[test]
    fn utc_instants() {
        assert_eq!(parse_utc("2026-01-05T15:00:00Z"), Some(DEFAULT_NOW));
        for bad in [
            "2026-01-05 15:00:00Z",
            "2026-01-05T15:00:00",
            "2026-13-05T15:00:00Z",
            "2026-01-05T15:00:00+01:00",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_and_runs_cases() {
        let policy = Policy::parse(
            "policies/demo.toml",
            "project = \"demo\"\n[domains.etsy]\noperations = [\"get_shop\", \"publish_listing\"]\n",
        )
        .unwrap();
        let tests = PolicyTests::parse(
            "policies/demo.tests.toml",
            r#"
[[case]]
name = "read in dry-run"
domain = "etsy"
operation = "get_shop"
expect = "allow"
reasons = ["approvals_skipped_dry_run"]

[[case]]
name = "publish needs approval"
domain = "etsy"
operation = "publish_listing"
mode = "live"
params = { listing_id = 7, tags = ["a"] }
expect = "needs_approval"

[[case]]
name = "publish with an approval"
domain = "etsy"
operation = "publish_listing"
mode = "live"
approvals = ["alice"]
expect = "allow"

[[case]]
name = "global switch off"
domain = "etsy"
operation = "publish_listing"
mode = "live"
switches = { global = false }
expect = "deny"
reasons = ["global_switch_off"]

[[case]]
name = "wrong on purpose"
domain = "etsy"
operation = "publish_listing"
expect = "deny"
"#,
        )
        .unwrap();
        assert_eq!(tests.project().as_str(), "demo");
        let catalog = Catalog::from_entries([
            ("etsy", "get_shop", Effect::Read),
            ("etsy", "publish_listing", Effect::Publish),
        ])
        .unwrap();
        let report = run_policy_tests(Some(&policy), &tests, &catalog);
        assert_eq!((report.passed(), report.failed()), (4, 1), "{report}");
        assert!(!report.cases[4].passed());
        assert!(
            report.to_string().contains(
                "policies/demo.tests.toml:35: wrong on purpose ... FAILED (expected deny, got allow"
            ),
            "{report}"
        );
    }

    #[test]
    fn test_file_errors() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "[[case]]\nname = \"x\"\ndomain = \"etsy\"\noperation = \"a\"\nexpect = \"maybe\"\n",
                "invalid_value",
                "case[0].expect",
            ),
            (
                "[[case]]\nname = \"x\"\ndomain = \"etsy\"\noperation = \"a\"\nexpect = \"deny\"\nreasons = [\"nope\"]\n",
                "unknown_reason_code",
                "case[0].reasons",
            ),
            (
                "[[case]]\nname = \"x\"\ndomain = \"etsy\"\noperation = \"a\"\nexpect = \"deny\"\nextra = 1\n",
                "unknown_key",
                "case[0].extra",
            ),
            (
                "[[case]]\nname = \"x\"\ndomain = \"etsy\"\noperation = \"a\"\nexpect = \"deny\"\nspend = [\"1 USD\"]\n",
                "invalid_money",
                "case[0].spend",
            ),
            ("project = \"other\"\n", "project_mismatch", "project"),
        ];
        for (text, code, key) in cases {
            let e = PolicyTests::parse("policies/demo.tests.toml", text).unwrap_err();
            assert_eq!((e.code(), e.key()), (*code, *key), "{e}");
        }
    }
}
