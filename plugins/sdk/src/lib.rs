//! Thin helpers for writing Autopack provider components in Rust.
//!
//! The contract is the WIT package `autopack:provider` (see `wit/provider.wit`).
//! This crate generates its bindings once so that a provider only writes
//! `impl Guest for MyProvider` and calls [`export_provider!`]. It adds a
//! blocking HTTP client over `wasi:http/outgoing-handler` ([`http`]), logging
//! ([`log`]) and small JSON helpers ([`params`]). Everything here is optional:
//! a provider may use `wit-bindgen` directly.
//!
//! ```ignore
//! use autopack_sdk::{export_provider, Guest, types::*};
//! struct Hello;
//! impl Guest for Hello { /* describe, validate, execute, lookup */ }
//! export_provider!(Hello);
//! ```

#![deny(missing_docs)]

#[allow(missing_docs, unsafe_code, clippy::all)]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "provider",
        pub_export_macro: true,
        export_macro_name: "export_provider",
        default_bindings_module: "autopack_sdk::bindings",
    });
}

#[doc(hidden)]
pub use bindings::*;

pub use bindings::Guest;
pub use bindings::autopack::provider::host;
pub use bindings::autopack::provider::types;

pub mod fields;
pub mod http;
pub mod log;
pub mod params;
pub mod rest;

/// Builds a `provider-error::invalid-params` naming the field (a JSON pointer).
pub fn invalid(field: &str, message: impl Into<String>) -> types::ProviderError {
    types::ProviderError::InvalidParams(types::FieldError {
        field: field.to_string(),
        message: message.into(),
    })
}

/// Builds a `provider-error::internal` with the message.
pub fn internal(message: impl Into<String>) -> types::ProviderError {
    types::ProviderError::Internal(message.into())
}

/// Reads an operator setting, or `default` when the operator set none.
pub fn setting_or(name: &str, default: &str) -> String {
    host::setting(name).unwrap_or_else(|| default.to_string())
}
