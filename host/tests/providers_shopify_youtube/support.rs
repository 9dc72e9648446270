//! Shared pieces: the one runtime, call contexts, loading a real provider
//! component from a TOML config in a temp dir, and the checks every call
//! report gets (no secret anywhere). The recording fake-server shell is
//! shared with the governance tests: `common/recorder.rs`.

use autopack_host::config::HostConfig;
use autopack_host::governance::Mode;
use autopack_host::runtime::types::{CallContext, Outcome, ProviderError, Validated};
use autopack_host::runtime::{CallError, CallReport, Provider, Runtime, RuntimeOptions};
use autopack_host::sandbox::egress::Profile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;

pub use crate::common::recorder::{Hit, Recorder};

/// The engine all tests share, with an on-disk compile cache so a rerun
/// does not recompile the components.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::new(&RuntimeOptions {
            pooling: true,
            max_instances: 32,
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("providers-compile-cache")),
        })
        .expect("runtime")
    })
}

/// A fresh call context.
pub fn ctx(mode: Mode) -> CallContext {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    CallContext {
        action_id: format!("act_prov_{n}"),
        project: "provider-tests".into(),
        idempotency_key: format!("idem-prov-{n}"),
        mode,
    }
}

/// The four combinations every operation runs under.
pub const MATRIX: [(Mode, Profile); 4] = [
    (Mode::DryRun, Profile::ReadOnly),
    (Mode::DryRun, Profile::Write),
    (Mode::Live, Profile::ReadOnly),
    (Mode::Live, Profile::Write),
];

/// A loaded provider with the temp dir holding its config and input files.
pub struct Loaded {
    /// The provider.
    pub provider: Provider,
    /// Holds the config, the data dir and the input dir while the provider lives.
    pub _dir: TempDir,
}

/// What to grant a provider in the generated config.
pub struct Grant<'a> {
    /// Domain.
    pub domain: &'a str,
    /// Component path.
    pub component: &'a str,
    /// Granted origins.
    pub origins: Vec<String>,
    /// `graphql_read_paths` (none: the key is left out).
    pub graphql_read_paths: Vec<&'a str>,
    /// `(origin, header, value template)`.
    pub credentials: Vec<(String, &'a str, &'a str)>,
    /// Settings.
    pub settings: Vec<(&'a str, String)>,
    /// Files of the input dir `media` (`None`: no input dir at all).
    pub media: Option<Vec<(&'a str, Vec<u8>)>>,
    /// Secret environment.
    pub env: BTreeMap<String, String>,
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// Writes a config for one provider into a temp dir and loads it.
pub async fn load(grant: Grant<'_>) -> Result<Loaded, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("data_dir = \"data\"\n\n[[providers]]\n");
    text += &format!("domain = {}\n", toml_str(grant.domain));
    text += &format!("component = {}\n", toml_str(grant.component));
    text += &format!(
        "origins = [{}]\n",
        grant
            .origins
            .iter()
            .map(|o| toml_str(o))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !grant.graphql_read_paths.is_empty() {
        text += &format!(
            "graphql_read_paths = [{}]\n",
            grant
                .graphql_read_paths
                .iter()
                .map(|p| toml_str(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(files) = &grant.media {
        let media = dir.path().join("media");
        std::fs::create_dir_all(&media).expect("media dir");
        for (name, bytes) in files {
            std::fs::write(media.join(name), bytes).expect("media file");
        }
        text += "[providers.input_dirs]\nmedia = \"media\"\n";
    }
    if !grant.settings.is_empty() {
        text += "[providers.settings]\n";
        for (k, v) in &grant.settings {
            text += &format!("{k} = {}\n", toml_str(v));
        }
    }
    for (origin, header, value) in &grant.credentials {
        text += &format!(
            "[[providers.credentials]]\norigin = {}\nheader = {}\nvalue = {}\n",
            toml_str(origin),
            toml_str(header),
            toml_str(value)
        );
    }
    let file = dir.path().join("autopack-host.toml");
    std::fs::write(&file, &text).expect("config");
    let config = HostConfig::load(&file).map_err(|e| e.to_string())?;
    let entry = config.providers[0].clone();
    let provider = runtime()
        .load_provider(&config, &entry, &grant.env)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Loaded {
        provider,
        _dir: dir,
    })
}

/// Validates `params`, then executes the normalized params (the host's way).
pub async fn run(
    provider: &Provider,
    operation: &str,
    params: &Value,
    mode: Mode,
    profile: Profile,
) -> (CallReport<Validated>, CallReport<Outcome>) {
    let c = ctx(mode);
    provider
        .check_params(operation, params)
        .unwrap_or_else(|e| panic!("{operation}: host schema refused {params}: {e:?}"));
    let validated = provider.validate(&c, operation, &params.to_string()).await;
    let normalized = match &validated.result {
        Ok(v) => v.params.to_string(),
        Err(e) => panic!("{operation}: validate refused {params}: {e}"),
    };
    let report = provider.execute(&c, operation, &normalized, profile).await;
    (validated, report)
}

/// The outcome, or a panic showing the whole report.
pub fn outcome(report: &CallReport<Outcome>) -> &Outcome {
    match &report.result {
        Ok(o) => o,
        Err(e) => panic!("expected an outcome, got {e}\nreport: {report:#?}"),
    }
}

/// The provider error, or a panic showing the whole report.
pub fn provider_error(report: &CallReport<Outcome>) -> &ProviderError {
    match &report.result {
        Err(CallError::Provider(e)) => e,
        other => panic!("expected a provider error, got {other:?}\nreport: {report:#?}"),
    }
}

/// Asserts no secret value — and no redaction marker, which would mean the
/// host had to hide one — appears anywhere in a report (result, log,
/// recorded requests, artifacts).
pub fn assert_no_secret<T: serde::Serialize>(report: &CallReport<T>, secrets: &[&str]) {
    let text = serde_json::to_string(report).expect("report json");
    for s in secrets {
        assert!(!text.contains(s), "secret leaked into the report: {text}");
    }
    assert!(
        !text.contains("[REDACTED"),
        "the host had to redact a secret from the report: {text}"
    );
}

/// Asserts a secret reached the fake server only in `header` of each request.
pub fn assert_secret_only_in_header(hits: &[Hit], secret: &str, header: &str, expected: &str) {
    for h in hits {
        assert_eq!(
            h.header(header),
            Some(expected),
            "{} lacks the injected credential",
            h.key()
        );
        let elsewhere = h.path.contains(secret)
            || h.query.contains(secret)
            || String::from_utf8_lossy(&h.body).contains(secret)
            || h.headers
                .iter()
                .any(|(k, v)| !k.eq_ignore_ascii_case(header) && v.contains(secret));
        assert!(!elsewhere, "secret outside the credential header: {h:?}");
    }
}
