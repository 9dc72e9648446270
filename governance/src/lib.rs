//! Pure governance logic of Autopack Host.
//!
//! Everything here is a function of its inputs: no I/O, no clock reads, no
//! wasmtime, no HTTP. That is what makes it unit-testable and benchmarkable
//! alone, and it is enforced by this crate's dependency list. The host
//! re-exports it as `autopack_host::governance`.
//!
//! - [`canonical`]: RFC 8785 canonical JSON and the payload hash (I4);
//! - [`money`]: integer amounts of currencies and quota units (I7);
//! - [`ids`]: typed, validated identifiers;
//! - [`policy`]: project policies, the providers' catalog, policy tests;
//! - [`decision`]: the one decision function and its ordered reasons (I1, I2, I3, I4, I7).
//!
//! # Example
//!
//! ```
//! use autopack_governance::*;
//! use serde_json::json;
//!
//! let policy = Policy::parse(
//!     "policies/demo.toml",
//!     "project = \"demo\"\n[domains.etsy]\noperations = [\"publish_listing\"]\n",
//! )?;
//! let catalog = Catalog::from_entries([("etsy", "publish_listing", Effect::Publish)])?;
//! policy.check(&catalog).map_err(|errors| errors[0].clone())?;
//!
//! let payload = Payload {
//!     project: "demo".parse()?,
//!     domain: "etsy".parse()?,
//!     operation: "publish_listing".parse()?,
//!     params: json!({"listing_id": 1234567}),
//!     mode: Mode::Live,
//!     plugin_digest: "0".repeat(64).parse()?,
//! };
//! let effect = catalog.effect(&payload.domain, &payload.operation);
//! let action = Action::new(payload, effect, vec![])?;
//! let decision = decide(&DecisionInput {
//!     action: &action,
//!     policy: Some(&policy),
//!     switches: &Switches::on(["etsy".parse()?]),
//!     usage: &SpendUsage::new(),
//!     approvals: &[],
//!     proposer: &"pat".parse()?,
//!     now: Timestamp(1_767_625_200),
//! });
//! assert_eq!(decision.verdict, Verdict::NeedsApproval);
//! assert_eq!(decision.tier, Some(Tier::C));
//! assert!(decision.has(ReasonCode::ApprovalsMissing));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod canonical;
pub mod decision;
pub mod effect;
pub mod ids;
pub mod money;
pub mod policy;
pub mod timestamp;

pub use canonical::{CanonicalError, Payload, canonicalize, payload_hash};
pub use decision::{
    Action, Approval, Decision, DecisionInput, Gate, Outcome, Reason, ReasonCode, SpendUsage,
    Switches, Verdict, decide,
};
pub use effect::{Effect, Mode, Tier};
pub use ids::{
    ActionId, Domain, IdError, OperationName, PayloadHash, PluginDigest, PrincipalId, ProjectId,
};
pub use money::{Currency, Money, MoneyError, QuotaUnit, Unit};
pub use policy::{
    Catalog, Policy, PolicyError, PolicyErrorKind, PolicySet, PolicyTests, run_policy_tests,
};
pub use timestamp::{Timestamp, Weekday};
