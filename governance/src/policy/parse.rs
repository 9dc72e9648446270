//! Phase 1: policy text → [`Policy`], strictly.
//!
//! Two layers, as ripgrep does with its flags: serde reads the TOML into raw structs that
//! hold only strings, integers and spans (unknown keys, wrong types and missing keys are
//! caught here, with the key path from `serde_path_to_error` and the line from `toml`'s
//! span); then this module turns each raw value into its typed form, so that every error
//! names the exact key and line of the value that is wrong.

use super::error::LineIndex;
use super::limits::{HoursUtc, TradingLimits};
use super::{
    Caps, DEFAULT_APPROVAL_LIFETIME_SECS, DomainPolicy, MAX_APPROVAL_LIFETIME_SECS,
    MAX_APPROVALS_REQUIRED, MIN_APPROVAL_LIFETIME_SECS, Policy, PolicyError, PolicyErrorKind,
};
use crate::canonical::sha256_hex;
use crate::effect::Tier;
use crate::ids::{Domain, OperationName, ProjectId};
use crate::money::{Money, Unit};
use crate::timestamp::Weekday;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;

/// A source file being converted: its display name and line index.
pub(crate) struct Src<'a> {
    pub(crate) file: &'a str,
    lines: LineIndex,
}

impl<'a> Src<'a> {
    pub(crate) fn new(file: &'a str, text: &str) -> Src<'a> {
        Src {
            file,
            lines: LineIndex::new(text),
        }
    }

    pub(crate) fn line(&self, span: Range<usize>) -> usize {
        self.lines.line(span.start)
    }

    pub(crate) fn err(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        kind: PolicyErrorKind,
    ) -> PolicyError {
        PolicyError::new(self.file, Some(self.line(span)), key, kind)
    }
}

/// Text between the first pair of backticks of a serde message (the field name).
fn backticked(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg.get(start..)?.find('`')?;
    msg.get(start..start + len)
}

fn join_key(path: &str, leaf: &str) -> String {
    if path.is_empty() {
        leaf.to_owned()
    } else {
        format!("{path}.{leaf}")
    }
}

/// Deserializes TOML text into `T` with errors that name file, line and key.
pub(crate) fn from_toml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, PolicyError> {
    let src = Src::new(file, text);
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        PolicyError::new(
            file,
            e.span().map(|s| src.line(s)),
            "",
            PolicyErrorKind::Syntax(e.message().trim().to_owned()),
        )
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // Spanned values add serde-internal segments to the path; they mean nothing to a reader.
        let path = e
            .path()
            .to_string()
            .split('.')
            .filter(|seg| !seg.is_empty() && !seg.starts_with("$__serde_spanned"))
            .collect::<Vec<_>>()
            .join(".");
        let inner = e.into_inner();
        let msg = inner.message().trim().to_owned();
        let line = inner.span().map(|s| src.line(s));
        let (key, kind) = if msg.starts_with("unknown field") {
            let field = backticked(&msg).unwrap_or("?").to_owned();
            // serde_path_to_error already ends the path with the unknown field.
            let key = if path.ends_with(&field) {
                path
            } else {
                join_key(&path, &field)
            };
            (key, PolicyErrorKind::UnknownKey(field))
        } else if msg.starts_with("missing field") {
            let field = backticked(&msg).unwrap_or("?").to_owned();
            (join_key(&path, &field), PolicyErrorKind::MissingKey(field))
        } else {
            (path, PolicyErrorKind::InvalidValue(msg))
        };
        PolicyError::new(file, line, key, kind)
    })
}

/// `30s`, `30m`, `1h` → seconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let unit = match s.as_bytes().last()? {
        b's' => 1,
        b'm' => 60,
        b'h' => 3600,
        _ => return None,
    };
    let digits = s.get(..s.len() - 1)?;
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(|n| n * unit)
}

/// `policies/demo.toml` → `demo`; `None` when the name does not end with `suffix`.
pub(crate) fn stem<'a>(file: &'a str, suffix: &str) -> Option<&'a str> {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    base.strip_suffix(suffix)
}

pub(crate) fn parse_tier(s: &str) -> Option<Tier> {
    match s {
        "A" => Some(Tier::A),
        "B" => Some(Tier::B),
        "C" => Some(Tier::C),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    project: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    approvals_required: Option<Spanned<i64>>,
    #[serde(default)]
    approval_lifetime: Option<Spanned<String>>,
    #[serde(default)]
    proposer_may_approve: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    caps: Option<RawCaps>,
    #[serde(default)]
    domains: BTreeMap<String, Spanned<RawDomain>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    #[serde(default)]
    per_action: Vec<Spanned<String>>,
    #[serde(default)]
    per_day: Vec<Spanned<String>>,
    #[serde(default)]
    per_month: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    #[serde(default)]
    enabled: Option<bool>,
    operations: Vec<Spanned<String>>,
    #[serde(default)]
    auto_approve: Vec<Spanned<String>>,
    #[serde(default)]
    raise_tier: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    limits: Option<RawLimits>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default)]
    operations: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    max_notional: Option<Spanned<String>>,
    #[serde(default)]
    symbols: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    order_types: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    sides: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    hours_utc: Option<Spanned<String>>,
    #[serde(default)]
    days_utc: Option<Vec<Spanned<String>>>,
}

impl Policy {
    /// Parses a policy file (phase 1). `file` is the display name used in errors; when it
    /// ends with `.toml`, its stem must equal the `project` key.
    pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = from_toml(file, text)?;
        let src = Src::new(file, text);
        convert(&src, raw, text)
    }
}

fn convert(src: &Src<'_>, raw: RawPolicy, text: &str) -> Result<Policy, PolicyError> {
    let project = ProjectId::new(raw.project.get_ref().as_str())
        .map_err(|e| src.err(raw.project.span(), "project", PolicyErrorKind::Id(e)))?;
    if let Some(expected) = stem(src.file, ".toml")
        && expected != project.as_str()
    {
        return Err(src.err(
            raw.project.span(),
            "project",
            PolicyErrorKind::ProjectMismatch {
                expected: expected.to_owned(),
                found: project.to_string(),
            },
        ));
    }

    let approvals_required = match raw.approvals_required {
        None => 1,
        Some(n) => {
            let v = *n.get_ref();
            match u32::try_from(v) {
                Ok(v) if (1..=MAX_APPROVALS_REQUIRED).contains(&v) => v,
                _ => {
                    return Err(src.err(
                        n.span(),
                        "approvals_required",
                        PolicyErrorKind::ApprovalsRequiredRange(v),
                    ));
                }
            }
        }
    };

    let approval_lifetime_secs = match raw.approval_lifetime {
        None => DEFAULT_APPROVAL_LIFETIME_SECS,
        Some(s) => {
            let key = "approval_lifetime";
            let secs = parse_duration(s.get_ref()).ok_or_else(|| {
                src.err(
                    s.span(),
                    key,
                    PolicyErrorKind::Duration(s.get_ref().clone()),
                )
            })?;
            if !(MIN_APPROVAL_LIFETIME_SECS..=MAX_APPROVAL_LIFETIME_SECS).contains(&secs) {
                return Err(src.err(
                    s.span(),
                    key,
                    PolicyErrorKind::LifetimeRange(s.get_ref().clone()),
                ));
            }
            secs
        }
    };

    let mut proposer_may_approve = BTreeSet::new();
    for t in raw.proposer_may_approve.unwrap_or_default() {
        let key = "proposer_may_approve";
        let tier = match parse_tier(t.get_ref()) {
            Some(tier @ (Tier::B | Tier::C)) => tier,
            _ => {
                return Err(src.err(
                    t.span(),
                    key,
                    PolicyErrorKind::Tier(format!(
                        "{} (expected `B` or `C`; tier A needs no approval)",
                        t.get_ref()
                    )),
                ));
            }
        };
        if !proposer_may_approve.insert(tier) {
            return Err(src.err(
                t.span(),
                key,
                PolicyErrorKind::Duplicate(t.get_ref().clone()),
            ));
        }
    }

    let caps = match raw.caps {
        None => Caps::default(),
        Some(c) => Caps {
            per_action: money_map(src, "caps.per_action", c.per_action)?,
            per_day: money_map(src, "caps.per_day", c.per_day)?,
            per_month: money_map(src, "caps.per_month", c.per_month)?,
        },
    };

    let mut domains = BTreeMap::new();
    for (name, rd) in raw.domains {
        let span = rd.span();
        let domain = Domain::new(name.as_str()).map_err(|e| {
            src.err(
                span.clone(),
                format!("domains.{name}"),
                PolicyErrorKind::Id(e),
            )
        })?;
        let dp = convert_domain(src, &domain, src.line(span), rd.into_inner())?;
        domains.insert(domain, dp);
    }

    Ok(Policy {
        file: src.file.to_owned(),
        digest: sha256_hex(text.as_bytes()),
        project,
        description: raw.description,
        approvals_required,
        approval_lifetime_secs,
        proposer_may_approve,
        caps,
        domains,
    })
}

fn money_map(
    src: &Src<'_>,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<BTreeMap<Unit, Money>, PolicyError> {
    let mut map = BTreeMap::new();
    for item in items {
        let m = Money::parse(item.get_ref())
            .map_err(|e| src.err(item.span(), key, PolicyErrorKind::Money(e)))?;
        if map.contains_key(&m.unit) {
            return Err(src.err(
                item.span(),
                key,
                PolicyErrorKind::Duplicate(format!("{} (one cap per unit)", m.unit)),
            ));
        }
        map.insert(m.unit.clone(), m);
    }
    Ok(map)
}

/// A list of operation names, each with its line; duplicates refused.
fn op_list(
    src: &Src<'_>,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<BTreeMap<OperationName, usize>, PolicyError> {
    let mut map = BTreeMap::new();
    for item in items {
        let op = OperationName::new(item.get_ref().as_str())
            .map_err(|e| src.err(item.span(), key, PolicyErrorKind::Id(e)))?;
        if map.insert(op, src.line(item.span())).is_some() {
            return Err(src.err(
                item.span(),
                key,
                PolicyErrorKind::Duplicate(item.get_ref().clone()),
            ));
        }
    }
    Ok(map)
}

/// Operations named outside `operations` must be listed there.
fn listed(
    src: &Src<'_>,
    key: &str,
    ops: &BTreeMap<OperationName, usize>,
    allowed: &BTreeMap<OperationName, usize>,
) -> Result<(), PolicyError> {
    for (op, line) in ops {
        if !allowed.contains_key(op) {
            return Err(PolicyError::new(
                src.file,
                Some(*line),
                key,
                PolicyErrorKind::NotListed(op.to_string()),
            ));
        }
    }
    Ok(())
}

fn string_set(
    src: &Src<'_>,
    key: &str,
    items: Option<Vec<Spanned<String>>>,
) -> Result<Option<BTreeSet<String>>, PolicyError> {
    let Some(items) = items else { return Ok(None) };
    let mut set = BTreeSet::new();
    for item in items {
        let v = item.get_ref();
        if v.is_empty() || v.len() > 64 || !v.bytes().all(|c| c.is_ascii_graphic()) {
            return Err(src.err(
                item.span(),
                key,
                PolicyErrorKind::InvalidValue(format!(
                    "invalid entry `{v}`: expected 1 to 64 printable ASCII characters"
                )),
            ));
        }
        if !set.insert(v.clone()) {
            return Err(src.err(item.span(), key, PolicyErrorKind::Duplicate(v.clone())));
        }
    }
    Ok(Some(set))
}

fn convert_domain(
    src: &Src<'_>,
    domain: &Domain,
    line: usize,
    rd: RawDomain,
) -> Result<DomainPolicy, PolicyError> {
    let prefix = format!("domains.{domain}");
    let operations = op_list(src, &format!("{prefix}.operations"), rd.operations)?;

    let key = format!("{prefix}.auto_approve");
    let auto_approve = op_list(src, &key, rd.auto_approve)?;
    listed(src, &key, &auto_approve, &operations)?;

    let mut raise_tier = BTreeMap::new();
    for (op, tier) in rd.raise_tier {
        let key = format!("{prefix}.raise_tier.{op}");
        let name = OperationName::new(op.as_str())
            .map_err(|e| src.err(tier.span(), key.as_str(), PolicyErrorKind::Id(e)))?;
        let t = parse_tier(tier.get_ref()).ok_or_else(|| {
            src.err(
                tier.span(),
                key.as_str(),
                PolicyErrorKind::Tier(format!("{} (expected `A`, `B` or `C`)", tier.get_ref())),
            )
        })?;
        if !operations.contains_key(&name) {
            return Err(src.err(
                tier.span(),
                key,
                PolicyErrorKind::NotListed(name.to_string()),
            ));
        }
        raise_tier.insert(name, (t, src.line(tier.span())));
    }

    let limits = match rd.limits {
        None => None,
        Some(rl) => Some(convert_limits(
            src,
            &format!("{prefix}.limits"),
            &operations,
            rl,
        )?),
    };

    Ok(DomainPolicy {
        line,
        enabled: rd.enabled.unwrap_or(true),
        operations,
        auto_approve,
        raise_tier,
        limits,
    })
}

fn convert_limits(
    src: &Src<'_>,
    prefix: &str,
    allowed: &BTreeMap<OperationName, usize>,
    rl: RawLimits,
) -> Result<TradingLimits, PolicyError> {
    let operations = match rl.operations {
        None => None,
        Some(items) => {
            let key = format!("{prefix}.operations");
            let ops = op_list(src, &key, items)?;
            listed(src, &key, &ops, allowed)?;
            Some(ops)
        }
    };
    let max_notional = match rl.max_notional {
        None => None,
        Some(s) => {
            let key = format!("{prefix}.max_notional");
            let m = Money::parse(s.get_ref())
                .map_err(|e| src.err(s.span(), key.as_str(), PolicyErrorKind::Money(e)))?;
            if !m.unit.is_currency() {
                return Err(src.err(
                    s.span(),
                    key,
                    PolicyErrorKind::NotCurrency(m.unit.to_string()),
                ));
            }
            Some(m)
        }
    };
    let hours_utc = match rl.hours_utc {
        None => None,
        Some(s) => Some(HoursUtc::parse(s.get_ref()).ok_or_else(|| {
            src.err(
                s.span(),
                format!("{prefix}.hours_utc"),
                PolicyErrorKind::Hours(s.get_ref().clone()),
            )
        })?),
    };
    let days_utc = match rl.days_utc {
        None => None,
        Some(items) => {
            let key = format!("{prefix}.days_utc");
            let mut set = BTreeSet::new();
            for d in items {
                let day = Weekday::parse(d.get_ref()).ok_or_else(|| {
                    src.err(
                        d.span(),
                        key.as_str(),
                        PolicyErrorKind::Day(d.get_ref().clone()),
                    )
                })?;
                if !set.insert(day) {
                    return Err(src.err(
                        d.span(),
                        key.as_str(),
                        PolicyErrorKind::Duplicate(d.get_ref().clone()),
                    ));
                }
            }
            Some(set)
        }
    };
    Ok(TradingLimits {
        operations,
        max_notional,
        symbols: string_set(src, &format!("{prefix}.symbols"), rl.symbols)?,
        order_types: string_set(src, &format!("{prefix}.order_types"), rl.order_types)?,
        sides: string_set(src, &format!("{prefix}.sides"), rl.sides)?,
        hours_utc,
        days_utc,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
project = "demo"
approvals_required = 2
approval_lifetime = "30m"
proposer_may_approve = ["B"]

[caps]
per_action = ["20.00 USD", "1600 YT_QUOTA"]
per_day = ["100.00 USD"]

[domains.etsy]
operations = ["get_shop", "create_draft_listing", "publish_listing"]
auto_approve = ["create_draft_listing"]
raise_tier = { get_shop = "B" }

[domains.trading]
enabled = false
operations = ["place_order"]

[domains.trading.limits]
max_notional = "500.00 USD"
symbols = ["AAPL"]
hours_utc = "14:30-21:00"
days_utc = ["mon", "tue"]
"#;

    fn parse_err(text: &str) -> PolicyError {
        Policy::parse("policies/demo.toml", text).unwrap_err()
    }

    #[test]
    fn parses_a_full_policy() {
        let p = Policy::parse("policies/demo.toml", GOOD).unwrap();
        assert_eq!(p.project().as_str(), "demo");
        assert_eq!(p.approvals_required(), 2);
        assert_eq!(p.approval_lifetime_secs(), 1800);
        assert!(p.proposer_may_approve(Tier::B) && !p.proposer_may_approve(Tier::C));
        let usd = Unit::parse("USD").unwrap();
        assert_eq!(p.caps().per_action(&usd).unwrap().to_string(), "20.00 USD");
        assert!(p.caps().per_month(&usd).is_none());
        let etsy = p.domain(&"etsy".parse().unwrap()).unwrap();
        assert_eq!(etsy.line, 11);
        assert!(etsy.enabled() && etsy.auto_approves(&"create_draft_listing".parse().unwrap()));
        assert_eq!(
            etsy.raised_tier(&"get_shop".parse().unwrap()),
            Some(Tier::B)
        );
        let trading = p.domain(&"trading".parse().unwrap()).unwrap();
        assert!(!trading.enabled());
        assert_eq!(
            trading
                .limits()
                .unwrap()
                .max_notional()
                .unwrap()
                .to_string(),
            "500.00 USD"
        );
        assert_eq!(p.digest().len(), 64);
    }

    #[test]
    fn defaults_are_safe() {
        let p = Policy::parse("demo.toml", "project = \"demo\"\n").unwrap();
        assert_eq!(p.approvals_required(), 1);
        assert_eq!(p.approval_lifetime_secs(), 3600);
        assert!(!p.proposer_may_approve(Tier::B) && !p.proposer_may_approve(Tier::C));
        assert_eq!(p.domains().count(), 0);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e =
            parse_err("project = \"demo\"\n\n[domains.etsy]\noperations = []\nauto_aprove = []\n");
        assert_eq!(e.code(), "unknown_key");
        assert_eq!(e.file(), "policies/demo.toml");
        assert_eq!(e.line(), Some(5));
        assert_eq!(e.key(), "domains.etsy.auto_aprove");
        let e = parse_err("project = \"demo\"\nbogus = 1\n");
        assert_eq!(
            (e.code(), e.line(), e.key()),
            ("unknown_key", Some(2), "bogus")
        );
    }

    #[test]
    fn bad_money_names_line_and_key() {
        let e = parse_err("project = \"demo\"\n[caps]\nper_day = [\"100 USD\"]\n");
        assert_eq!(
            (e.code(), e.line(), e.key()),
            ("invalid_money", Some(3), "caps.per_day")
        );
        assert!(
            e.to_string()
                .contains("policies/demo.toml:3: key `caps.per_day`"),
            "{e}"
        );
        let e = parse_err("project = \"demo\"\n[caps]\nper_day = [\"1.00 USD\", \"2.00 USD\"]\n");
        assert_eq!(e.code(), "duplicate_entry");
    }

    #[test]
    fn structural_errors() {
        let cases: &[(&str, &str, Option<usize>, &str)] = &[
            (
                "project = \"other\"\n",
                "project_mismatch",
                Some(1),
                "project",
            ),
            ("", "missing_key", Some(1), "project"),
            (
                "project = \"demo\"\napprovals_required = 0\n",
                "approvals_required_range",
                Some(2),
                "approvals_required",
            ),
            (
                "project = \"demo\"\napproval_lifetime = \"25h\"\n",
                "lifetime_range",
                Some(2),
                "approval_lifetime",
            ),
            (
                "project = \"demo\"\napproval_lifetime = \"1d\"\n",
                "invalid_duration",
                Some(2),
                "approval_lifetime",
            ),
            (
                "project = \"demo\"\nproposer_may_approve = [\"A\"]\n",
                "invalid_tier",
                Some(2),
                "proposer_may_approve",
            ),
            (
                "project = \"demo\"\napprovals_required = \"two\"\n",
                "invalid_value",
                Some(2),
                "approvals_required",
            ),
            (
                "project = \"demo\"\n[domains.etsy]\noperations = [\"a\", \"a\"]\n",
                "duplicate_entry",
                Some(3),
                "domains.etsy.operations",
            ),
            (
                "project = \"demo\"\n[domains.etsy]\noperations = [\"a\"]\nauto_approve = [\"b\"]\n",
                "operation_not_listed",
                Some(4),
                "domains.etsy.auto_approve",
            ),
            (
                "project = \"demo\"\n[domains.etsy]\noperations = [\"a\"]\nraise_tier = { a = \"D\" }\n",
                "invalid_tier",
                Some(4),
                "domains.etsy.raise_tier.a",
            ),
            (
                "project = \"demo\"\n[domains.Etsy]\noperations = []\n",
                "invalid_id",
                Some(2),
                "domains.Etsy",
            ),
            (
                "project = \"demo\"\n[domains.etsy]\n",
                "missing_key",
                Some(2),
                "domains.etsy.operations",
            ),
            (
                "project = \"demo\"\n[domains.t]\noperations = []\n[domains.t.limits]\nmax_notional = \"5 YT_QUOTA\"\n",
                "max_notional_not_currency",
                Some(5),
                "domains.t.limits.max_notional",
            ),
            (
                "project = \"demo\"\n[domains.t]\noperations = []\n[domains.t.limits]\nhours_utc = \"9-17\"\n",
                "invalid_hours",
                Some(5),
                "domains.t.limits.hours_utc",
            ),
            (
                "project = \"demo\"\n[domains.t]\noperations = []\n[domains.t.limits]\ndays_utc = [\"monday\"]\n",
                "invalid_day",
                Some(5),
                "domains.t.limits.days_utc",
            ),
            (
                "project = \"demo\"\n[domains.t]\noperations = []\n[domains.t.limits]\nmax_notional = 5\n",
                "invalid_value",
                Some(5),
                "domains.t.limits.max_notional",
            ),
            (
                "project = \"demo\"\nproject = \"demo\"\n",
                "toml_syntax",
                Some(2),
                "",
            ),
            ("project = \n", "toml_syntax", Some(1), ""),
        ];
        for (text, code, line, key) in cases {
            let e = parse_err(text);
            assert_eq!(
                (e.code(), e.line(), e.key()),
                (*code, *line, *key),
                "{text}\n{e}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("24h"), Some(86400));
        for bad in ["", "h", "1", "1.5h", "-1h", "1H", "1h30m", "9999999h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
