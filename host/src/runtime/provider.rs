//! A loaded provider and its calls.
//!
//! Loading follows the phases of Spin's factors: read and pin-check the
//! component, compile and pre-instantiate it, build the operator's grants
//! (origins, credentials from secrets, input dirs, settings), then call
//! `describe` once under the no-network profile and check it against those
//! grants. Only a provider that passes every check exists for the host.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wasmtime::Store;

use super::bindings::ProviderPre;
use super::bindings::autopack::provider::types as wit;
use super::error::{CallError, LoadError};
use super::types::{CallContext, OperationInfo, Outcome, ProviderInfo, Validated};
use super::{Dropper, EPOCH_TICK, Runtime};
use crate::config::{HostConfig, LimitsConfig, ProviderConfig, is_domain};
use crate::sandbox::egress::{Credential, EgressGate, EgressLimits, Grants, Profile};
use crate::sandbox::journal::{
    Artifact, JournalLimits, LimitKind, LogLine, RecordedRequest, SharedJournal,
};
use crate::sandbox::origin::Origin;
use crate::sandbox::{CallLimiter, CallState, FsGrants};
use crate::secrets::{Env, Redactor, SecretStore, template_names};

/// Everything a call produced besides its result.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport<T> {
    /// The result.
    pub result: Result<T, CallError>,
    /// The call log (host log, stdout, stderr), redacted.
    pub log: Vec<LogLine>,
    /// Every outbound request, sent or denied.
    pub requests: Vec<RecordedRequest>,
    /// Artifacts the call stored, redacted.
    pub artifacts: Vec<Artifact>,
    /// Wall time of the call, microseconds.
    pub elapsed_us: u64,
}

impl<T> CallReport<T> {
    /// The requests the gate blocked: in dry-run, the writes the plugin attempted.
    pub fn attempted_writes(&self) -> impl Iterator<Item = &RecordedRequest> {
        self.requests.iter().filter(|r| r.is_denied())
    }
}

/// A provider: a checked component with its grants, ready for calls.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    domain: String,
    digest: String,
    info: ProviderInfo,
    schemas: BTreeMap<String, jsonschema::Validator>,
    pre: ProviderPre<CallState>,
    grants: Arc<Grants>,
    limits: LimitsConfig,
    settings: Arc<BTreeMap<String, String>>,
    inputs: Arc<BTreeMap<String, PathBuf>>,
    scratch_root: PathBuf,
    redactor: Redactor,
    tls: Arc<rustls::ClientConfig>,
    dropper: Dropper,
    engine: wasmtime::Engine,
    observer: Option<Arc<dyn super::CallObserver>>,
}

enum Export<'a> {
    Describe,
    Validate(&'a CallContext, &'a str, &'a str),
    Execute(&'a CallContext, &'a str, &'a str),
    Lookup(&'a CallContext),
}

enum Returned {
    Describe(wit::ProviderInfo),
    Validate(Result<wit::Validated, wit::ProviderError>),
    Execute(Result<wit::Outcome, wit::ProviderError>),
    Lookup(Option<wit::Outcome>),
}

static CALL_SEQ: AtomicU64 = AtomicU64::new(0);

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Runtime {
    /// Loads one `[[providers]]` entry of `config`, reading secrets from `env`.
    pub async fn load_provider(
        &self,
        config: &HostConfig,
        entry: &ProviderConfig,
        env: &dyn Env,
    ) -> Result<Provider, LoadError> {
        let domain = entry.domain.clone();
        let path = config.resolve(&entry.component);
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            domain: domain.clone(),
            path: path.clone(),
            source,
        })?;
        let digest = sha256_hex(&bytes);
        if let Some(expected) = &entry.sha256
            && *expected != digest
        {
            return Err(LoadError::DigestMismatch {
                domain,
                path,
                expected: expected.clone(),
                actual: digest,
            });
        }
        let (grants, secrets) = build_grants(&domain, entry, env)?;
        let inputs = build_inputs(&domain, config, entry)?;
        let scratch_root = config.data_dir().join("scratch").join(&domain);
        std::fs::create_dir_all(&scratch_root).map_err(|e| LoadError::Grant {
            domain: domain.clone(),
            message: format!(
                "cannot create scratch dir `{}`: {e}",
                scratch_root.display()
            ),
        })?;
        let setup = Setup {
            domain: domain.clone(),
            grants,
            redactor: secrets.redactor(),
            limits: entry.limits,
            settings: entry.settings.clone(),
            inputs,
            scratch_root,
        };
        let mut provider =
            self.prepare(&bytes, digest, setup)
                .map_err(|e| LoadError::Component {
                    domain: domain.clone(),
                    path: path.clone(),
                    message: format!("{e:#}"),
                })?;
        let describe_err = |message: String| LoadError::Describe {
            domain: domain.clone(),
            message,
        };
        let raw = provider
            .describe_raw()
            .await
            .map_err(|e| describe_err(e.to_string()))?;
        let (info, schemas) = parse_describe(raw).map_err(describe_err)?;
        check_grants(&info, entry, &provider.inner.grants).map_err(describe_err)?;
        let inner = Arc::get_mut(&mut provider.inner)
            .ok_or_else(|| describe_err("provider was shared during load".into()))?;
        inner.info = info;
        inner.schemas = schemas;
        Ok(provider)
    }

    /// Compiles a component and calls `describe` with no grants at all (`plugin inspect`).
    pub async fn inspect(&self, bytes: &[u8]) -> Result<Inspection, wasmtime::Error> {
        let sha256 = sha256_hex(bytes);
        let component = self.compile(bytes)?;
        let ty = component.component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let exports = ty
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let scratch_root = std::env::temp_dir();
        let setup = Setup {
            domain: "inspect".into(),
            grants: Grants::default(),
            redactor: Redactor::default(),
            limits: LimitsConfig::default(),
            settings: BTreeMap::new(),
            inputs: BTreeMap::new(),
            scratch_root,
        };
        let mut problems = Vec::new();
        let info = match self.prepare(bytes, sha256.clone(), setup) {
            Err(e) => {
                problems.push(format!("cannot be instantiated by this host: {e:#}"));
                None
            }
            Ok(provider) => match provider.describe_raw().await {
                Err(e) => {
                    problems.push(format!("describe failed: {e}"));
                    None
                }
                Ok(raw) => match parse_describe(raw) {
                    Ok((info, _)) => Some(info),
                    Err(e) => {
                        problems.push(e);
                        None
                    }
                },
            },
        };
        Ok(Inspection {
            sha256,
            imports,
            exports,
            info,
            problems,
        })
    }

    fn prepare(&self, bytes: &[u8], digest: String, setup: Setup) -> wasmtime::Result<Provider> {
        let component = self.compile(bytes)?;
        let pre = ProviderPre::new(self.linker.instantiate_pre(&component)?)?;
        Ok(Provider {
            inner: Arc::new(Inner {
                info: ProviderInfo {
                    domain: setup.domain.clone(),
                    version: String::new(),
                    operations: Vec::new(),
                    origins: Vec::new(),
                    secrets: Vec::new(),
                    settings: Vec::new(),
                    supports_lookup: false,
                },
                domain: setup.domain,
                digest,
                schemas: BTreeMap::new(),
                pre,
                grants: Arc::new(setup.grants),
                limits: setup.limits,
                settings: Arc::new(setup.settings),
                inputs: Arc::new(setup.inputs),
                scratch_root: setup.scratch_root,
                redactor: setup.redactor,
                tls: self.tls.clone(),
                dropper: self.dropper.clone(),
                engine: self.engine.clone(),
                observer: self.observer.clone(),
            }),
        })
    }
}

/// What a provider is prepared with, before `describe` is checked.
struct Setup {
    domain: String,
    grants: Grants,
    redactor: Redactor,
    limits: LimitsConfig,
    settings: BTreeMap<String, String>,
    inputs: BTreeMap<String, PathBuf>,
    scratch_root: PathBuf,
}

fn build_grants(
    domain: &str,
    entry: &ProviderConfig,
    env: &dyn Env,
) -> Result<(Grants, SecretStore), LoadError> {
    let grant_err = |message: String| LoadError::Grant {
        domain: domain.to_string(),
        message,
    };
    let mut origins = Vec::new();
    for o in &entry.origins {
        origins.push(Origin::parse(o).map_err(|e| grant_err(e.to_string()))?);
    }
    let mut names = BTreeSet::new();
    for c in &entry.credentials {
        names.extend(template_names(&c.value).map_err(grant_err)?);
    }
    let store = SecretStore::load(names.iter().map(String::as_str), env).map_err(|source| {
        LoadError::Secret {
            domain: domain.to_string(),
            source,
        }
    })?;
    let mut credentials = Vec::new();
    for c in &entry.credentials {
        let origin = Origin::parse(&c.origin).map_err(|e| grant_err(e.to_string()))?;
        let header = http::HeaderName::from_bytes(c.header.as_bytes())
            .map_err(|_| grant_err(format!("`{}` is not a valid header name", c.header)))?;
        let rendered = store.render(&c.value).ok_or_else(|| {
            grant_err(format!(
                "credential for `{}` references a secret that is not loaded",
                c.origin
            ))
        })?;
        let mut value = http::HeaderValue::from_str(&rendered).map_err(|_| {
            grant_err(format!(
                "credential header `{}` for `{}` has characters not allowed in a header value",
                c.header, c.origin
            ))
        })?;
        value.set_sensitive(true);
        credentials.push(Credential {
            origin,
            header,
            value,
        });
    }
    Ok((
        Grants {
            origins,
            credentials,
            graphql_read_paths: entry.graphql_read_paths.clone(),
        },
        store,
    ))
}

fn build_inputs(
    domain: &str,
    config: &HostConfig,
    entry: &ProviderConfig,
) -> Result<BTreeMap<String, PathBuf>, LoadError> {
    let mut inputs = BTreeMap::new();
    for (name, path) in &entry.input_dirs {
        let path = config.resolve(path);
        if !path.is_dir() {
            return Err(LoadError::Grant {
                domain: domain.to_string(),
                message: format!(
                    "input dir `{name}` = `{}` is not a directory",
                    path.display()
                ),
            });
        }
        inputs.insert(name.clone(), path);
    }
    Ok(inputs)
}

fn is_operation_name(s: &str) -> bool {
    is_domain(s)
}

type CheckedDescribe = (ProviderInfo, BTreeMap<String, jsonschema::Validator>);

/// Parses `describe` output and checks what does not depend on grants:
/// operation names, uniqueness, params schemas.
fn parse_describe(raw: wit::ProviderInfo) -> Result<CheckedDescribe, String> {
    let mut operations = Vec::new();
    let mut schemas = BTreeMap::new();
    if !is_domain(&raw.domain) {
        return Err(format!(
            "domain `{}` is invalid: expected lowercase letters, digits and `_`",
            raw.domain
        ));
    }
    for op in raw.operations {
        if !is_operation_name(&op.name) {
            return Err(format!(
                "operation name `{}` is invalid: expected lowercase letters, digits and `_`",
                op.name
            ));
        }
        if schemas.contains_key(&op.name) {
            return Err(format!("operation `{}` is described twice", op.name));
        }
        let schema: Value = serde_json::from_str(&op.params_schema)
            .map_err(|e| format!("operation `{}`: params schema is not JSON: {e}", op.name))?;
        jsonschema::meta::validate(&schema).map_err(|e| {
            format!(
                "operation `{}`: params schema is not valid JSON Schema: {e}",
                op.name
            )
        })?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            format!(
                "operation `{}`: params schema cannot be compiled: {e}",
                op.name
            )
        })?;
        schemas.insert(op.name.clone(), validator);
        let effect = op.effect.into();
        operations.push(OperationInfo {
            name: op.name,
            summary: op.summary,
            effect,
            tier: autopack_governance::Effect::base_tier(effect),
            params_schema: schema,
            spend: op.spend.into(),
        });
    }
    Ok((
        ProviderInfo {
            domain: raw.domain,
            version: raw.version,
            operations,
            origins: raw.origins,
            secrets: raw.secrets,
            settings: raw.settings,
            supports_lookup: raw.supports_lookup,
        },
        schemas,
    ))
}

/// Checks a parsed description against the operator's entry and grants:
/// the domain, and that every origin, secret and setting lines up.
fn check_grants(
    info: &ProviderInfo,
    entry: &ProviderConfig,
    grants: &Grants,
) -> Result<(), String> {
    if info.domain != entry.domain {
        return Err(format!(
            "component serves domain `{}`, but the config entry is for `{}`",
            info.domain, entry.domain
        ));
    }
    for o in &info.origins {
        let origin = Origin::parse(o).map_err(|e| format!("needs origin {e}"))?;
        if !grants.origins.contains(&origin) {
            return Err(format!(
                "needs origin `{origin}`, which is not granted: add it to `origins` of this provider"
            ));
        }
    }
    for s in &info.secrets {
        let injected = entry
            .credentials
            .iter()
            .any(|c| template_names(&c.value).is_ok_and(|n| n.contains(s)));
        if !injected {
            return Err(format!(
                "needs secret `{s}`, which no credential rule injects: add a `[[providers.credentials]]` whose value uses `{{{s}}}`"
            ));
        }
    }
    for key in entry.settings.keys() {
        if !info.settings.contains(key) {
            return Err(format!(
                "setting `{key}` is not one the provider reads (it reads: {})",
                if info.settings.is_empty() {
                    "none".to_string()
                } else {
                    info.settings.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// What `plugin inspect` shows about a component, before any operator grants.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// SHA-256 (hex) of the component bytes.
    pub sha256: String,
    /// The component's imports (WIT interface names).
    pub imports: Vec<String>,
    /// The component's exports.
    pub exports: Vec<String>,
    /// What `describe` returned, when it could be parsed.
    pub info: Option<ProviderInfo>,
    /// Problems that would stop the host from loading it.
    pub problems: Vec<String>,
}

impl Provider {
    /// The domain.
    pub fn domain(&self) -> &str {
        &self.inner.domain
    }

    /// SHA-256 (hex) of the component.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// What `describe` said, as checked at load.
    pub fn info(&self) -> &ProviderInfo {
        &self.inner.info
    }

    /// The operator's limits for this provider.
    pub fn limits(&self) -> &LimitsConfig {
        &self.inner.limits
    }

    /// The redactor holding this provider's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// Checks params against the operation's JSON Schema on the host; each error names its path.
    pub fn check_params(&self, operation: &str, params: &Value) -> Result<(), Vec<String>> {
        let Some(validator) = self.inner.schemas.get(operation) else {
            return Err(vec![format!("unknown operation `{operation}`")]);
        };
        let errors: Vec<String> = validator
            .iter_errors(params)
            .map(|e| format!("`{}`: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    async fn describe_raw(&self) -> Result<wit::ProviderInfo, CallError> {
        match self
            .run(Profile::NoNetwork, Export::Describe)
            .await
            .result?
        {
            Returned::Describe(info) => Ok(info),
            _ => Err(unexpected()),
        }
    }

    /// Calls `validate` in a fresh instance with no network and no filesystem.
    pub async fn validate(
        &self,
        ctx: &CallContext,
        operation: &str,
        params: &str,
    ) -> CallReport<Validated> {
        if let Some(report) = self.unknown(operation) {
            return report;
        }
        let report = self
            .run(Profile::NoNetwork, Export::Validate(ctx, operation, params))
            .await;
        self.finish("validate", report, |r| match r {
            Returned::Validate(Ok(v)) => {
                let params = parse_json(&v.params, "validated params")?;
                Ok(Validated {
                    params,
                    spend: v.spend.map(Into::into),
                })
            }
            Returned::Validate(Err(e)) => Err(CallError::Provider(e.into())),
            _ => Err(unexpected()),
        })
    }

    /// Calls `execute` in a fresh instance under `profile`, with a fresh scratch dir.
    pub async fn execute(
        &self,
        ctx: &CallContext,
        operation: &str,
        params: &str,
        profile: Profile,
    ) -> CallReport<Outcome> {
        if let Some(report) = self.unknown(operation) {
            return report;
        }
        let report = self
            .run(profile, Export::Execute(ctx, operation, params))
            .await;
        self.finish("execute", report, |r| match r {
            Returned::Execute(Ok(o)) => outcome(o),
            Returned::Execute(Err(e)) => Err(CallError::Provider(e.into())),
            _ => Err(unexpected()),
        })
    }

    /// Calls `lookup` under the read-only profile.
    pub async fn lookup(&self, ctx: &CallContext) -> CallReport<Option<Outcome>> {
        let report = self.run(Profile::ReadOnly, Export::Lookup(ctx)).await;
        self.finish("lookup", report, |r| match r {
            Returned::Lookup(o) => o.map(outcome).transpose(),
            _ => Err(unexpected()),
        })
    }

    fn unknown<T>(&self, operation: &str) -> Option<CallReport<T>> {
        self.inner
            .info
            .operation(operation)
            .is_none()
            .then(|| CallReport {
                result: Err(CallError::UnknownOperation {
                    operation: operation.to_string(),
                }),
                log: Vec::new(),
                requests: Vec::new(),
                artifacts: Vec::new(),
                elapsed_us: 0,
            })
    }

    /// Converts, bounds and redacts a raw result.
    fn finish<T>(
        &self,
        call: &str,
        report: CallReport<Returned>,
        convert: impl FnOnce(Returned) -> Result<T, CallError>,
    ) -> CallReport<T> {
        let max = self.inner.limits.max_outcome_bytes;
        let redactor = &self.inner.redactor;
        let result = report.result.and_then(|r| {
            if returned_size(&r) > max {
                return Err(CallError::Limit {
                    limit: LimitKind::Outcome,
                });
            }
            convert(redact_returned(r, redactor))
        });
        if let Some(o) = &self.inner.observer {
            let limit = match &result {
                Err(CallError::Limit { limit }) => Some(limit.code()),
                _ => None,
            };
            o.plugin_call(
                &self.inner.domain,
                call,
                report.elapsed_us as f64 / 1e6,
                limit,
            );
        }
        CallReport {
            result,
            log: report.log,
            requests: report.requests,
            artifacts: report.artifacts,
            elapsed_us: report.elapsed_us,
        }
    }

    /// Instantiates a fresh instance, calls one export and collects the journal.
    async fn run(&self, profile: Profile, export: Export<'_>) -> CallReport<Returned> {
        let started = Instant::now();
        let inner = &self.inner;
        let limits = inner.limits;
        let journal = SharedJournal::new(
            JournalLimits {
                max_log_bytes: limits.max_log_bytes,
                max_artifacts: limits.max_artifacts,
                max_artifact_bytes: limits.max_artifact_bytes,
            },
            inner.redactor.clone(),
        );
        let scratch = matches!(export, Export::Execute(..) | Export::Lookup(..)).then(|| {
            let seq = CALL_SEQ.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            inner
                .scratch_root
                .join(format!("call-{}-{nanos}-{seq}", std::process::id()))
        });
        let wall = Duration::from_millis(limits.wall_time_ms);
        let outcome = tokio::time::timeout(
            wall,
            self.instantiate_and_call(profile, export, &journal, scratch.clone()),
        )
        .await;
        let result = match outcome {
            Ok((result, store)) => {
                if let Some(store) = store {
                    inner.dropper.later(Box::new(move || drop(store)));
                }
                result
            }
            Err(_) => Err(CallError::Limit {
                limit: journal.hit(LimitKind::WallTime),
            }),
        };
        if let Some(dir) = scratch {
            inner.dropper.later(Box::new(move || {
                let _ = std::fs::remove_dir_all(dir);
            }));
        }
        let taken = journal.take();
        // A limit hit decides the error even if the guest carried on after it.
        let result = match (result, taken.limit_hit) {
            (Err(CallError::Provider(_)) | Ok(_), Some(limit)) => Err(CallError::Limit { limit }),
            (r, _) => r,
        };
        CallReport {
            result,
            log: taken.log,
            requests: taken.requests,
            artifacts: taken.artifacts,
            elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        }
    }

    async fn instantiate_and_call(
        &self,
        profile: Profile,
        export: Export<'_>,
        journal: &SharedJournal,
        scratch: Option<PathBuf>,
    ) -> (Result<Returned, CallError>, Option<Store<CallState>>) {
        let inner = &self.inner;
        let limits = inner.limits;
        if let Some(dir) = &scratch
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return (
                Err(CallError::Sandbox {
                    message: format!("scratch dir: {e}"),
                }),
                None,
            );
        }
        let gate = EgressGate::new(
            profile,
            inner.grants.clone(),
            EgressLimits {
                max_requests: limits.max_requests,
                max_response_bytes: limits.max_response_bytes,
                max_request_body_bytes: limits.max_request_body_bytes,
                timeout: Duration::from_millis(limits.http_timeout_ms),
            },
            journal.clone(),
            inner.tls.clone(),
        );
        let limiter = CallLimiter::new(
            (limits.memory_mib as usize) << 20,
            limits.table_elements as usize,
            journal.clone(),
        );
        let fs = FsGrants {
            scratch,
            // Validate and describe get no filesystem at all.
            inputs: if matches!(export, Export::Execute(..) | Export::Lookup(..)) {
                inner.inputs.clone()
            } else {
                Arc::default()
            },
        };
        let state =
            match CallState::new(gate, journal.clone(), limiter, &fs, inner.settings.clone()) {
                Ok(s) => s,
                Err(e) => {
                    return (
                        Err(CallError::Sandbox {
                            message: e.to_string(),
                        }),
                        None,
                    );
                }
            };
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| s.limiter());
        if let Err(e) = store.set_fuel(limits.cpu_fuel) {
            return (
                Err(CallError::Sandbox {
                    message: format!("fuel: {e}"),
                }),
                Some(store),
            );
        }
        let ticks = limits.wall_time_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1;
        store.set_epoch_deadline(ticks);
        let result = call_export(&inner.pre, &mut store, export).await;
        let result = result.map_err(|e| classify(&e, journal));
        (result, Some(store))
    }
}

async fn call_export(
    pre: &ProviderPre<CallState>,
    store: &mut Store<CallState>,
    export: Export<'_>,
) -> wasmtime::Result<Returned> {
    let instance = pre.instantiate_async(&mut *store).await?;
    Ok(match export {
        Export::Describe => Returned::Describe(instance.call_describe(&mut *store).await?),
        Export::Validate(ctx, op, params) => Returned::Validate(
            instance
                .call_validate(&mut *store, &ctx.into(), op, params)
                .await?,
        ),
        Export::Execute(ctx, op, params) => Returned::Execute(
            instance
                .call_execute(&mut *store, &ctx.into(), op, params)
                .await?,
        ),
        Export::Lookup(ctx) => {
            Returned::Lookup(instance.call_lookup(&mut *store, &ctx.into()).await?)
        }
    })
}

/// Turns a wasmtime error into the call's error; limits first, then traps.
fn classify(e: &wasmtime::Error, journal: &SharedJournal) -> CallError {
    if let Some(limit) = journal.lock().limit_hit {
        return CallError::Limit { limit };
    }
    if let Some(limit) = e.downcast_ref::<LimitKind>() {
        return CallError::Limit {
            limit: journal.hit(*limit),
        };
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        let limit = match trap {
            wasmtime::Trap::OutOfFuel => Some(LimitKind::Cpu),
            wasmtime::Trap::Interrupt => Some(LimitKind::WallTime),
            wasmtime::Trap::StackOverflow => Some(LimitKind::Stack),
            _ => None,
        };
        if let Some(limit) = limit {
            return CallError::Limit {
                limit: journal.hit(limit),
            };
        }
    }
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return CallError::Limit {
            limit: journal.hit(LimitKind::Instances),
        };
    }
    CallError::Trap {
        message: journal.redactor().redact(&format!("{e:#}")),
    }
}

fn unexpected() -> CallError {
    CallError::InvalidOutput {
        message: "unexpected export result".into(),
    }
}

fn parse_json(text: &str, what: &str) -> Result<Value, CallError> {
    serde_json::from_str(text).map_err(|e| CallError::InvalidOutput {
        message: format!("{what} are not JSON: {e}"),
    })
}

fn outcome(o: wit::Outcome) -> Result<Outcome, CallError> {
    let data = if o.data.is_empty() {
        Value::Null
    } else {
        parse_json(&o.data, "outcome data")?
    };
    Ok(Outcome {
        status: o.status.into(),
        external_ref: o.external_ref,
        summary: o.summary,
        spend: o.spend.map(Into::into),
        data,
    })
}

fn outcome_size(o: &wit::Outcome) -> u64 {
    (o.data.len() + o.summary.len() + o.external_ref.as_ref().map_or(0, String::len)) as u64
}

fn error_size(e: &wit::ProviderError) -> u64 {
    (match e {
        wit::ProviderError::InvalidParams(f) => f.field.len() + f.message.len(),
        wit::ProviderError::RateLimited(r) => r.message.len(),
        wit::ProviderError::Provider(p) => p.code.len() + p.message.len(),
        wit::ProviderError::Unauthorized(m)
        | wit::ProviderError::Denied(m)
        | wit::ProviderError::Internal(m) => m.len(),
    }) as u64
}

fn returned_size(r: &Returned) -> u64 {
    match r {
        Returned::Describe(_) => 0,
        Returned::Validate(Ok(v)) => v.params.len() as u64,
        Returned::Validate(Err(e)) | Returned::Execute(Err(e)) => error_size(e),
        Returned::Execute(Ok(o)) => outcome_size(o),
        Returned::Lookup(o) => o.as_ref().map_or(0, outcome_size),
    }
}

fn redact_error(e: wit::ProviderError, r: &Redactor) -> wit::ProviderError {
    match e {
        wit::ProviderError::InvalidParams(f) => {
            wit::ProviderError::InvalidParams(wit::FieldError {
                field: r.redact(&f.field),
                message: r.redact(&f.message),
            })
        }
        wit::ProviderError::Unauthorized(m) => wit::ProviderError::Unauthorized(r.redact(&m)),
        wit::ProviderError::RateLimited(x) => wit::ProviderError::RateLimited(wit::RateLimit {
            retry_after_seconds: x.retry_after_seconds,
            message: r.redact(&x.message),
        }),
        wit::ProviderError::Provider(p) => wit::ProviderError::Provider(wit::ProviderFailure {
            code: r.redact(&p.code),
            message: r.redact(&p.message),
            retryable: p.retryable,
        }),
        wit::ProviderError::Denied(m) => wit::ProviderError::Denied(r.redact(&m)),
        wit::ProviderError::Internal(m) => wit::ProviderError::Internal(r.redact(&m)),
    }
}

/// The unit is free text from the plugin, so it is scrubbed like the rest.
fn redact_amount(a: wit::Amount, r: &Redactor) -> wit::Amount {
    wit::Amount {
        minor_units: a.minor_units,
        unit: r.redact(&a.unit),
    }
}

fn redact_outcome(o: wit::Outcome, r: &Redactor) -> wit::Outcome {
    wit::Outcome {
        status: o.status,
        external_ref: o.external_ref.map(|x| r.redact(&x)),
        summary: r.redact(&o.summary),
        spend: o.spend.map(|a| redact_amount(a, r)),
        // The replacement text has no JSON-special characters, so JSON stays JSON.
        data: r.redact(&o.data),
    }
}

fn redact_returned(ret: Returned, r: &Redactor) -> Returned {
    match ret {
        Returned::Describe(d) => Returned::Describe(d),
        Returned::Validate(Ok(mut v)) => {
            v.params = r.redact(&v.params);
            v.spend = v.spend.map(|a| redact_amount(a, r));
            Returned::Validate(Ok(v))
        }
        Returned::Validate(Err(e)) => Returned::Validate(Err(redact_error(e, r))),
        Returned::Execute(Ok(o)) => Returned::Execute(Ok(redact_outcome(o, r))),
        Returned::Execute(Err(e)) => Returned::Execute(Err(redact_error(e, r))),
        Returned::Lookup(o) => Returned::Lookup(o.map(|o| redact_outcome(o, r))),
    }
}
