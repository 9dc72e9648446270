//! The capabilities of one call: its WASI context, egress gate, journal and limits.
//!
//! A [`CallState`] is the data of one wasmtime `Store`, built fresh for each
//! call from what the operator granted the provider and the profile the
//! caller chose. Defaults are deny: no environment, no arguments, no stdin,
//! stdout/stderr captured into the bounded call log, no sockets, no name
//! lookup, no filesystem except a fresh scratch dir (read-write, at
//! `/scratch`) and the operator's input dirs (read-only, at `/input/<name>`).
//! Path resolution inside those dirs is cap-std's, so `..`, absolute paths
//! and symlinks cannot leave them.

pub mod egress;
pub mod graphql;
pub mod journal;
pub mod origin;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::runtime::bindings::autopack::provider::host::{self as wit_host, LogLevel};
use egress::EgressGate;
use journal::{LimitKind, LogSource, LogStream, SharedJournal};

/// Guest path of the scratch dir.
pub const SCRATCH_GUEST_PATH: &str = "/scratch";
/// Guest path prefix of input dirs (`/input/<name>`).
pub const INPUT_GUEST_PREFIX: &str = "/input";

/// The store data of one call.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    gate: EgressGate,
    limiter: CallLimiter,
    journal: SharedJournal,
    settings: Arc<BTreeMap<String, String>>,
}

/// Filesystem grants of one call.
#[derive(Debug, Clone, Default)]
pub struct FsGrants {
    /// Host path of this call's scratch dir (read-write), if any.
    pub scratch: Option<PathBuf>,
    /// Input dirs (read-only): name → host path.
    pub inputs: Arc<BTreeMap<String, PathBuf>>,
}

/// Why the sandbox for a call could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {what} `{}`: {source}", path.display())]
pub struct SandboxError {
    what: &'static str,
    path: PathBuf,
    source: wasmtime::Error,
}

impl CallState {
    /// Builds the capabilities of one call.
    pub fn new(
        gate: EgressGate,
        journal: SharedJournal,
        limiter: CallLimiter,
        fs: &FsGrants,
        settings: Arc<BTreeMap<String, String>>,
    ) -> Result<Self, SandboxError> {
        let mut b = WasiCtxBuilder::new();
        // Deny by default; spelled out so a reader need not know WASI's defaults.
        b.stdout(LogStream::new(journal.clone(), LogSource::Stdout))
            .stderr(LogStream::new(journal.clone(), LogSource::Stderr))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        if let Some(dir) = &fs.scratch {
            b.preopened_dir(dir, SCRATCH_GUEST_PATH, FsPerms::ReadWrite)
                .map_err(|source| SandboxError {
                    what: "scratch dir",
                    path: dir.clone(),
                    source,
                })?;
        }
        for (name, dir) in fs.inputs.iter() {
            b.preopened_dir(
                dir,
                format!("{INPUT_GUEST_PREFIX}/{name}"),
                FsPerms::ReadOnly,
            )
            .map_err(|source| SandboxError {
                what: "input dir",
                path: dir.clone(),
                source,
            })?;
        }
        Ok(CallState {
            wasi: b.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            gate,
            limiter,
            journal,
            settings,
        })
    }

    /// The resource limiter, for `Store::limiter`.
    pub fn limiter(&mut self) -> &mut CallLimiter {
        &mut self.limiter
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

impl wit_host::Host for CallState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        let source = match level {
            LogLevel::Trace => LogSource::Trace,
            LogLevel::Debug => LogSource::Debug,
            LogLevel::Info => LogSource::Info,
            LogLevel::Warn => LogSource::Warn,
            LogLevel::Error => LogSource::Error,
        };
        self.journal
            .log(source, &message)
            .map_err(wasmtime::Error::new)
    }

    fn put_artifact(
        &mut self,
        name: String,
        content_type: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        self.journal
            .put_artifact(&name, &content_type, &data)
            .map_err(wasmtime::Error::new)
    }

    fn setting(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.settings.get(&name).cloned())
    }
}

impl crate::runtime::bindings::autopack::provider::types::Host for CallState {}

/// Memory and table bounds of one call; records which one was hit.
pub struct CallLimiter {
    memory_bytes: usize,
    table_elements: usize,
    journal: SharedJournal,
}

impl CallLimiter {
    /// A limiter with these bounds.
    pub fn new(memory_bytes: usize, table_elements: usize, journal: SharedJournal) -> Self {
        CallLimiter {
            memory_bytes,
            table_elements,
            journal,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            // Trap rather than fail the grow: a guest allocator that ignores a
            // failed grow would otherwise turn this into a confusing abort.
            return Err(wasmtime::Error::new(self.journal.hit(LimitKind::Memory)));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(wasmtime::Error::new(self.journal.hit(LimitKind::Table)));
        }
        Ok(true)
    }
}
