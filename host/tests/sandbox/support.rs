//! Shared pieces of the sandbox tests: a counting loopback HTTP server, a raw
//! TCP/UDP listener that counts connections, a builder that writes a host
//! config for one guest into a temp dir and loads it, and leak checks.
//!
//! Every test gets its own servers (ports from `127.0.0.1:0`) and its own temp
//! dir; the one thing tests share is the [`runtime`] (one engine, like the
//! real host), so the hostile tests also show that one call's failure does not
//! disturb calls running beside it.

use crate::common::serve::Served;
use autopack_host::config::HostConfig;
use autopack_host::governance::Mode;
use autopack_host::runtime::types::{CallContext, Outcome};
use autopack_host::runtime::{CallReport, LoadError, Provider, Runtime, RuntimeOptions};
use autopack_host::sandbox::egress::Profile;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tempfile::TempDir;

/// The value of every test secret: long enough to be redacted, and made of
/// characters that survive URLs, headers, JSON and artifact names unescaped,
/// so a leak cannot hide behind an encoding.
pub const CANARY: &str = "canary-s3cr3t-7f3a9c2e41d8b6";

/// The one engine all tests share, with an on-disk compile cache under
/// Cargo's temp dir so a rerun does not recompile the guests.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::new(&RuntimeOptions {
            pooling: true,
            max_instances: 32,
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-compile-cache")),
        })
        .expect("runtime")
    })
}

/// A call context in `mode`.
pub fn ctx(mode: Mode) -> CallContext {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    CallContext {
        action_id: format!("act_test_{n}"),
        project: "sandbox-tests".into(),
        idempotency_key: format!("idem-{n}"),
        mode,
    }
}

/// One request the fake server saw.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Method as sent.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy).
    pub body: String,
}

impl Hit {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct ServerState {
    hits: Mutex<Vec<Hit>>,
}

/// A loopback HTTP server that records every request it receives.
///
/// Routes (any method):
/// - `/hang…`: never answers;
/// - `/big/<n>`: `n` bytes of `x`;
/// - `/redirect/metadata`: `302` to the cloud metadata address;
/// - `/redirect/port/<p>`: `302` to `http://127.0.0.1:<p>/stolen`;
/// - `/redirect/same`: `302` to `/echo` on this server;
/// - `/notes` (POST): `201` with `{"id": "note-1"}`;
/// - anything else: `200` with a JSON echo of method, path, headers and body.
pub struct FakeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<ServerState>,
    _served: Served,
}

impl FakeServer {
    /// Starts a server on `127.0.0.1:0`.
    pub async fn start() -> FakeServer {
        let state = Arc::new(ServerState::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let served = Served::start(app).await;
        FakeServer {
            addr: served.addr,
            state,
            _served: served,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().expect("hits").clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.state.hits.lock().expect("hits").len()
    }

    /// How many requests with this method (exact, case-sensitive).
    pub fn count_method(&self, method: &str) -> usize {
        self.hits().iter().filter(|h| h.method == method).count()
    }

    /// How many requests whose method is not `GET` or `HEAD`.
    pub fn count_writes(&self) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.method != "GET" && h.method != "HEAD")
            .count()
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    let hit = Hit {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.hits.lock().expect("hits").push(hit.clone());
    let p = uri.path();
    if p.starts_with("/hang") {
        std::future::pending::<()>().await;
    }
    if let Some(n) = p.strip_prefix("/big/") {
        let n: usize = n.parse().unwrap_or(0);
        return (StatusCode::OK, vec![b'x'; n]).into_response();
    }
    let redirect = |to: String| (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
    if p == "/redirect/metadata" {
        return redirect("http://169.254.169.254/latest/meta-data/".into());
    }
    if let Some(port) = p.strip_prefix("/redirect/port/") {
        return redirect(format!("http://127.0.0.1:{port}/stolen"));
    }
    if p == "/redirect/same" {
        return redirect("/echo".into());
    }
    if p == "/notes" && method == Method::POST {
        return (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"id": "note-1"}).to_string(),
        )
            .into_response();
    }
    let headers: BTreeMap<String, String> = hit.headers.into_iter().collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"method": hit.method, "path": path, "headers": headers, "body": hit.body})
            .to_string(),
    )
        .into_response()
}

/// A raw TCP listener and a UDP socket on loopback that count what reaches them.
pub struct RawListener {
    /// The TCP address.
    pub tcp: SocketAddr,
    /// The UDP address.
    pub udp: SocketAddr,
    accepted: Arc<AtomicUsize>,
    udp_socket: std::net::UdpSocket,
    task: tokio::task::JoinHandle<()>,
}

impl RawListener {
    /// Starts both on `127.0.0.1:0`.
    pub async fn start() -> RawListener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind tcp");
        let tcp = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((_stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let udp_socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        udp_socket.set_nonblocking(true).expect("nonblocking");
        let udp = udp_socket.local_addr().expect("udp addr");
        RawListener {
            tcp,
            udp,
            accepted,
            udp_socket,
            task,
        }
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Datagrams waiting on the UDP socket.
    pub fn datagrams(&self) -> usize {
        let mut buf = [0u8; 64];
        let mut n = 0;
        while self.udp_socket.recv_from(&mut buf).is_ok() {
            n += 1;
        }
        n
    }
}

impl Drop for RawListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The content of `hello.txt` in every test's input dir.
pub const INPUT_HELLO: &str = "hello from the operator's input dir\n";

/// A host config for one guest, written to a temp dir and loaded from there.
pub struct Setup {
    domain: String,
    component: PathBuf,
    sha256: Option<String>,
    origins: Vec<String>,
    settings: Vec<(String, String)>,
    credentials: Vec<(String, String, String)>,
    limits: BTreeMap<String, u64>,
    input: bool,
    env: BTreeMap<String, String>,
    extra: String,
}

/// A loaded provider with the temp dir holding its config, data and input dirs.
pub struct Loaded {
    /// The provider.
    pub provider: Provider,
    /// The temp dir (config, `data/`, `input/`).
    pub dir: TempDir,
    /// The input dir granted as `media` (`/input/media` in the guest), if any.
    pub input_dir: PathBuf,
}

impl Setup {
    /// A config entry for `domain` served by the component at `component`,
    /// with the tests' tight default limits and no grants.
    pub fn new(domain: &str, component: &str) -> Setup {
        let limits = [
            ("memory_mib", 32),
            // Ends an endless loop in well under a second, yet is far more
            // than any honest call of the test guests needs.
            ("cpu_fuel", 200_000_000),
            ("wall_time_ms", 10_000),
            ("http_timeout_ms", 2_000),
            ("max_log_bytes", 64 * 1024),
            ("max_requests", 8),
            ("max_outcome_bytes", 1 << 20),
            ("max_artifacts", 4),
            ("max_artifact_bytes", 2 << 20),
            ("max_response_bytes", 64 * 1024),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Setup {
            domain: domain.into(),
            component: component.into(),
            sha256: None,
            origins: Vec::new(),
            settings: Vec::new(),
            credentials: Vec::new(),
            limits,
            input: false,
            env: BTreeMap::new(),
            extra: String::new(),
        }
    }

    /// Grants an origin.
    pub fn origin(mut self, origin: &str) -> Setup {
        self.origins.push(origin.into());
        self
    }

    /// Sets a provider setting.
    pub fn setting(mut self, key: &str, value: &str) -> Setup {
        self.settings.push((key.into(), value.into()));
        self
    }

    /// Adds a credential rule.
    pub fn credential(mut self, origin: &str, header: &str, value: &str) -> Setup {
        self.credentials
            .push((origin.into(), header.into(), value.into()));
        self
    }

    /// Overrides one limit.
    pub fn limit(mut self, key: &str, value: u64) -> Setup {
        self.limits.insert(key.into(), value);
        self
    }

    /// Pins a digest.
    pub fn sha256(mut self, sha: &str) -> Setup {
        self.sha256 = Some(sha.into());
        self
    }

    /// Grants the input dir `media` (created with `hello.txt`).
    pub fn input_dir(mut self) -> Setup {
        self.input = true;
        self
    }

    /// Puts a variable into the environment secrets are loaded from.
    pub fn env(mut self, name: &str, value: &str) -> Setup {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Appends raw TOML lines to the provider entry (before its tables).
    pub fn raw(mut self, toml: &str) -> Setup {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    /// The config text; paths are TOML literal strings.
    pub fn toml(&self, input_dir: &Path) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "[[providers]]");
        let _ = writeln!(t, "domain = \"{}\"", self.domain);
        let _ = writeln!(t, "component = '{}'", self.component.display());
        if let Some(sha) = &self.sha256 {
            let _ = writeln!(t, "sha256 = \"{sha}\"");
        }
        let origins: Vec<String> = self.origins.iter().map(|o| format!("\"{o}\"")).collect();
        let _ = writeln!(t, "origins = [{}]", origins.join(", "));
        t.push_str(&self.extra);
        if self.input {
            let _ = writeln!(t, "[providers.input_dirs]");
            let _ = writeln!(t, "media = '{}'", input_dir.display());
        }
        if !self.settings.is_empty() {
            let _ = writeln!(t, "[providers.settings]");
            for (k, v) in &self.settings {
                let _ = writeln!(t, "{k} = \"{v}\"");
            }
        }
        let _ = writeln!(t, "[providers.limits]");
        for (k, v) in &self.limits {
            let _ = writeln!(t, "{k} = {v}");
        }
        for (origin, header, value) in &self.credentials {
            let _ = writeln!(t, "[[providers.credentials]]");
            let _ = writeln!(t, "origin = \"{origin}\"");
            let _ = writeln!(t, "header = \"{header}\"");
            let _ = writeln!(t, "value = \"{value}\"");
        }
        t
    }

    async fn try_load(self) -> (Result<Provider, LoadError>, TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let input_dir = dir.path().join("input").join("media");
        std::fs::create_dir_all(&input_dir).expect("input dir");
        std::fs::write(input_dir.join("hello.txt"), INPUT_HELLO).expect("hello.txt");
        let file = dir.path().join("autopack-host.toml");
        std::fs::write(&file, self.toml(&input_dir)).expect("write config");
        let config = HostConfig::load(&file).expect("config parses");
        let entry = config.provider(&self.domain).expect("entry");
        let result = runtime().load_provider(&config, entry, &self.env).await;
        (result, dir, input_dir)
    }

    /// Writes the config and loads the provider; panics if that fails.
    pub async fn load(self) -> Loaded {
        let (result, dir, input_dir) = self.try_load().await;
        let provider = result.unwrap_or_else(|e| panic!("load failed: {e}"));
        Loaded {
            provider,
            dir,
            input_dir,
        }
    }

    /// Writes the config and loads the provider, expecting a load error.
    pub async fn load_err(self) -> (LoadError, TempDir) {
        let (result, dir, _) = self.try_load().await;
        match result {
            Ok(_) => panic!("load succeeded, expected an error"),
            Err(e) => (e, dir),
        }
    }
}

/// The well-behaved guest granted `server` with the canary injected as a bearer token.
pub fn wellbehaved(server: &FakeServer) -> Setup {
    Setup::new("wellbehaved", autopack_test_artifacts::GUEST_WELLBEHAVED)
        .origin(&server.origin())
        .credential(
            &server.origin(),
            "Authorization",
            "Bearer {WELLBEHAVED_TOKEN}",
        )
        .env("WELLBEHAVED_TOKEN", CANARY)
        .setting("greeting", "hello operator")
        .setting("target", &server.origin())
        .input_dir()
}

impl Loaded {
    /// `execute` in dry-run mode under `profile`.
    pub async fn exec(&self, op: &str, params: Value, profile: Profile) -> CallReport<Outcome> {
        self.provider
            .execute(&ctx(Mode::DryRun), op, &params.to_string(), profile)
            .await
    }

    /// `execute` in live mode under the write profile.
    pub async fn exec_live(&self, op: &str, params: Value) -> CallReport<Outcome> {
        self.provider
            .execute(&ctx(Mode::Live), op, &params.to_string(), Profile::Write)
            .await
    }
}

/// The outcome's `data`, or a panic naming the error and the log.
pub fn data(report: &CallReport<Outcome>) -> &Value {
    match &report.result {
        Ok(o) => &o.data,
        Err(e) => panic!(
            "expected success, got `{}`: {e}\nlog: {:#?}\nrequests: {:#?}",
            e.code(),
            report.log,
            report.requests
        ),
    }
}

/// The error code of a failed call, or a panic showing the outcome.
pub fn code<T: Debug>(report: &CallReport<T>) -> &'static str {
    match &report.result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

/// Every place in a report where `needle` occurs (result, log, requests,
/// artifact names, types and contents), for leak checks.
pub fn leaks<T: Debug>(report: &CallReport<T>, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let result = format!("{:?}", report.result);
    if result.contains(needle) {
        found.push(format!("result: {result}"));
    }
    if let Ok(json) = serde_json::to_string(&report.result.as_ref().err())
        && json.contains(needle)
    {
        found.push(format!("error json: {json}"));
    }
    for line in &report.log {
        if line.message.contains(needle) {
            found.push(format!("log {:?}: {}", line.source, line.message));
        }
    }
    for r in &report.requests {
        let text = format!("{r:?}");
        if text.contains(needle) {
            found.push(format!("request: {text}"));
        }
    }
    for a in &report.artifacts {
        let content = String::from_utf8_lossy(&a.data);
        if a.name.contains(needle) || a.content_type.contains(needle) || content.contains(needle) {
            found.push(format!("artifact {}: {}", a.name, content));
        }
    }
    found
}

/// Asserts the canary appears nowhere in the report.
pub fn assert_no_canary<T: Debug>(report: &CallReport<T>) {
    let found = leaks(report, CANARY);
    assert!(found.is_empty(), "the secret leaked:\n{}", found.join("\n"));
}

/// Proves the host still serves normal calls: loads the well-behaved guest on
/// the shared runtime and runs its `imports` operation.
pub async fn wellbehaved_still_works() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let report = wb.exec("imports", json!({}), Profile::ReadOnly).await;
    let d = data(&report);
    assert_eq!(d["input"]["content"], INPUT_HELLO, "{d}");
    assert_eq!(d["scratch"]["read_back_matches"], true, "{d}");
}
