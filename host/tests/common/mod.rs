//! Fake provider servers shared by several test binaries, each including this module with
//! `#[path = "../common/mod.rs"] mod common;`: the provider tests
//! (`providers_etsy_trading`, `providers_shopify_youtube`) and the governance tests, which
//! run the same real provider components through the service type; the HTTP tests
//! (`e2e_http`, `browser`), which run the real binary; and the sandbox tests.
//!
//! Every fake listens on loopback, speaks its API's real request and response shapes, and
//! records every request, so "nothing was written" is a fact a test can check.

// Each test binary uses only some of the fakes.
#![allow(dead_code)]

pub mod fake_alpaca;
pub mod fake_etsy;
pub mod fake_server;
pub mod fake_shopify;
pub mod fake_youtube;
pub mod host_bin;
pub mod http_client;
pub mod providers;
pub mod recorder;
pub mod serve;
