//! Autopack Host: the one gate every side effect of Autopack passes through.
//!
//! Module map (dependencies point downward only):
//! - [`governance`]: pure decision logic (re-exported crate `autopack-governance`).
//! - [`config`]: the operator's host config file, parsed strictly.
//! - [`secrets`]: secret sources and redaction.
//! - [`sandbox`]: the capabilities of one call (WASI context, egress gate, journal).
//! - [`runtime`]: the wasmtime engine, component cache and provider calls.

pub use autopack_governance as governance;

pub mod cli;
pub mod config;
pub mod runtime;
pub mod sandbox;
pub mod secrets;
