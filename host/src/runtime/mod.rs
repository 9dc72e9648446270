//! The wasmtime runtime: one engine, compiled-component cache, pooling
//! allocator, epoch ticker, and loading of providers.
//!
//! Every call gets a fresh instance from a pre-instantiated component
//! (`InstancePre`) in a fresh `Store`, so nothing a call does survives it.
//! Compiled code is cached on disk by wasmtime's cache, which keys entries by
//! the component's bytes and the engine's compiler settings, so a restart does
//! not recompile. Finished stores are dropped on a background thread to keep
//! that work off the caller's path.

pub mod bindings;
pub mod error;
pub mod provider;
pub mod types;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::sandbox::CallState;

pub use error::{CallError, LoadError};
pub use provider::{CallReport, Provider};

/// How often the epoch advances; wall-time deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Largest wasm stack a guest may use before a `stack_overflow` error.
pub const MAX_WASM_STACK: usize = 1 << 20;
/// Bytes of each pooled memory and table kept resident between instances.
pub const KEEP_RESIDENT_BYTES: usize = 64 << 10;
/// Largest table any provider may be granted (the pool's table slot size).
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Engine-wide options.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Use the pooling allocator.
    pub pooling: bool,
    /// Pool size: component instances alive at once.
    pub max_instances: u32,
    /// Directory for compiled components; `None` disables the disk cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            pooling: true,
            max_instances: 128,
            cache_dir: None,
        }
    }
}

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the wasm runtime: {0}")]
pub struct RuntimeError(String);

/// Told about every finished plugin call (metrics).
pub trait CallObserver: Send + Sync {
    /// One call of `call` (`validate`, `execute`, `lookup`) of `domain` took `seconds`;
    /// `limit` is the limit code if a sandbox limit failed it.
    fn plugin_call(&self, domain: &str, call: &str, seconds: f64, limit: Option<&str>);
}

/// The shared engine and everything that lives as long as it.
pub struct Runtime {
    observer: Option<Arc<dyn CallObserver>>,
    engine: Engine,
    linker: Arc<Linker<CallState>>,
    tls: Arc<rustls::ClientConfig>,
    dropper: Dropper,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine, linker, epoch ticker and store dropper.
    pub fn new(options: &RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let err = |e: wasmtime::Error| RuntimeError(format!("{e:#}"));
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(true)
            .max_wasm_stack(MAX_WASM_STACK);
        if options.pooling {
            let n = options.max_instances.max(1);
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(n)
                .total_core_instances(n.saturating_mul(4))
                .total_memories(n.saturating_mul(2))
                .total_tables(n.saturating_mul(4))
                .max_memories_per_component(4)
                .max_tables_per_component(8)
                .max_memory_size((crate::config::MAX_MEMORY_MIB as usize) << 20)
                .table_elements(MAX_TABLE_ELEMENTS)
                // A reused slot is reset by memset up to these sizes instead of
                // being decommitted, so the next instance does not page-fault
                // on every page a small guest touches (measured in the bench).
                .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                .table_keep_resident(KEEP_RESIDENT_BYTES);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        if let Some(dir) = &options.cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| RuntimeError(format!("cache dir `{}`: {e}", dir.display())))?;
            let mut cc = wasmtime::CacheConfig::new();
            cc.with_directory(dir);
            config.cache(Some(wasmtime::Cache::new(cc).map_err(err)?));
        }
        let engine = Engine::new(&config).map_err(err)?;
        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(err)?;
        bindings::Provider::add_to_linker::<CallState, wasmtime::component::HasSelf<CallState>>(
            &mut linker,
            |s| s,
        )
        .map_err(err)?;
        let tls = crate::sandbox::egress::tls_config().map_err(|e| RuntimeError(e.to_string()))?;
        Ok(Runtime {
            observer: None,
            _ticker: EpochTicker::start(engine.clone()),
            engine,
            linker: Arc::new(linker),
            tls,
            // Half the pool may wait to be dropped; the rest serves new calls.
            dropper: Dropper::start((options.max_instances as usize / 2).max(1)),
        })
    }

    /// Reports every call of providers loaded from now on to `observer`.
    pub fn with_observer(mut self, observer: Option<Arc<dyn CallObserver>>) -> Runtime {
        self.observer = observer;
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles (or loads from the cache) a component.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        Component::new(&self.engine, bytes)
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("autopack-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Work that may leave the caller's path: dropping stores, removing scratch dirs.
type Chore = Box<dyn FnOnce() + Send>;

/// A background thread that runs [`Chore`]s in order.
///
/// The backlog is bounded: a finished store still holds its pool slot until
/// it is dropped, so if the thread falls behind (a busy machine) callers drop
/// inline instead of letting the instance pool run dry.
#[derive(Clone)]
pub(crate) struct Dropper {
    tx: mpsc::Sender<Chore>,
    pending: Arc<AtomicUsize>,
    max_pending: usize,
}

impl Dropper {
    fn start(max_pending: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Chore>();
        let pending = Arc::new(AtomicUsize::new(0));
        let counter = pending.clone();
        let spawned = std::thread::Builder::new()
            .name("autopack-dropper".into())
            .spawn(move || {
                for chore in rx {
                    chore();
                    counter.fetch_sub(1, Ordering::Release);
                }
            });
        if spawned.is_err() {
            tracing::warn!("no dropper thread; stores are dropped inline");
        }
        Dropper {
            tx,
            pending,
            max_pending,
        }
    }

    /// Runs `chore` in the background, or here if the backlog is full or the thread is gone.
    pub(crate) fn later(&self, chore: Chore) {
        if self.pending.load(Ordering::Acquire) >= self.max_pending {
            chore();
            return;
        }
        self.pending.fetch_add(1, Ordering::AcqRel);
        if let Err(mpsc::SendError(chore)) = self.tx.send(chore) {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            chore();
        }
    }
}
