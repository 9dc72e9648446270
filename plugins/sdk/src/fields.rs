//! Reading a params object field by field (shared by the first-party providers), with errors that name the field
//! (a JSON pointer) the way the host's schema check does.
//!
//! The host checks params against the operation's JSON Schema before
//! `validate` runs, but `validate` must stand on its own (it is also called
//! by `plugin run` and by tests), so every rule of the schema is checked here
//! again and the normalized params are built from what was checked.

use crate::invalid;
use crate::types::ProviderError;
use serde_json::{Map, Value};

/// A params object whose keys were checked against the allowed ones.
pub struct Fields {
    map: Map<String, Value>,
}

fn ptr(key: &str) -> String {
    format!("/{key}")
}

impl Fields {
    /// Parses `params` as a JSON object with no keys beyond `allowed`.
    pub fn parse(params: &str, allowed: &[&str]) -> Result<Fields, ProviderError> {
        let map = crate::params::object(params)?;
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(invalid(
                &ptr(key),
                format!("is not a known field (allowed: {})", allowed.join(", ")),
            ));
        }
        Ok(Fields { map })
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether the field is present (and not null).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// An optional string of `min..=max` characters.
    pub fn opt_str(
        &self,
        key: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min || n > max {
                    return Err(invalid(
                        &ptr(key),
                        format!("must be {min} to {max} characters, got {n}"),
                    ));
                }
                Ok(Some(s.clone()))
            }
            Some(_) => Err(invalid(&ptr(key), "must be a string")),
        }
    }

    /// A required string of `min..=max` characters.
    pub fn str(&self, key: &str, min: usize, max: usize) -> Result<String, ProviderError> {
        self.opt_str(key, min, max)?
            .ok_or_else(|| invalid(&ptr(key), "is required"))
    }

    /// An optional integer in `min..=max`.
    pub fn opt_int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| invalid(&ptr(key), "must be an integer"))?;
                if n < min || n > max {
                    return Err(invalid(
                        &ptr(key),
                        format!("must be between {min} and {max}, got {n}"),
                    ));
                }
                Ok(Some(n))
            }
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(&ptr(key), "must be true or false")),
        }
    }

    /// A required integer in `min..=max`.
    pub fn int(&self, key: &str, min: i64, max: i64) -> Result<i64, ProviderError> {
        self.opt_int(key, min, max)?
            .ok_or_else(|| invalid(&ptr(key), "is required"))
    }

    /// An optional list of at most `max_items` strings of `1..=max_chars` characters.
    pub fn opt_str_list(
        &self,
        key: &str,
        max_items: usize,
        max_chars: usize,
    ) -> Result<Option<Vec<String>>, ProviderError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = v
            .as_array()
            .ok_or_else(|| invalid(&ptr(key), "must be an array of strings"))?;
        if items.len() > max_items {
            return Err(invalid(
                &ptr(key),
                format!("must have at most {max_items} items, got {}", items.len()),
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("/{key}/{i}");
            let s = item
                .as_str()
                .ok_or_else(|| invalid(&at, "must be a string"))?;
            let n = s.chars().count();
            if n == 0 || n > max_chars {
                return Err(invalid(
                    &at,
                    format!("must be 1 to {max_chars} characters, got {n}"),
                ));
            }
            out.push(s.to_string());
        }
        Ok(Some(out))
    }
}

/// Builds the JSON Schema (draft 2020-12) of an operation's params object.
pub fn object_schema(properties: Value, required: &[&str]) -> String {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
    .to_string()
}
