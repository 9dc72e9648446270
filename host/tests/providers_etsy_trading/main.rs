//! The first-party `etsy` and `trading` providers, as real components in the
//! real runtime (DESIGN §4, I3, I5, I9).
//!
//! - `fake_etsy`, `fake_alpaca` (in `common/`, shared with the governance
//!   tests): loopback fakes of the Etsy Open API v3 and
//!   the Alpaca Trading API v2 that speak the official request/response
//!   shapes, check credentials and required fields, and count every request.
//! - `etsy`, `trading`: every operation under the read-only and the write
//!   profile in dry-run and live mode; dry-run writes nothing; live writes
//!   arrive exactly once with credentials; secrets never reach anything the
//!   guest returns or logs; provider errors map to the contract's variants.
//! - `conformance`: the requests are accepted by Prism serving the official
//!   API definitions in `tests/specs/`, and a malformed request is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod conformance;
mod etsy;
mod harness;
mod trading;

use common::{fake_alpaca, fake_etsy};
