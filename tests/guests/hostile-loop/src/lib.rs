//! `hostile-loop` (domain `hostile_loop`): burns CPU forever.
//!
//! - `spin` (execute): an endless loop with no imports in it, so only an
//!   epoch deadline (or fuel) can stop it. The host must fail the call with its
//!   CPU-limit error (not the wall-time one, which would mean the epoch
//!   deadline is missing), and then serve the next call normally.
//! - `spin_in_validate`: the same loop inside `validate`, which must be bounded
//!   just like `execute`.

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, ProviderError, ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid};
use std::hint::black_box;

struct HostileLoop;

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object"}"#.into(),
        spend: SpendSource::None,
    }
}

fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

impl Guest for HostileLoop {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_loop".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("spin", "Loop forever in execute."),
                op("spin_in_validate", "Loop forever in validate."),
            ],
            origins: vec![],
            secrets: vec![],
            settings: vec![],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Validated, ProviderError> {
        match operation.as_str() {
            "spin" => Ok(Validated {
                params,
                spend: None,
            }),
            "spin_in_validate" => spin(),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(
        _ctx: CallContext,
        operation: String,
        _params: String,
    ) -> Result<Outcome, ProviderError> {
        match operation.as_str() {
            "spin" | "spin_in_validate" => spin(),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileLoop);
