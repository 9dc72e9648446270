//! End to end through HTTP (issue #5): the real `autopack-host` binary on a random loopback
//! port, SQLite in a temp data dir, the four real provider components granted only the
//! loopback fake servers (`common/`), example-like policies, and five API keys. Everything
//! the tests do, they do through HTTP, as a caller would.
//!
//! - `walk`: a dry-run Etsy publish previews its write and writes nothing; the live one is
//!   refused while the switches are off, waits for approval once they are on, refuses a
//!   wrong hash and the proposer's own approval, and writes exactly once after an
//!   approver's approval. The same for trading orders against a daily spend cap.
//! - `request_id`: every response carries `X-Request-ID`; a caller's id is echoed and
//!   lands in the audit records and log lines of that request.
//! - `crash`: I6, SIGKILL while the plugin waits for the provider; after the restart the
//!   action is `unknown`, never re-sent, and the audit chain verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client;
#[path = "../common/mod.rs"]
mod common;
#[cfg(unix)]
mod crash;
mod replicas;
mod request_id;
mod server;
mod walk;
