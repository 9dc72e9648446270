//! The test harness: a counting fake server, a config with the two providers, policies in a
//! temp dir, a shared runtime, and a fresh database per test.

use crate::common::serve::Served;
use autopack_host::config::HostConfig;
use autopack_host::governance::{ActionId, Timestamp};
use autopack_host::ledger::Action;
use autopack_host::runtime::{Runtime, RuntimeOptions};
use autopack_host::service::{Actor, AuthMethod, Host, ProposeRequest, StartOptions, TestClock};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, Uri};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tempfile::TempDir;

/// 2026-01-05T15:00:00Z, a Monday.
pub const NOW: Timestamp = Timestamp(1_767_625_200);

/// The secret the well-behaved guest needs injected.
pub const TOKEN: &str = "canary-s3cr3t-7f3a9c2e41d8b6";

/// The default policy of project `demo`.
pub const POLICY: &str = r#"
project = "demo"
approvals_required = 1
approval_lifetime = "1h"

[caps]
per_action = ["5.00 USD"]
per_day = ["10.00 USD"]
per_month = ["100.00 USD"]

[domains.example]
operations = ["echo", "get_status", "post_note"]

[domains.wellbehaved]
operations = ["request"]
"#;

/// One request the fake server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// A loopback server answering every request with JSON and recording it.
pub struct FakeServer {
    pub origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _served: Served,
}

impl FakeServer {
    pub async fn start() -> FakeServer {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let app = Router::new().fallback(handle).with_state(seen.clone());
        let served = Served::start(app).await;
        FakeServer {
            origin: served.origin(),
            seen,
            _served: served,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests other than GET and HEAD.
    pub fn writes(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method != "GET" && s.method != "HEAD")
            .collect()
    }
}

async fn handle(
    State(seen): State<Arc<Mutex<Vec<Seen>>>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> axum::Json<Value> {
    let n = {
        let mut s = seen.lock().unwrap();
        s.push(Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        s.len()
    };
    axum::Json(json!({"id": format!("note-{n}"), "ok": true}))
}

/// The one engine all tests share, with an on-disk compile cache.
pub fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Arc::new(
                Runtime::new(&RuntimeOptions {
                    pooling: false,
                    max_instances: 256,
                    cache_dir: Some(
                        Path::new(env!("CARGO_TARGET_TMPDIR")).join("governance-compile-cache"),
                    ),
                })
                .unwrap(),
            )
        })
        .clone()
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// One test's world: temp dir, fake server, config text, database.
pub struct World {
    pub dir: TempDir,
    pub server: FakeServer,
    pub clock: Arc<TestClock>,
    pub database_url: String,
    pg_name: Option<String>,
    pub example_component: PathBuf,
    pub wellbehaved_component: PathBuf,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_server() -> String {
    std::env::var("AUTOPACK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

fn pg_with_db(server: &str, db: &str) -> String {
    let after = server.find("://").map_or(0, |i| i + 3);
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let root = match base[after..].find('/') {
        Some(i) => &base[..after + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

static PG_SEQ: AtomicU64 = AtomicU64::new(0);

impl World {
    pub async fn new(db: Db) -> World {
        Self::with_policy(db, POLICY).await
    }

    pub async fn with_policy(db: Db, policy: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("policies/demo.toml"), policy).unwrap();
        let server = FakeServer::start().await;
        let (database_url, pg_name) = match db {
            Db::Sqlite => (
                format!("sqlite://{}", dir.path().join("data/autopack.db").display()),
                None,
            ),
            Db::Postgres => {
                use sqlx::Connection;
                let server_url = pg_server();
                let mut admin = sqlx::PgConnection::connect(&server_url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {server_url}: {e}"));
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                let name = format!(
                    "autopack_host_gov_{}_{}_{}",
                    std::process::id(),
                    nanos % 1_000_000_000_000,
                    PG_SEQ.fetch_add(1, Ordering::Relaxed)
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let _ = admin.close().await;
                (pg_with_db(&server_url, &name), Some(name))
            }
        };
        World {
            dir,
            server,
            clock: Arc::new(TestClock::new(NOW)),
            database_url,
            pg_name,
            example_component: PathBuf::from(autopack_test_artifacts::AUTOPACK_EXAMPLE),
            wellbehaved_component: PathBuf::from(autopack_test_artifacts::GUEST_WELLBEHAVED),
        }
    }

    /// Drops the PostgreSQL database, if any.
    pub async fn cleanup(&self) {
        if let Some(name) = &self.pg_name {
            use sqlx::Connection;
            if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_server()).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
                let _ = admin.close().await;
            }
        }
    }

    pub fn config_text(&self) -> String {
        let o = &self.server.origin;
        format!(
            r#"
data_dir = "{data}"
database_url = "{db}"
policies_dir = "{policies}"

[[providers]]
domain = "example"
component = "{example}"
origins = ["{o}"]
settings = {{ base_url = "{o}" }}

[[providers]]
domain = "wellbehaved"
component = "{wellbehaved}"
origins = ["{o}"]
settings = {{ target = "{o}" }}

[[providers.credentials]]
origin = "{o}"
header = "authorization"
value = "Bearer {{WELLBEHAVED_TOKEN}}"
"#,
            data = self.dir.path().join("data").display(),
            db = self.database_url,
            policies = self.dir.path().join("policies").display(),
            example = self.example_component.display(),
            wellbehaved = self.wellbehaved_component.display(),
        )
    }

    pub fn config(&self) -> HostConfig {
        self.config_with("")
    }

    /// [`World::config`] with more `[[providers]]` entries appended.
    pub fn config_with(&self, more_providers: &str) -> HostConfig {
        let file = self.dir.path().join("autopack-host.toml");
        let text = self.config_text() + more_providers;
        std::fs::write(&file, &text).unwrap();
        HostConfig::load(&file).unwrap_or_else(|e| panic!("config: {e}\n{text}"))
    }

    pub fn env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("WELLBEHAVED_TOKEN".to_string(), TOKEN.to_string())])
    }

    pub async fn host(&self) -> Host {
        self.host_with_env(self.env()).await
    }

    pub async fn host_with_env(&self, env: BTreeMap<String, String>) -> Host {
        self.host_with_config(self.config(), env).await
    }

    pub async fn host_with_config(
        &self,
        config: HostConfig,
        env: BTreeMap<String, String>,
    ) -> Host {
        Host::start_with(
            &config,
            &env,
            self.clock.clone(),
            StartOptions {
                instance_id: Some("test-instance".into()),
                runtime: Some(runtime()),
                ..StartOptions::default()
            },
        )
        .await
        .unwrap()
    }

    /// Turns the global switch and both domains on.
    pub async fn all_on(&self, host: &Host) {
        for scope in ["global", "example", "wellbehaved"] {
            host.set_switch(&op(), scope, true, "test").await.unwrap();
        }
    }
}

pub fn actor(name: &str) -> Actor {
    Actor::new(name.parse().unwrap(), AuthMethod::Test).with_request_id(format!("req-{name}"))
}

/// The proposer.
pub fn pat() -> Actor {
    actor("pat")
}

/// An approver.
pub fn alice() -> Actor {
    actor("alice")
}

/// Another approver.
pub fn bob() -> Actor {
    actor("bob")
}

/// The operator.
pub fn op() -> Actor {
    actor("olga")
}

/// A live tier C write through the well-behaved guest: `POST {target}{path}`.
pub fn write_req(path: &str) -> ProposeRequest {
    ProposeRequest::new(
        "demo",
        "wellbehaved",
        "request",
        json!({"method": "post", "url": path, "body": "hello"}),
    )
    .live()
}

/// Like [`write_req`] with a declared spend in US cents.
pub fn spend_req(path: &str, cents: i64) -> ProposeRequest {
    ProposeRequest::new(
        "demo",
        "wellbehaved",
        "request",
        json!({"method": "POST", "url": path, "spend": {"minor_units": cents, "unit": "USD"}}),
    )
    .live()
}

/// Proposes `req` as pat and approves it as alice.
pub async fn approved(host: &Host, req: ProposeRequest) -> Action {
    let a = host.propose(&pat(), req).await.unwrap().action;
    assert_eq!(a.status.as_str(), "pending_approval");
    host.approve(&alice(), &a.id, a.payload_hash.as_str())
        .await
        .unwrap()
}

/// The code of the reason that refused a decision.
pub fn denial_code(decision: &Value) -> String {
    decision["reasons"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["outcome"] == "fail"))
        .and_then(|r| r["code"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// The recorded audit events of one action, in order.
pub async fn events_of(host: &Host, id: &ActionId) -> Vec<String> {
    host.ledger()
        .audit_records(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action_id.as_deref() == Some(id.as_str()))
        .map(|r| r.event)
        .collect()
}

/// Every audit event name in the chain.
pub async fn all_events(host: &Host) -> Vec<String> {
    host.ledger()
        .audit_records(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect()
}

/// A copy of `component` with a custom section appended: same behaviour, another sha256.
pub fn rebuilt_component(component: &Path, dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(component).unwrap();
    let name = b"autopack-test-rebuild";
    let payload = b"v2";
    let size = 1 + name.len() + payload.len();
    bytes.push(0); // custom section id
    bytes.push(u8::try_from(size).unwrap()); // LEB128, < 128
    bytes.push(u8::try_from(name.len()).unwrap());
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    let out = dir.join("wellbehaved-v2.wasm");
    std::fs::write(&out, bytes).unwrap();
    out
}
