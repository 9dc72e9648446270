//! `hostile-recurse` (domain `hostile_recurse`): recurses until a stack
//! overflows. Two stacks can overflow in WebAssembly, so there are two ops.
//!
//! - `deep` (read): small frames that live on the engine's native wasm stack;
//!   the host must fail the call with its stack-overflow trap error (wasmtime
//!   `Trap::StackOverflow`, "call stack exhausted").
//! - `big_frames` (read): 4 KiB frames whose address escapes, so they live on
//!   the shadow stack in linear memory; it runs off the bottom of linear
//!   memory and the host must fail the call with a trap (out-of-bounds memory
//!   access) rather than anything worse.
//!
//! Neither recursion is a tail call: each frame uses the callee's result.

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, ProviderError, ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid};
use std::hint::black_box;

struct HostileRecurse;

/// No `black_box` inside: on wasm it goes through memory, which would put
/// these frames on the shadow stack too. The caller hides the start value
/// instead, and the result is mixed in a way that is not an accumulator.
#[inline(never)]
fn deep(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    deep(depth + 1).wrapping_mul(31).rotate_left(7) ^ depth
}

#[inline(never)]
fn big_frames(depth: u64) -> u64 {
    let mut frame = [0u8; 4096];
    frame[(depth % 4096) as usize] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    black_box(big_frames(depth + 1)).wrapping_add(u64::from(frame[0]))
}

fn op(name: &str, summary: &str) -> Operation {
    Operation {
        name: name.into(),
        summary: summary.into(),
        effect: Effect::Read,
        params_schema: r#"{"type":"object"}"#.into(),
        spend: SpendSource::None,
    }
}

impl Guest for HostileRecurse {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_recurse".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("deep", "Recurse without bound with small frames."),
                op("big_frames", "Recurse without bound with 4 KiB frames."),
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
            "deep" | "big_frames" => Ok(Validated {
                params,
                spend: None,
            }),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(
        _ctx: CallContext,
        operation: String,
        _params: String,
    ) -> Result<Outcome, ProviderError> {
        let depth = match operation.as_str() {
            "deep" => deep(black_box(0)),
            "big_frames" => big_frames(0),
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        };
        // Unreachable in practice: the recursion only ends in a trap.
        Err(ProviderError::Internal(format!(
            "recursion returned {depth}"
        )))
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileRecurse);
