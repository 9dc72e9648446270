//! Integration tests of the sandbox (DESIGN I3, I8, I9): real guest components
//! run in the real runtime against loopback servers that count every request.
//!
//! - `wellbehaved`: every import works and is scoped; profiles, credential
//!   injection, redaction, error mapping, fresh scratch dirs, limits.
//! - `hostile`: one test per hostile guest in `tests/guests/hostile-*`, named
//!   after it (a hostile guest without a test does not compile).
//! - `load`: provider loading refuses bad configs with exact messages.
//!
//! One test binary, so the guests are compiled once per run (and cached on
//! disk across runs) by the shared runtime in `support`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod hostile;
mod load;
mod support;
mod wellbehaved;
