//! Autopack Host: the one gate every side effect of Autopack passes through.
//!
//! Module map (dependencies point downward only):
//! - [`governance`]: pure decision logic (re-exported crate `autopack-governance`).
//! - [`config`]: the operator's host config file, parsed strictly.
//! - [`secrets`]: secret sources and redaction.
//! - [`sandbox`]: the capabilities of one call (WASI context, egress gate, journal).
//! - [`runtime`]: the wasmtime engine, component cache and provider calls.
//! - [`artifacts`]: the artifact store (files plugins put, per action) and its bounded,
//!   redacted, streamed reads.
//! - [`ledger`]: the action ledger and audit chain (re-exported crate `autopack-ledger`).
//! - [`service`]: the one service type, [`service::Host`], that the CLI and the API call.
//! - [`principal`]: principals, roles and project scopes.
//! - [`posture`]: what `AUTOPACK_ENV=production` refuses to start with (I11).
//! - [`api`]: the HTTP API over the service (axum), and [`cli`]: the command line.

pub use autopack_governance as governance;
pub use autopack_ledger as ledger;

pub mod api;
pub mod artifacts;
pub mod cli;
pub mod config;
pub mod posture;
pub mod principal;
pub mod runtime;
pub mod sandbox;
pub mod secrets;
pub mod service;
