//! Governance integration tests (DESIGN I1–I7, I10): the real service type `Host` with the
//! real example provider and the well-behaved guest, against a loopback fake server that
//! counts every request, on SQLite (and PostgreSQL for the races); and the four real
//! providers against the fakes of their APIs shared with the provider tests (`common/`).
//!
//! Tests are named after the invariant they enforce; `docs/GOVERNANCE.md` maps each rule to
//! them, and `docs::governance_md_names_only_existing_tests` keeps that map honest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod docs;
mod providers;
mod races;
mod support;
mod walk;
