//! Shared pieces: the one runtime, loading a provider from a TOML config in a
//! temp dir, calling it the way the host does (validate, then execute the
//! normalized params), and leak checks. The recording fake-server shell is
//! shared with the governance tests: `common/fake_server.rs`.

use autopack_host::config::HostConfig;
use autopack_host::governance::Mode;
use autopack_host::runtime::types::{CallContext, Outcome, ProviderError, Validated};
use autopack_host::runtime::{CallError, CallReport, LoadError, Provider, Runtime, RuntimeOptions};
use autopack_host::sandbox::egress::Profile;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;

pub use crate::common::fake_server::Fake;

/// Both profiles a call can run under.
pub const PROFILES: [Profile; 2] = [Profile::ReadOnly, Profile::Write];
/// Both modes.
pub const MODES: [Mode; 2] = [Mode::DryRun, Mode::Live];

/// The engine all tests share, with an on-disk compile cache.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::new(&RuntimeOptions {
            pooling: false,
            max_instances: 16,
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("providers-compile-cache")),
        })
        .expect("runtime")
    })
}

/// A call context; the idempotency key is given so tests can follow it.
pub fn ctx(mode: Mode, key: &str) -> CallContext {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    CallContext {
        action_id: format!("act_{}", SEQ.fetch_add(1, Ordering::Relaxed)),
        project: "shopfront".into(),
        idempotency_key: key.into(),
        mode,
    }
}

/// A credential rule: header and value template.
pub struct Cred {
    pub header: &'static str,
    pub value: &'static str,
}

/// How to configure one provider entry.
pub struct Setup<'a> {
    pub domain: &'a str,
    pub component: &'a str,
    /// Granted origins (credentials are injected for the first).
    pub origins: Vec<String>,
    pub settings: Vec<(&'a str, String)>,
    pub credentials: &'a [Cred],
    /// Secret values by name, as the host's environment.
    pub env: Vec<(&'a str, &'a str)>,
}

/// A loaded provider and the temp dir its config and data live in.
pub struct Loaded {
    pub provider: Provider,
    pub _dir: TempDir,
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// Writes the config TOML into a temp dir and loads the entry like the host does.
pub async fn try_load(setup: &Setup<'_>) -> (Result<Provider, LoadError>, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("data_dir = \"data\"\n\n[[providers]]\n");
    let _ = writeln!(text, "domain = {}", toml_str(setup.domain));
    let _ = writeln!(text, "component = {}", toml_str(setup.component));
    let origins: Vec<String> = setup.origins.iter().map(|o| toml_str(o)).collect();
    let _ = writeln!(text, "origins = [{}]", origins.join(", "));
    text.push_str("\n[providers.settings]\n");
    for (k, v) in &setup.settings {
        let _ = writeln!(text, "{k} = {}", toml_str(v));
    }
    for c in setup.credentials {
        let _ = write!(
            text,
            "\n[[providers.credentials]]\norigin = {}\nheader = {}\nvalue = {}\n",
            toml_str(&setup.origins[0]),
            toml_str(c.header),
            toml_str(c.value)
        );
    }
    let file = dir.path().join("autopack-host.toml");
    std::fs::write(&file, &text).expect("write config");
    let config = HostConfig::load(&file).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    let entry = config.provider(setup.domain).expect("entry");
    let env: BTreeMap<String, String> = setup
        .env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (runtime().load_provider(&config, entry, &env).await, dir)
}

/// Loads a provider that must load.
pub async fn load(setup: &Setup<'_>) -> Loaded {
    let (result, dir) = try_load(setup).await;
    Loaded {
        provider: result.unwrap_or_else(|e| panic!("load {}: {e}", setup.domain)),
        _dir: dir,
    }
}

/// Panics if any of `secrets` occurs anywhere in what a call produced:
/// result, log, recorded requests and artifact bytes.
pub fn assert_no_secrets<T: Serialize>(report: &CallReport<T>, secrets: &[&str]) {
    let text = serde_json::to_string(report).expect("report serializes");
    for s in secrets {
        assert!(
            !text.contains(s),
            "secret leaked into the call report: {text}"
        );
        for a in &report.artifacts {
            assert!(
                !String::from_utf8_lossy(&a.data).contains(s),
                "secret leaked into artifact {}",
                a.name
            );
        }
    }
}

/// A provider plus the secrets it must never reveal.
pub struct Subject<'a> {
    pub provider: &'a Provider,
    pub secrets: &'a [&'a str],
}

impl Subject<'_> {
    /// `validate` with a context in `mode` and idempotency key `key`.
    pub async fn validate(
        &self,
        op: &str,
        params: &Value,
        key: &str,
    ) -> Result<Validated, CallError> {
        let report = self
            .provider
            .validate(&ctx(Mode::DryRun, key), op, &params.to_string())
            .await;
        assert_no_secrets(&report, self.secrets);
        assert!(report.requests.is_empty(), "validate made requests");
        report.result
    }

    /// What the host does: check the schema, validate, then execute the
    /// normalized params. Panics if the params are not valid.
    pub async fn run(
        &self,
        op: &str,
        params: Value,
        mode: Mode,
        profile: Profile,
        key: &str,
    ) -> CallReport<Outcome> {
        if let Err(errors) = self.provider.check_params(op, &params) {
            panic!("{op}: host-side schema refused {params}: {errors:?}");
        }
        let validated = self
            .validate(op, &params, key)
            .await
            .unwrap_or_else(|e| panic!("{op}: validate refused {params}: {e}"));
        let report = self
            .provider
            .execute(&ctx(mode, key), op, &validated.params.to_string(), profile)
            .await;
        assert_no_secrets(&report, self.secrets);
        report
    }
}

/// The provider error of a failed call.
pub fn provider_error<T: std::fmt::Debug>(report: &CallReport<T>) -> ProviderError {
    match &report.result {
        Err(CallError::Provider(e)) => e.clone(),
        other => panic!("expected a provider error, got {other:?}"),
    }
}

/// The outcome of a call that must have succeeded.
pub fn outcome(report: &CallReport<Outcome>) -> &Outcome {
    match &report.result {
        Ok(o) => o,
        Err(e) => panic!(
            "call failed: {e}\nrequests: {:?}\nlog: {:?}",
            report.requests, report.log
        ),
    }
}
