//! The host under test: a temp dir with the config, two project policies and the data dir;
//! a loopback fake of the example provider's notes service that records every request; and
//! the real `autopack-host serve` on a random loopback port.

use crate::common::host_bin::{self, Running, q};
use crate::common::serve::Served;
use crate::http::{Reply, call};
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

pub use crate::common::host_bin::Principal;

pub const PROPOSER: Principal = Principal {
    id: "penny",
    key: "apk_ui_penny_Q7m2Xr9Lw4Tc1Vb8Nd5Ks3Hf6Jy0Pz",
    roles: &["proposer"],
    projects: None,
};
pub const APPROVER: Principal = Principal {
    id: "avery",
    key: "apk_ui_avery_Z4k8Wn1Rq6Ld3Tx9Mc2Vs7Bh5Fy0Gp",
    roles: &["approver"],
    projects: None,
};
/// An approver who may see two projects: listing needs a `project` per call.
pub const SCOPED_APPROVER: Principal = Principal {
    id: "sasha",
    key: "apk_ui_sasha_L3v9Qm6Tw1Xk4Rd8Nb2Hc7Jf5Yz0Gs",
    roles: &["approver"],
    projects: Some(&["demo", "other"]),
};
pub const OPERATOR: Principal = Principal {
    id: "otto",
    key: "apk_ui_otto_M8c3Vx6Lq1Tn9Wk4Rb7Hd2Js5Fy0Gz",
    roles: &["operator"],
    projects: None,
};

const PRINCIPALS: [&Principal; 4] = [&PROPOSER, &APPROVER, &SCOPED_APPROVER, &OPERATOR];

const DEMO_POLICY: &str = r#"
project = "demo"
approvals_required = 1
approval_lifetime = "1h"
proposer_may_approve = []

[domains.example]
operations = ["echo", "get_status", "post_note"]
"#;

const OTHER_POLICY: &str = r#"
project = "other"

[domains.example]
operations = ["echo"]
"#;

/// One request the fake notes service received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// The example provider's notes service on loopback: `GET /status`, `POST /notes`; it
/// records every request.
pub struct Notes {
    pub origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _served: Served,
}

impl Notes {
    pub async fn start() -> Notes {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
            let log = log.clone();
            async move {
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(Seen {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    log.len()
                };
                match (method.as_str(), uri.path()) {
                    ("GET", "/status") => (StatusCode::OK, axum::Json(json!({"ok": true}))),
                    ("POST", "/notes") => (
                        StatusCode::CREATED,
                        axum::Json(json!({"id": format!("note-{n}")})),
                    ),
                    _ => (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({"error": "no such route"})),
                    ),
                }
            }
        });
        let served = Served::start(app).await;
        Notes {
            origin: served.origin(),
            seen,
            _served: served,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests so far that were not reads.
    pub fn writes(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method != "GET" && s.method != "HEAD")
            .collect()
    }
}

fn config_text(dir: &Path, notes: &str) -> String {
    let mut t = host_bin::paths_toml(dir);
    t.push_str(&host_bin::api_keys_toml(&PRINCIPALS));
    let _ = write!(
        t,
        "\n[[providers]]\ndomain = \"example\"\ncomponent = {}\norigins = [{}]\n[providers.settings]\nbase_url = {}\n",
        q(autopack_test_artifacts::AUTOPACK_EXAMPLE),
        q(notes),
        q(notes)
    );
    t
}

/// A running `autopack-host serve` and its home.
pub struct Host {
    server: Running,
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Host {
    /// Writes the config and policies and starts the binary; waits until it listens.
    pub async fn start(notes: &Notes) -> Host {
        let dir = tempfile::tempdir().expect("tempdir");
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).expect("policies dir");
        std::fs::write(policies.join("demo.toml"), DEMO_POLICY).expect("policy");
        std::fs::write(policies.join("other.toml"), OTHER_POLICY).expect("policy");
        let config = dir.path().join("autopack-host.toml");
        std::fs::write(&config, config_text(dir.path(), &notes.origin)).expect("config");
        let log = dir.path().join("server.log");
        let server = Running::start(host_bin::command(dir.path()), &config, log).await;
        Host {
            addr: server.addr,
            server,
            _dir: dir,
        }
    }

    /// The page's address.
    pub fn ui(&self) -> String {
        format!("http://{}/ui", self.addr)
    }

    pub async fn get(&self, p: &Principal, path: &str) -> Reply {
        call(self.addr, "GET", path, Some(p.key), None).await
    }

    pub async fn post(&self, p: &Principal, path: &str, body: Option<&Value>) -> Reply {
        call(self.addr, "POST", path, Some(p.key), body).await
    }

    /// Turns the global and `example` switches on, as the operator.
    pub async fn switches_on(&self) {
        for scope in ["global", "example"] {
            call(
                self.addr,
                "PUT",
                &format!("/api/switches/{scope}"),
                Some(OPERATOR.key),
                Some(&json!({"state": "on", "reason": "browser test"})),
            )
            .await
            .expect(200);
        }
    }

    /// Proposes a live `post_note` in project `demo` as the proposer; it must wait for
    /// approval. Returns the action.
    pub async fn propose_note(&self, text: &str) -> Value {
        let body = json!({"project": "demo", "domain": "example", "operation": "post_note",
                          "params": {"text": text}, "mode": "live"});
        let a = self
            .post(&PROPOSER, "/api/actions", Some(&body))
            .await
            .expect(201)
            .json;
        assert_eq!(a["status"], "pending_approval", "{a}");
        a
    }

    /// The action as `GET /api/actions/{id}` shows it to the approver.
    pub async fn action(&self, id: &str) -> Value {
        self.get(&APPROVER, &format!("/api/actions/{id}"))
            .await
            .expect(200)
            .json
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        self.server.log_text()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.server.kill();
        if std::thread::panicking() {
            eprintln!("autopack-host's log:\n{}", self.log_text());
        }
    }
}
