//! The one service type, [`Host`]: what the CLI, the HTTP API and the tests call.
//!
//! [`Host`] composes the layers below it and adds nothing they already do: `governance`
//! decides, the `ledger` records (every change with its audit record), the `runtime` runs
//! plugins under the profile the service chooses. The way of one action (DESIGN §3) is in
//! [`propose`] (policy → provider and operation → host-side schema check → plugin
//! `validate` → payload hash → decision → record → run now if dry-run or tier A), then
//! [`approve`] and [`execute`] (every gate re-checked inside the transaction that reserves
//! the spend, then the plugin under the write profile, then settle). `docs/GOVERNANCE.md`
//! maps each rule to the tests that enforce it.

pub mod approve;
pub mod clock;
pub mod error;
pub mod execute;
pub mod explain;
pub mod load;
pub mod propose;
pub mod resolve;
pub mod switches;

pub use clock::{Clock, SystemClock, TestClock};
pub use error::ServiceError;
pub use propose::{ProposeRequest, Proposed};
pub use resolve::ResolveOutcome;

use crate::artifacts::ArtifactStore;
use crate::config::HostConfig;
use crate::governance::{ActionId, Catalog, Domain, PolicySet, PrincipalId, Switches};
use crate::ledger::{
    Action, ActionFilter, ActionPage, AuditEvent, AuditReport, Ledger, LedgerOptions, Page,
};
use crate::runtime::{Provider, Runtime, RuntimeOptions};
use crate::secrets::Env;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// An `X-API-Key`.
    ApiKey,
    /// A bearer session token.
    Jwt,
    /// The local command line (whoever can read the config and the database).
    Cli,
    /// A test.
    Test,
}

impl AuthMethod {
    /// The name recorded in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Jwt => "jwt",
            AuthMethod::Cli => "cli",
            AuthMethod::Test => "test",
        }
    }
}

/// Who asks, how they authenticated, and the request id their records carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The principal.
    pub id: PrincipalId,
    /// How they authenticated.
    pub auth: AuthMethod,
    /// The request that carries the call, for audit records.
    pub request_id: Option<String>,
}

impl Actor {
    /// An actor without a request id.
    pub fn new(id: PrincipalId, auth: AuthMethod) -> Actor {
        Actor {
            id,
            auth,
            request_id: None,
        }
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Actor {
        self.request_id = Some(id.into());
        self
    }

    /// An audit event by this actor at `at`.
    pub(crate) fn event(&self, at: crate::governance::Timestamp) -> AuditEvent {
        let e = AuditEvent::new(at, self.id.as_str(), self.auth.as_str());
        match &self.request_id {
            Some(r) => e.with_request_id(r.clone()),
            None => e,
        }
    }
}

/// Options of [`Host::start_with`].
#[derive(Clone, Default)]
pub struct StartOptions {
    /// This instance's stable name in the ledger (default `AUTOPACK_INSTANCE_ID`, else
    /// `default`); each replica on one PostgreSQL database needs its own.
    pub instance_id: Option<String>,
    /// A runtime to share (tests); default: one built from the config's `[runtime]`.
    pub runtime: Option<Arc<Runtime>>,
    /// Told about every plugin call of a runtime built here (metrics).
    pub observer: Option<Arc<dyn crate::runtime::CallObserver>>,
}

/// What a [`Host`] was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The service: recover, audit the loads.
    Serve,
    /// Load everything but record nothing (`policy explain`).
    Inspect,
    /// The ledger only (`switch`, `audit`): no plugin is loaded.
    Admin,
}

/// The service: providers, policies, ledger and clock, composed.
pub struct Host {
    _runtime: Option<Arc<Runtime>>,
    providers: BTreeMap<Domain, Provider>,
    catalog: Catalog,
    policies: PolicySet,
    configured: BTreeSet<Domain>,
    ledger: Ledger,
    clock: Arc<dyn Clock>,
    external_actions_off: bool,
    recovered: Vec<ActionId>,
    artifacts: ArtifactStore,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("policies", &self.policies.len())
            .field("ledger", &self.ledger)
            .field("external_actions_off", &self.external_actions_off)
            .finish()
    }
}

impl Host {
    /// Starts the service: loads every provider, builds the catalog from their `describe`,
    /// loads and checks every policy, opens the ledger, marks this instance's `executing`
    /// actions `unknown` (I6) and audits the config and policy loads (I10).
    pub async fn start(
        config: &HostConfig,
        env: &(dyn Env + Sync),
        clock: Arc<dyn Clock>,
    ) -> Result<Host, ServiceError> {
        Host::start_with(config, env, clock, StartOptions::default()).await
    }

    /// [`Host::start`] with explicit options.
    pub async fn start_with(
        config: &HostConfig,
        env: &(dyn Env + Sync),
        clock: Arc<dyn Clock>,
        opts: StartOptions,
    ) -> Result<Host, ServiceError> {
        Host::open(config, env, clock, opts, Purpose::Serve).await
    }

    /// Loads providers, policies and the ledger like [`Host::start`] but writes nothing:
    /// no recovery, no load records (`policy explain`).
    pub async fn load(
        config: &HostConfig,
        env: &(dyn Env + Sync),
        clock: Arc<dyn Clock>,
    ) -> Result<Host, ServiceError> {
        Host::open(
            config,
            env,
            clock,
            StartOptions::default(),
            Purpose::Inspect,
        )
        .await
    }

    /// Opens the ledger only, for switches and audit: no plugin is loaded, no policy read.
    pub async fn admin(
        config: &HostConfig,
        env: &(dyn Env + Sync),
        clock: Arc<dyn Clock>,
    ) -> Result<Host, ServiceError> {
        Host::open(config, env, clock, StartOptions::default(), Purpose::Admin).await
    }

    async fn open(
        config: &HostConfig,
        env: &(dyn Env + Sync),
        clock: Arc<dyn Clock>,
        opts: StartOptions,
        purpose: Purpose,
    ) -> Result<Host, ServiceError> {
        let mut configured = BTreeSet::new();
        for p in &config.providers {
            configured.insert(
                p.domain
                    .parse::<Domain>()
                    .map_err(|e| ServiceError::Start(format!("provider `{}`: {e}", p.domain)))?,
            );
        }
        let (runtime, providers, catalog, policies) = if purpose == Purpose::Admin {
            (None, BTreeMap::new(), Catalog::new(), PolicySet::new())
        } else {
            let runtime = match opts.runtime.clone() {
                Some(r) => r,
                None => Arc::new(
                    Runtime::new(&RuntimeOptions {
                        pooling: config.runtime.pooling,
                        max_instances: config.runtime.max_instances,
                        cache_dir: config
                            .runtime
                            .compile_cache
                            .then(|| config.data_dir().join("cache")),
                    })
                    .map_err(|e| ServiceError::Start(e.to_string()))?
                    .with_observer(opts.observer.clone()),
                ),
            };
            let mut providers = BTreeMap::new();
            for entry in &config.providers {
                let p = runtime.load_provider(config, entry, env).await?;
                let domain = entry
                    .domain
                    .parse::<Domain>()
                    .map_err(|e| ServiceError::Start(e.to_string()))?;
                providers.insert(domain, p);
            }
            let catalog = load::catalog(providers.values().map(|p| p.info()))?;
            let policies = load::policies(&config.policies_dir(), &catalog)?;
            (Some(runtime), providers, catalog, policies)
        };
        let url = config
            .database_url(env)
            .map_err(|e| ServiceError::Start(format!("database URL: {e}")))?;
        if url.starts_with("sqlite:") {
            let dir = config.data_dir();
            std::fs::create_dir_all(&dir).map_err(|e| {
                ServiceError::Start(format!("cannot create data dir `{}`: {e}", dir.display()))
            })?;
        }
        let instance_id = opts
            .instance_id
            .or_else(|| {
                env.var_os("AUTOPACK_INSTANCE_ID")
                    .and_then(|v| v.into_string().ok())
            })
            .unwrap_or_else(|| "default".to_owned());
        let ledger = Ledger::open_with(
            &url,
            &LedgerOptions {
                instance_id,
                ..LedgerOptions::default()
            },
        )
        .await?;
        let external_actions_off = env
            .var_os("AUTOPACK_EXTERNAL_ACTIONS")
            .and_then(|v| v.into_string().ok())
            .is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "off" | "0" | "false" | "no"
                )
            });
        let artifacts = ArtifactStore::in_data_dir(&config.data_dir())
            .with_read_cap(config.server.max_artifact_read_bytes);
        if purpose == Purpose::Serve {
            artifacts
                .ensure()
                .map_err(|e| ServiceError::Start(e.to_string()))?;
        }
        let mut host = Host {
            _runtime: runtime,
            providers,
            catalog,
            policies,
            configured,
            ledger,
            clock,
            external_actions_off,
            recovered: Vec::new(),
            artifacts,
        };
        if purpose == Purpose::Serve {
            host.recovered = host.ledger.mark_executing_unknown(host.now()).await?;
            load::audit_loads(&host, config).await?;
        }
        Ok(host)
    }

    /// The current instant from the service's clock.
    pub fn now(&self) -> crate::governance::Timestamp {
        self.clock.now()
    }

    /// The artifact store: what plugins put during an action's calls (`<data_dir>/artifacts`).
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.artifacts
    }

    /// The ledger (for read-only inspection; changes go through the service's methods).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The providers' catalog (domain → operation → effect).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The loaded policies.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// A loaded provider.
    pub fn provider(&self, domain: &Domain) -> Option<&Provider> {
        self.providers.get(domain)
    }

    /// Every loaded provider, by domain.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }

    /// How many providers are loaded, and how many the config names.
    pub fn provider_counts(&self) -> (usize, usize) {
        (self.providers.len(), self.configured.len())
    }

    /// Actions this start found `executing` and marked `unknown` (I6).
    pub fn recovered(&self) -> &[ActionId] {
        &self.recovered
    }

    /// Whether `AUTOPACK_EXTERNAL_ACTIONS=off` forces the global switch off.
    pub fn external_actions_forced_off(&self) -> bool {
        self.external_actions_off
    }

    /// The switches as the gates see them: the ledger's state (unknown if unreadable: fail
    /// closed), with the global switch forced off by `AUTOPACK_EXTERNAL_ACTIONS=off`.
    pub(crate) fn effective(&self, switches: Switches) -> Switches {
        execute::effective(switches, self.external_actions_off)
    }

    /// One action.
    pub async fn get(&self, id: &ActionId) -> Result<Action, ServiceError> {
        Ok(self.ledger.get_action(id).await?)
    }

    /// Actions matching `filter`, newest first.
    pub async fn list(
        &self,
        filter: &ActionFilter,
        page: &Page,
    ) -> Result<ActionPage, ServiceError> {
        Ok(self.ledger.list_actions(filter, page).await?)
    }

    /// Recomputes the audit chain (I10).
    pub async fn verify_audit(&self) -> Result<AuditReport, ServiceError> {
        Ok(self.ledger.verify_audit().await?)
    }

    /// The audit chain as JSON lines.
    pub async fn export_audit(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.ledger.export_audit().await?)
    }
}

static ID_SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh action id: `act_` + a ULID (48-bit milliseconds, 80 bits from a hash of the
/// instant, the process and a counter — unique, not secret).
pub(crate) fn new_action_id() -> Result<ActionId, ServiceError> {
    use sha2::{Digest, Sha256};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = u128::from(u64::try_from(now.as_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF);
    let seq = ID_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut h = Sha256::new();
    h.update(now.as_nanos().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(seq.to_le_bytes());
    let d = h.finalize();
    let mut rand: u128 = 0;
    for b in d.iter().take(10) {
        rand = (rand << 8) | u128::from(*b);
    }
    let value = (ms << 80) | rand;
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::with_capacity(30);
    out.push_str("act_");
    for i in (0..26).rev() {
        let idx = ((value >> (i * 5)) & 0x1F) as usize;
        out.push(char::from(ALPHABET[idx]));
    }
    out.parse()
        .map_err(|e| ServiceError::Internal(format!("generated action id: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn action_ids_are_valid_and_distinct() {
        let a = new_action_id().unwrap();
        let b = new_action_id().unwrap();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("act_0"));
    }
}
