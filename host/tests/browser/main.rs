//! The web page (`GET /ui`) in real headless Chromium (DESIGN §9), driven through
//! `chromedriver` with WebDriver. The host is the real `autopack-host serve` binary with the
//! example provider pointed at a loopback fake notes service that records every request.
//!
//! - `inbox`: a live `post_note` proposed over HTTP waits for approval; an approver signs in
//!   on the page, sees its params, mode, plugin digest and exact payload hash, and approves
//!   it (the approval is bound to that hash; the proposer then executes it and the fake sees
//!   exactly one write). A second one is rejected through the page's `prompt()`.
//! - `sign_in`: a wrong key shows an error and no inbox; the page's script runs under its
//!   Content Security Policy (the served script's SHA-256 is the one the header allows, and
//!   the browser logs no violation); an approver scoped to two projects sees the inbox.
//!
//! Needs `chromium` and `chromedriver` on `PATH` (Debian: `apt-get install chromium
//! chromium-driver`, which `.ci/run` does), or `CHROMIUM` / `CHROMEDRIVER` naming them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
#[path = "../common/mod.rs"]
mod common;
mod host;
mod http;
mod inbox;
mod sign_in;
