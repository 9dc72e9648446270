//! The real `autopack-host serve` binary as a test runs it: a command with the test's own
//! environment scrubbed, the common head of its config (paths and API keys), and a running
//! server on a random loopback port that is killed when its handle is dropped.

use autopack_host::api::auth::key_hash_hex;
use std::fmt::Write as _;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

/// One API principal: id, key, roles, project scope.
pub struct Principal {
    pub id: &'static str,
    pub key: &'static str,
    pub roles: &'static [&'static str],
    pub projects: Option<&'static [&'static str]>,
}

/// Variables of the test's own environment that would change what the host does.
pub const SCRUBBED: &[&str] = &[
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

/// A command running the binary in `dir`, without the [`SCRUBBED`] variables.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for v in SCRUBBED {
        cmd.env_remove(v);
    }
    cmd
}

/// A TOML string.
pub fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// The config's paths: `data_dir` (SQLite in it) and `policies_dir` under `dir`.
pub fn paths_toml(dir: &Path) -> String {
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
    t
}

/// One `[[api_keys]]` entry per principal.
pub fn api_keys_toml(principals: &[&Principal]) -> String {
    let mut t = String::new();
    for p in principals {
        let roles: Vec<String> = p.roles.iter().map(|r| q(r)).collect();
        let _ = write!(
            t,
            "\n[[api_keys]]\nid = {}\nsha256 = {}\nroles = [{}]\n",
            q(p.id),
            q(&key_hash_hex(p.key)),
            roles.join(", ")
        );
        if let Some(projects) = p.projects {
            let ps: Vec<String> = projects.iter().map(|r| q(r)).collect();
            let _ = writeln!(t, "projects = [{}]", ps.join(", "));
        }
    }
    t
}

/// A running `autopack-host serve`; dropping it kills the process.
pub struct Running {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stderr.
    pub log: PathBuf,
}

impl Running {
    /// Runs `cmd serve --config <config> --listen 127.0.0.1:0` with stderr to `log` and
    /// waits until it says where it listens.
    pub async fn start(mut cmd: Command, config: &Path, log: PathBuf) -> Running {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = cmd
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn autopack-host");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        // Reads stdout to its end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("autopack-host listening on http://")
                    && let (Some(tx), Ok(addr)) = (tx.take(), addr.trim().parse())
                {
                    let _ = tx.send(addr);
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(addr)) => Running {
                child: Some(child),
                addr,
                log,
            },
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "autopack-host did not start ({}; exit {status:?}); its log:\n{}",
                    if other.is_err() {
                        "timed out"
                    } else {
                        "stdout closed"
                    },
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    /// SIGKILL on unix: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}
