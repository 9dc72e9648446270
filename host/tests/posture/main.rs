//! Production posture and secrets (DESIGN I9, I11; issue 5), through the real binary:
//!
//! - `production`: the misconfiguration matrix (`AUTOPACK_ENV=production` refuses each
//!   case with exit code 2 and a message naming the setting), a sound production config
//!   that starts and serves, and the development key (printed once, stored nowhere);
//! - `secrets_files`: every `*_FILE` variable the host reads, missing, empty, unreadable,
//!   trimmed and winning over the plain variable;
//! - `log_canary`: canary secrets never appear in the logs, responses or the data dir.
//!
//! `docs/SECRETS.md` describes what these tests prove; `docs` checks it names only tests
//! that exist.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docs;
mod log_canary;
mod production;
mod secrets_files;
mod support;
