//! Money and quota amounts: integer minor units of an ISO-4217 currency or a named quota unit.
//!
//! Never floats. The written form is `"<amount> <UNIT>"` with exactly one space, e.g.
//! `"20.00 USD"`, `"500 JPY"`, `"1.250 KWD"`, `"1600 YT_QUOTA"`. Parsing is strict on
//! purpose, because a cap that means something other than what its author read is worse
//! than a file that does not load:
//!
//! - the amount has exactly as many digits after the point as the currency's exponent
//!   (`"20.00 USD"`; `"20 USD"` and `"20.0 USD"` are refused, so that nobody wonders
//!   whether `20` meant dollars or cents); units with exponent 0 take no point at all;
//! - no sign, no exponent, no leading zeros (`"0.50 USD"` is fine, `"01.00 USD"` is not),
//!   no surrounding or doubled spaces, upper-case unit only;
//! - three upper-case letters are reserved for ISO-4217: an unknown three-letter code is an
//!   error rather than silently a quota unit. Quota units are `[A-Z][A-Z0-9_]{2,31}`
//!   and must not be three plain letters (e.g. `YT_QUOTA`, `API_CALLS`); their exponent is 0.
//!
//! [`Money`] itself may hold a negative amount (arithmetic results), but parsing refuses one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// ISO-4217 currencies known to Autopack, with their minor-unit exponents.
const CURRENCIES: &[(&str, u8)] = &[
    // exponent 2
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("KES", 2),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("ZAR", 2),
    // exponent 0
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    // exponent 3
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
];

/// Why an amount or a unit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not of the form `<amount> <UNIT>`.
    #[error("invalid amount `{0}`: expected `<amount> <UNIT>` such as `20.00 USD` or `500 JPY`")]
    Format(String),
    /// A sign in front of the amount.
    #[error("invalid amount `{0}`: amounts are never negative here")]
    Negative(String),
    /// Wrong number of digits after the point for the unit.
    #[error("invalid amount `{input}`: {unit} takes exactly {exponent} digit(s) after the point")]
    Decimals {
        /// What was written.
        input: String,
        /// The unit's code.
        unit: String,
        /// The unit's exponent.
        exponent: u8,
    },
    /// Three upper-case letters that are not a known ISO-4217 currency.
    #[error("unknown currency `{0}`")]
    UnknownCurrency(String),
    /// Neither a currency nor a well-formed quota unit.
    #[error("invalid unit `{0}`: expected an ISO-4217 code or a quota unit like `YT_QUOTA`")]
    Unit(String),
    /// The amount does not fit in 64-bit minor units.
    #[error("amount `{0}` is too large")]
    Overflow(String),
    /// Two amounts in different units were combined.
    #[error("cannot combine {0} with {1}")]
    UnitMismatch(String, String),
}

impl MoneyError {
    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Format(_) => "invalid_money",
            MoneyError::Negative(_) => "negative_money",
            MoneyError::Decimals { .. } => "money_decimals",
            MoneyError::UnknownCurrency(_) => "unknown_currency",
            MoneyError::Unit(_) => "invalid_unit",
            MoneyError::Overflow(_) => "money_overflow",
            MoneyError::UnitMismatch(..) => "unit_mismatch",
        }
    }
}

/// An ISO-4217 currency known to this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// Looks up a currency by its upper-case ISO-4217 code.
    pub fn from_code(code: &str) -> Option<Currency> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(code, exponent)| Currency {
                code,
                exponent: *exponent,
            })
    }

    /// The three-letter code, e.g. `USD`.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (USD 2, JPY 0, KWD 3).
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

/// A named quota unit such as `YT_QUOTA` (exponent 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaUnit(String);

impl QuotaUnit {
    /// Validates a quota unit name: `[A-Z][A-Z0-9_]{2,31}`, not three plain letters.
    pub fn new(name: &str) -> Result<QuotaUnit, MoneyError> {
        let b = name.as_bytes();
        let shaped = b.first().is_some_and(u8::is_ascii_uppercase)
            && (3..=32).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_');
        if !shaped {
            return Err(MoneyError::Unit(name.to_owned()));
        }
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            // Reserved for ISO-4217, so a missing table entry never becomes a quota unit.
            return Err(MoneyError::UnknownCurrency(name.to_owned()));
        }
        Ok(QuotaUnit(name.to_owned()))
    }

    /// The unit's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an amount counts: a currency or a quota unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// An ISO-4217 currency.
    Currency(Currency),
    /// A provider quota, e.g. YouTube quota points.
    Quota(QuotaUnit),
}

impl Unit {
    /// Parses `USD`, `JPY`, `YT_QUOTA`…
    pub fn parse(s: &str) -> Result<Unit, MoneyError> {
        match Currency::from_code(s) {
            Some(c) => Ok(Unit::Currency(c)),
            None => QuotaUnit::new(s).map(Unit::Quota),
        }
    }

    /// The unit's code or name.
    pub fn code(&self) -> &str {
        match self {
            Unit::Currency(c) => c.code(),
            Unit::Quota(q) => q.as_str(),
        }
    }

    /// Digits after the decimal point in the written form.
    pub fn exponent(&self) -> u8 {
        match self {
            Unit::Currency(c) => c.exponent(),
            Unit::Quota(_) => 0,
        }
    }

    /// Whether this is an ISO-4217 currency.
    pub fn is_currency(&self) -> bool {
        matches!(self, Unit::Currency(_))
    }
}

impl FromStr for Unit {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Unit, MoneyError> {
        Unit::parse(s)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unit, D::Error> {
        let s = String::deserialize(d)?;
        Unit::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount: integer minor units of a unit (cents for USD, yen for JPY, points for quotas).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    /// The amount in the unit's smallest subdivision.
    pub minor_units: i64,
    /// What the amount counts.
    pub unit: Unit,
}

/// `10^exp` for the exponents we know (0..=3), checked.
fn pow10(exp: u8) -> Option<i64> {
    10i64.checked_pow(u32::from(exp))
}

impl Money {
    /// An amount from minor units.
    pub fn new(minor_units: i64, unit: Unit) -> Money {
        Money { minor_units, unit }
    }

    /// Zero of a unit.
    pub fn zero(unit: Unit) -> Money {
        Money {
            minor_units: 0,
            unit,
        }
    }

    /// Parses the strict written form (see the module documentation).
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let format = || MoneyError::Format(input.to_owned());
        let (amount, unit) = input.split_once(' ').ok_or_else(format)?;
        if unit.contains(' ') || unit.is_empty() {
            return Err(format());
        }
        if amount.starts_with('-') || amount.starts_with('+') {
            return Err(MoneyError::Negative(input.to_owned()));
        }
        let unit = Unit::parse(unit)?;
        let exponent = unit.exponent();
        let decimals = || MoneyError::Decimals {
            input: input.to_owned(),
            unit: unit.code().to_owned(),
            exponent,
        };
        let (int, frac) = match amount.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (amount, None),
        };
        let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if !digits_ok(int) || (int.len() > 1 && int.starts_with('0')) {
            return Err(format());
        }
        let frac = match (frac, exponent) {
            (None, 0) => "",
            (Some(f), e) if e > 0 && f.len() == usize::from(e) => {
                if !digits_ok(f) {
                    return Err(format());
                }
                f
            }
            (Some(f), _) if !digits_ok(f) => return Err(format()),
            _ => return Err(decimals()),
        };
        let overflow = || MoneyError::Overflow(input.to_owned());
        let int: i64 = int.parse().map_err(|_| overflow())?;
        let frac: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| format())?
        };
        let scale = pow10(exponent).ok_or_else(overflow)?;
        let minor_units = int
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(overflow)?;
        Ok(Money { minor_units, unit })
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor_units == 0
    }

    fn same_unit(&self, other: &Money) -> Result<(), MoneyError> {
        if self.unit == other.unit {
            Ok(())
        } else {
            Err(MoneyError::UnitMismatch(
                self.unit.code().to_owned(),
                other.unit.code().to_owned(),
            ))
        }
    }

    /// `self + other`, refusing different units and overflow.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_unit(other)?;
        let v = self
            .minor_units
            .checked_add(other.minor_units)
            .ok_or_else(|| MoneyError::Overflow(format!("{self} + {other}")))?;
        Ok(Money::new(v, self.unit.clone()))
    }

    /// `self - other`, refusing different units and overflow.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_unit(other)?;
        let v = self
            .minor_units
            .checked_sub(other.minor_units)
            .ok_or_else(|| MoneyError::Overflow(format!("{self} - {other}")))?;
        Ok(Money::new(v, self.unit.clone()))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        let exponent = self.unit.exponent();
        if exponent == 0 {
            return write!(f, "{sign}{abs} {}", self.unit);
        }
        let scale = 10u64.pow(u32::from(exponent));
        let width = usize::from(exponent);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.unit
        )
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Money, MoneyError> {
        Money::parse(s)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Unit::parse("USD").unwrap())
    }

    #[test]
    fn parses_and_displays_round_trip() {
        for (s, minor) in [
            ("20.00 USD", 2000),
            ("0.50 EUR", 50),
            ("0.00 GBP", 0),
            ("500 JPY", 500),
            ("1000 KRW", 1000),
            ("1.250 KWD", 1250),
            ("0.001 BHD", 1),
            ("1600 YT_QUOTA", 1600),
            ("92233720368547758.07 USD", i64::MAX),
        ] {
            let m = Money::parse(s).unwrap();
            assert_eq!(m.minor_units, minor, "{s}");
            assert_eq!(m.to_string(), s);
        }
    }

    #[test]
    fn refuses_loose_forms() {
        for (s, code) in [
            ("20 USD", "money_decimals"),
            ("20.0 USD", "money_decimals"),
            ("20.000 USD", "money_decimals"),
            ("500.00 JPY", "money_decimals"),
            ("1.25 KWD", "money_decimals"),
            ("1e3 USD", "invalid_money"),
            ("-1.00 USD", "negative_money"),
            ("+1.00 USD", "negative_money"),
            (" 20.00 USD", "invalid_money"),
            ("20.00 USD ", "invalid_money"),
            ("20.00  USD", "invalid_money"),
            ("20.00 usd", "invalid_unit"),
            ("20.00USD", "invalid_money"),
            ("01.00 USD", "invalid_money"),
            (".50 USD", "invalid_money"),
            ("1.a0 USD", "invalid_money"),
            ("20.00 XYZ", "unknown_currency"),
            ("20 Q", "invalid_unit"),
            ("92233720368547758.08 USD", "money_overflow"),
            ("99999999999999999999 JPY", "money_overflow"),
            ("", "invalid_money"),
        ] {
            let e = Money::parse(s).unwrap_err();
            assert_eq!(e.code(), code, "{s}: {e}");
        }
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(usd(150).checked_add(&usd(50)).unwrap(), usd(200));
        assert_eq!(
            usd(150).checked_sub(&usd(200)).unwrap().to_string(),
            "-0.50 USD"
        );
        assert_eq!(
            usd(i64::MAX).checked_add(&usd(1)).unwrap_err().code(),
            "money_overflow"
        );
        let jpy = Money::parse("5 JPY").unwrap();
        assert_eq!(
            usd(1).checked_add(&jpy).unwrap_err().code(),
            "unit_mismatch"
        );
        assert_eq!(
            Money::new(i64::MIN, Unit::parse("JPY").unwrap()).to_string(),
            "-9223372036854775808 JPY"
        );
    }

    #[test]
    fn serde_uses_written_form() {
        let m: Money = serde_json::from_str("\"20.00 USD\"").unwrap();
        assert_eq!(m, usd(2000));
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"20.00 USD\"");
        assert!(serde_json::from_str::<Money>("\"20 USD\"").is_err());
    }
}
