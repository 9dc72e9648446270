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
