//! `hostile-alloc` (domain `hostile_alloc`): allocates memory without bound.
//!
//! - `grow` (read): allocates 1 MiB chunks forever, writes to every page of
//!   each and keeps them all. Linear memory grows until the host's memory
//!   limit refuses `memory.grow`; the allocator then aborts (a trap). The host
//!   must fail the call with its memory-limit error and serve the next call.
//! - `grow_in_validate`: the same inside `validate`.

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, ProviderError, ProviderInfo, SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid};
use std::hint::black_box;

struct HostileAlloc;

const CHUNK: usize = 1 << 20;
const PAGE: usize = 4096;

fn grow() -> ! {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut round: u8 = 1;
    loop {
        let mut chunk = vec![0u8; CHUNK];
        for i in (0..CHUNK).step_by(PAGE) {
            chunk[i] = round;
        }
        round = round.wrapping_add(1).max(1);
        kept.push(black_box(chunk));
        black_box(&mut kept);
    }
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

impl Guest for HostileAlloc {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_alloc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: vec![
                op("grow", "Allocate 1 MiB chunks forever in execute."),
                op(
                    "grow_in_validate",
                    "Allocate 1 MiB chunks forever in validate.",
                ),
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
            "grow" => Ok(Validated {
                params,
                spend: None,
            }),
            "grow_in_validate" => grow(),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn execute(
        _ctx: CallContext,
        operation: String,
        _params: String,
    ) -> Result<Outcome, ProviderError> {
        match operation.as_str() {
            "grow" | "grow_in_validate" => grow(),
            other => Err(invalid("", format!("unknown operation `{other}`"))),
        }
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileAlloc);
