//! The HTTP API in process: the real router over a real `Host` (the example provider, SQLite
//! in a temp dir), requests sent with `tower::ServiceExt::oneshot`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod artifacts;
mod auth_coverage;
mod docs;
mod hygiene;
mod roles;

use autopack_host::api::auth::{Authenticator, key_hash_hex};
use autopack_host::api::metrics::Metrics;
use autopack_host::api::{AppState, app};
use autopack_host::config::HostConfig;
use autopack_host::service::{Host, StartOptions, SystemClock};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

/// A principal of the test app: id, key, roles, projects.
pub type TestPrincipal = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
);

/// Principals of the test app.
pub const PRINCIPALS: &[TestPrincipal] = &[
    (
        "admin",
        "apk_test_admin_0000000000000000000000000",
        &["admin"],
        None,
    ),
    (
        "viewer",
        "apk_test_viewer_000000000000000000000000",
        &["viewer"],
        None,
    ),
    (
        "proposer",
        "apk_test_proposer_0000000000000000000000",
        &["proposer"],
        None,
    ),
    (
        "proposer2",
        "apk_test_proposer2_000000000000000000000",
        &["proposer"],
        None,
    ),
    (
        "approver",
        "apk_test_approver_0000000000000000000000",
        &["approver"],
        None,
    ),
    (
        "operator",
        "apk_test_operator_0000000000000000000000",
        &["operator"],
        None,
    ),
    (
        "other-admin",
        "apk_test_other_admin_00000000000000000000",
        &["admin"],
        Some(&["other"]),
    ),
];

/// The key of a principal.
pub fn key(id: &str) -> &'static str {
    PRINCIPALS.iter().find(|p| p.0 == id).unwrap().1
}

const POLICY_DEMO: &str = r#"
project = "demo"
approvals_required = 1
approval_lifetime = "1h"

[caps]
per_day = ["10.00 USD"]

[domains.example]
operations = ["echo", "get_status", "post_note"]
"#;

const POLICY_OTHER: &str = r#"
project = "other"

[domains.example]
operations = ["echo"]
"#;

/// A test app and what it runs on.
pub struct TestApp {
    /// The application.
    pub router: Router,
    /// The service under it.
    pub host: Arc<Host>,
    _dir: TempDir,
}

fn config_text(dir: &std::path::Path, extra: &str) -> String {
    let mut keys = String::new();
    for (id, k, roles, projects) in PRINCIPALS {
        keys.push_str(&format!(
            "[[api_keys]]\nid = \"{id}\"\nsha256 = \"{}\"\nroles = {:?}\n",
            key_hash_hex(k),
            roles
        ));
        if let Some(ps) = projects {
            keys.push_str(&format!("projects = {ps:?}\n"));
        }
    }
    format!(
        r#"data_dir = {data:?}
policies_dir = {policies:?}
{extra}

[runtime]
pooling = false

[[providers]]
domain = "example"
component = {component:?}
origins = ["http://127.0.0.1:9"]
[providers.settings]
base_url = "http://127.0.0.1:9"

{keys}"#,
        data = dir.join("data").display().to_string(),
        policies = dir.join("policies").display().to_string(),
        component = autopack_test_artifacts::AUTOPACK_EXAMPLE,
    )
}

impl TestApp {
    /// An app on the default test config.
    pub async fn new() -> TestApp {
        TestApp::with_config("").await
    }

    /// An app whose config has `extra` top-level TOML (before the tables).
    pub async fn with_config(extra: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("policies/demo.toml"), POLICY_DEMO).unwrap();
        std::fs::write(dir.path().join("policies/other.toml"), POLICY_OTHER).unwrap();
        let text = config_text(dir.path(), extra);
        let file = dir.path().join("autopack-host.toml");
        std::fs::write(&file, &text).unwrap();
        let config = HostConfig::load(&file).unwrap();
        let env: BTreeMap<String, String> = BTreeMap::new();
        let metrics = Arc::new(Metrics::new());
        let host = Arc::new(
            Host::start_with(
                &config,
                &env,
                Arc::new(SystemClock),
                StartOptions {
                    observer: Some(metrics.clone()),
                    ..StartOptions::default()
                },
            )
            .await
            .unwrap(),
        );
        let (auth, notes) = Authenticator::from_config(&config, &env, true).unwrap();
        assert!(notes.generated_key.is_none());
        let router = app(AppState::new(
            host.clone(),
            auth,
            config.server.clone(),
            metrics,
        ));
        TestApp {
            router,
            host,
            _dir: dir,
        }
    }

    /// Sends a request; returns status, headers and the body as JSON (or a string).
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request as `principal` (None: no credentials).
    pub async fn call(
        &self,
        principal: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.send(request(principal.map(key), method, path, body))
            .await
    }

    /// Turns the global and `example` switches on or off, as the operator.
    pub async fn switches(&self, on: bool) {
        let state = if on { "on" } else { "off" };
        for scope in ["global", "example"] {
            let r = self
                .call(
                    Some("operator"),
                    "PUT",
                    &format!("/api/switches/{scope}"),
                    Some(json!({"state": state, "reason": "test"})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
    }

    /// Proposes as `proposer` and returns the action JSON.
    pub async fn propose(&self, body: Value) -> Value {
        let r = self
            .call(Some("proposer"), "POST", "/api/actions", Some(body))
            .await;
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
        r.body
    }
}

/// A request with an optional `X-API-Key`.
pub fn request(key: Option<&str>, method: &str, path: &str, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(k) = key {
        b = b.header("x-api-key", k);
    }
    match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: axum::http::HeaderMap,
    /// The body as JSON (a JSON string if it was not JSON).
    pub body: Value,
}

impl Reply {
    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A live `post_note` of project `demo` (tier B: waits for approval).
pub fn live_note(text: &str) -> Value {
    json!({"project": "demo", "domain": "example", "operation": "post_note",
           "params": {"text": text}, "mode": "live"})
}
