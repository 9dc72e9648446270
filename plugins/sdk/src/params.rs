//! Small helpers for reading params JSON with errors that name the field.

use crate::invalid;
use crate::types::ProviderError;
use serde_json::{Map, Value};

/// Parses params text into a JSON object, or `invalid-params` for the whole params.
pub fn object(params: &str) -> Result<Map<String, Value>, ProviderError> {
    match serde_json::from_str::<Value>(params) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("", "params must be a JSON object")),
        Err(e) => Err(invalid("", format!("params are not valid JSON: {e}"))),
    }
}

/// A required string field.
pub fn str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, ProviderError> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(&format!("/{key}"), "must be a string")),
        None => Err(invalid(&format!("/{key}"), "is required")),
    }
}

/// An optional string field.
pub fn opt_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, ProviderError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(&format!("/{key}"), "must be a string")),
    }
}

/// A required integer field.
pub fn int(map: &Map<String, Value>, key: &str) -> Result<i64, ProviderError> {
    match map.get(key) {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| invalid(&format!("/{key}"), "must be an integer")),
        None => Err(invalid(&format!("/{key}"), "is required")),
    }
}
