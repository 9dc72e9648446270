//! The Shopify and YouTube providers as real components in the real runtime
//! (DESIGN §4, I3, I9), against loopback fake servers that speak the real
//! request/response shapes and count every request, plus conformance checks
//! against the official API definitions in `tests/specs/`.
//!
//! - `shopify`: every operation in dry-run and live mode under the read-only
//!   and the write profile; validation; error mapping.
//! - `youtube`: the same, including the resumable upload of a file from the
//!   input dir `media`.
//! - `conformance`: Shopify documents against the Admin 2025-01 schema
//!   (`apollo-compiler`); YouTube requests against the Data API's OpenAPI
//!   document served by Prism.
//! - `cli`: `autopack-host plugin inspect` and `plugin run` on both.
//!
//! One test binary, so the components are compiled once per run (and cached
//! on disk across runs) by the shared runtime in `support`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod conformance;
mod shopify;
mod support;
mod youtube;
