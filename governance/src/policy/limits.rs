//! Provider-specific limits: today the trading limits (notional, symbols, order types, sides,
//! hours), read from an action's normalized params.
//!
//! The params read are the trading provider's order fields: `symbol`, `side`, `type`, `qty`,
//! `notional` and `limit_price`. Quantities and prices are decimals, written as JSON strings
//! (`"1.5"`, as Alpaca does) or plain JSON numbers without an exponent; they are computed
//! exactly in integers, never as floats. Every limit fails closed: a limit that cannot be
//! evaluated (missing field, unreadable number, overflow) denies.
//!
//! Hours are UTC only (`14:30-21:00`), so the crate needs no time-zone database; a window
//! whose start is after its end wraps past midnight. Market hours that move with daylight
//! saving time need the policy updated twice a year, or a wider window.

use crate::decision::ReasonCode;
use crate::effect::Effect;
use crate::ids::OperationName;
use crate::money::Money;
use crate::timestamp::{Timestamp, Weekday};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A daily window in UTC, minutes since midnight, `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursUtc {
    start: u32,
    end: u32,
}

impl HoursUtc {
    /// Parses `HH:MM-HH:MM` (`24:00` allowed as an end); start and end must differ.
    pub fn parse(s: &str) -> Option<HoursUtc> {
        let (a, b) = s.split_once('-')?;
        let start = parse_hhmm(a)?;
        let end = parse_hhmm(b)?;
        (start != end && start < 1440).then_some(HoursUtc { start, end })
    }

    /// Whether the minute of day `m` falls in the window.
    pub fn contains(self, m: u32) -> bool {
        if self.start < self.end {
            self.start <= m && m < self.end
        } else {
            m >= self.start || m < self.end
        }
    }
}

impl std::fmt::Display for HoursUtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Trading limits of one domain (`[domains.<d>.limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TradingLimits {
    pub(crate) operations: Option<BTreeMap<OperationName, usize>>,
    pub(crate) max_notional: Option<Money>,
    pub(crate) symbols: Option<BTreeSet<String>>,
    pub(crate) order_types: Option<BTreeSet<String>>,
    pub(crate) sides: Option<BTreeSet<String>>,
    pub(crate) hours_utc: Option<HoursUtc>,
    pub(crate) days_utc: Option<BTreeSet<Weekday>>,
}

/// A limit that refused an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitViolation {
    /// Which limit.
    pub code: ReasonCode,
    /// What a person reads.
    pub message: String,
}

fn violation(code: ReasonCode, message: String) -> LimitViolation {
    LimitViolation { code, message }
}

/// An exact non-negative decimal: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// Reads `"12.5"` or `12.5`: digits, optionally a point and more digits; no sign or exponent.
fn decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text.as_str(), ""),
    };
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || int.len() > 20 || frac.len() > 18 || !digits(int) || !digits(frac) {
        return None;
    }
    let mut mantissa: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(c - b'0'))?;
    }
    Some(Decimal {
        mantissa,
        scale: u32::try_from(frac.len()).ok()?,
    })
}

/// `a <= b_minor / 10^exp`, exactly; `None` on overflow.
fn at_most(a: Decimal, b_minor: i64, exp: u8) -> Option<bool> {
    let left = a
        .mantissa
        .checked_mul(10i128.checked_pow(u32::from(exp))?)?;
    let right = i128::from(b_minor).checked_mul(10i128.checked_pow(a.scale)?)?;
    Some(left <= right)
}

fn string_param<'a>(params: &'a Value, key: &str) -> Option<&'a str> {
    params.get(key).and_then(Value::as_str)
}

impl TradingLimits {
    /// Whether these limits apply to `operation` with `effect`: the listed operations, or by
    /// default every operation whose effect is `trade`.
    pub fn applies_to(&self, operation: &OperationName, effect: Effect) -> bool {
        match &self.operations {
            Some(ops) => ops.contains_key(operation),
            None => effect == Effect::Trade,
        }
    }

    /// The largest order value allowed, if any.
    pub fn max_notional(&self) -> Option<&Money> {
        self.max_notional.as_ref()
    }

    /// Checks `params` at instant `now`; the first failing limit is returned.
    pub fn evaluate(&self, params: &Value, now: Timestamp) -> Result<(), LimitViolation> {
        self.check_set(
            params,
            "symbol",
            &self.symbols,
            ReasonCode::LimitSymbolMissing,
            ReasonCode::LimitSymbolNotAllowed,
        )?;
        self.check_set(
            params,
            "type",
            &self.order_types,
            ReasonCode::LimitOrderTypeMissing,
            ReasonCode::LimitOrderTypeNotAllowed,
        )?;
        self.check_set(
            params,
            "side",
            &self.sides,
            ReasonCode::LimitSideMissing,
            ReasonCode::LimitSideNotAllowed,
        )?;
        if let Some(max) = &self.max_notional {
            self.check_notional(params, max)?;
        }
        if let Some(days) = &self.days_utc {
            let day = now.weekday();
            if !days.contains(&day) {
                return Err(violation(
                    ReasonCode::LimitOutsideHours,
                    format!("trading is not allowed on {day} (UTC)"),
                ));
            }
        }
        if let Some(hours) = self.hours_utc {
            let m = now.minute_of_day();
            if !hours.contains(m) {
                return Err(violation(
                    ReasonCode::LimitOutsideHours,
                    format!(
                        "{:02}:{:02} UTC is outside the allowed trading hours {hours} UTC",
                        m / 60,
                        m % 60
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_set(
        &self,
        params: &Value,
        key: &str,
        allowed: &Option<BTreeSet<String>>,
        missing: ReasonCode,
        refused: ReasonCode,
    ) -> Result<(), LimitViolation> {
        let Some(allowed) = allowed else {
            return Ok(());
        };
        match string_param(params, key) {
            None => Err(violation(
                missing,
                format!("params have no string `{key}`, which the policy limits"),
            )),
            Some(v) if allowed.contains(v) => Ok(()),
            Some(v) => Err(violation(
                refused,
                format!("`{key}` `{v}` is not in the policy's allowed list"),
            )),
        }
    }

    fn check_notional(&self, params: &Value, max: &Money) -> Result<(), LimitViolation> {
        let invalid = |what: &str| {
            violation(
                ReasonCode::LimitNotionalInvalid,
                format!("cannot read `{what}` as a plain decimal"),
            )
        };
        let notional = if let Some(v) = params.get("notional") {
            decimal(v).ok_or_else(|| invalid("notional"))?
        } else {
            match (params.get("qty"), params.get("limit_price")) {
                (Some(q), Some(p)) => {
                    let q = decimal(q).ok_or_else(|| invalid("qty"))?;
                    let p = decimal(p).ok_or_else(|| invalid("limit_price"))?;
                    let mantissa = q
                        .mantissa
                        .checked_mul(p.mantissa)
                        .ok_or_else(|| invalid("qty × limit_price"))?;
                    Decimal {
                        mantissa,
                        scale: q.scale + p.scale,
                    }
                }
                _ => {
                    return Err(violation(
                        ReasonCode::LimitNotionalUnknown,
                        format!(
                            "the order value cannot be known before it runs (no `notional`, no `qty` with `limit_price`), and the policy caps it at {max}"
                        ),
                    ));
                }
            }
        };
        match at_most(notional, max.minor_units, max.unit.exponent()) {
            Some(true) => Ok(()),
            Some(false) => Err(violation(
                ReasonCode::LimitNotionalExceeded,
                format!("order value exceeds the policy's max_notional {max}"),
            )),
            None => Err(invalid("notional")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> TradingLimits {
        TradingLimits {
            max_notional: Some(Money::parse("1000.00 USD").unwrap()),
            symbols: Some(["AAPL".to_owned()].into()),
            order_types: Some(["limit".to_owned()].into()),
            hours_utc: HoursUtc::parse("14:30-21:00"),
            days_utc: Some([Weekday::Mon, Weekday::Fri].into()),
            ..TradingLimits::default()
        }
    }

    fn monday(h: u32, m: u32) -> Timestamp {
        Timestamp::from_utc(2026, 1, 5, h, m, 0).unwrap()
    }

    fn code(r: Result<(), LimitViolation>) -> Option<&'static str> {
        r.err().map(|v| v.code.as_str())
    }

    #[test]
    fn hours_parse_and_wrap() {
        let h = HoursUtc::parse("22:00-02:00").unwrap();
        assert!(h.contains(23 * 60) && h.contains(60) && !h.contains(12 * 60));
        assert_eq!(
            HoursUtc::parse("09:00-24:00").unwrap().to_string(),
            "09:00-24:00"
        );
        for bad in [
            "9:00-10:00",
            "10:00-10:00",
            "24:00-01:00",
            "10:60-11:00",
            "10:00",
            "aa:bb-cc:dd",
        ] {
            assert!(HoursUtc::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn trading_limits() {
        let l = limits();
        let ok = json!({"symbol": "AAPL", "type": "limit", "qty": "2", "limit_price": "500.00"});
        assert_eq!(code(l.evaluate(&ok, monday(15, 0))), None);
        let over = json!({"symbol": "AAPL", "type": "limit", "qty": "2", "limit_price": "500.01"});
        assert_eq!(
            code(l.evaluate(&over, monday(15, 0))),
            Some("limit_notional_exceeded")
        );
        let by_notional = json!({"symbol": "AAPL", "type": "limit", "notional": 999.99});
        assert_eq!(code(l.evaluate(&by_notional, monday(15, 0))), None);
        let market = json!({"symbol": "AAPL", "type": "limit", "qty": "2"});
        assert_eq!(
            code(l.evaluate(&market, monday(15, 0))),
            Some("limit_notional_unknown")
        );
        let weird = json!({"symbol": "AAPL", "type": "limit", "notional": "1e3"});
        assert_eq!(
            code(l.evaluate(&weird, monday(15, 0))),
            Some("limit_notional_invalid")
        );
        let neg = json!({"symbol": "AAPL", "type": "limit", "notional": "-5"});
        assert_eq!(
            code(l.evaluate(&neg, monday(15, 0))),
            Some("limit_notional_invalid")
        );
        let msft = json!({"symbol": "MSFT", "type": "limit", "notional": "1"});
        assert_eq!(
            code(l.evaluate(&msft, monday(15, 0))),
            Some("limit_symbol_not_allowed")
        );
        let nosym = json!({"type": "limit", "notional": "1"});
        assert_eq!(
            code(l.evaluate(&nosym, monday(15, 0))),
            Some("limit_symbol_missing")
        );
        let stop = json!({"symbol": "AAPL", "type": "stop", "notional": "1"});
        assert_eq!(
            code(l.evaluate(&stop, monday(15, 0))),
            Some("limit_order_type_not_allowed")
        );
        assert_eq!(
            code(l.evaluate(&ok, monday(14, 29))),
            Some("limit_outside_hours")
        );
        assert_eq!(
            code(l.evaluate(&ok, monday(21, 0))),
            Some("limit_outside_hours")
        );
        let tuesday = Timestamp::from_utc(2026, 1, 6, 15, 0, 0).unwrap();
        assert_eq!(code(l.evaluate(&ok, tuesday)), Some("limit_outside_hours"));
    }

    #[test]
    fn applies_by_effect_or_list() {
        let op: OperationName = "place_order".parse().unwrap();
        let l = TradingLimits::default();
        assert!(l.applies_to(&op, Effect::Trade));
        assert!(!l.applies_to(&op, Effect::Draft));
        let l = TradingLimits {
            operations: Some([(op.clone(), 1)].into()),
            ..TradingLimits::default()
        };
        assert!(l.applies_to(&op, Effect::Draft));
        assert!(!l.applies_to(&"close_position".parse().unwrap(), Effect::Trade));
    }
}
