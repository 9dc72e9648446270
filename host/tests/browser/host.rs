//! The host under test: a temp dir with the config, two project policies and the data dir;
//! a loopback fake of the example provider's notes service that records every request; and
//! the real `autopack-host serve` on a random loopback port.

use crate::http::{Reply, call};
use autopack_host::api::auth::key_hash_hex;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

/// One API principal: id, key, roles, project scope.
pub struct Principal {
    pub id: &'static str,
    pub key: &'static str,
    pub roles: &'static [&'static str],
    pub projects: Option<&'static [&'static str]>,
}

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

/// Variables of the test's environment that would change what the host does.
const SCRUBBED: &[&str] = &[
    "AUTOPACK_ENV",
    "AUTOPACK_API_KEY",
    "AUTOPACK_API_KEY_FILE",
    "AUTOPACK_EXTERNAL_ACTIONS",
    "AUTOPACK_LISTEN",
    "AUTOPACK_LOG",
    "AUTOPACK_LOG_FORMAT",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "JWT_PRIVATE_KEY_FILE",
    "JWT_PUBLIC_KEY_FILE",
];

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
    task: tokio::task::JoinHandle<()>,
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the notes fake");
        let addr = listener.local_addr().expect("notes fake address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Notes {
            origin: format!("http://{addr}"),
            seen,
            task,
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

impl Drop for Notes {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

fn config_text(dir: &Path, notes: &str) -> String {
    let data = dir.join("data");
    let mut t = String::new();
    let _ = writeln!(t, "data_dir = {}", q(&data.display().to_string()));
    let _ = writeln!(
        t,
        "database_url = {}",
        q(&format!("sqlite://{}", data.join("autopack.db").display()))
    );
    let _ = writeln!(
        t,
        "policies_dir = {}",
        q(&dir.join("policies").display().to_string())
    );
    for p in PRINCIPALS {
        let roles: Vec<String> = p.roles.iter().map(|r| q(r)).collect();
        let _ = write!(
            t,
            "\n[[api_keys]]\nid = {}\nsha256 = {}\nroles = [{}]\n",
            q(p.id),
            q(&key_hash_hex(p.key)),
            roles.join(", ")
        );
        if let Some(projects) = p.projects {
            let ps: Vec<String> = projects.iter().map(|p| q(p)).collect();
            let _ = writeln!(t, "projects = [{}]", ps.join(", "));
        }
    }
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
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_autopack-host"));
        cmd.current_dir(dir.path());
        for v in SCRUBBED {
            cmd.env_remove(v);
        }
        let mut child = cmd
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn autopack-host");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        // Drains stdout to its end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let addr = line
                    .strip_prefix("autopack-host listening on http://")
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok());
                if let (Some(addr), Some(tx)) = (addr, tx.take()) {
                    let _ = tx.send(addr);
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(addr)) => Host {
                child,
                addr,
                log,
                _dir: dir,
            },
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "autopack-host did not start; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
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
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("autopack-host's log:\n{}", self.log_text());
        }
    }
}
