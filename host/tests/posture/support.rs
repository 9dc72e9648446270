//! What the posture tests share: a site directory (config, policies, data dir, secret files)
//! in a persistent location, the real binary run with a clean environment, a minimal
//! HTTP/1.1 client, and a loopback fake provider that records the credentials it receives.

use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

/// How long a server may take to start (it compiles the example component on a cold cache).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Environment variables the host reads that must not leak in from the test's environment.
fn is_host_variable(name: &str) -> bool {
    name.starts_with("AUTOPACK_")
        || name.starts_with("JWT_")
        || name.starts_with("DATABASE_URL")
        || name.starts_with("EXAMPLE_")
        || name == "RUST_LOG"
}

/// The binary with `args`, run in `dir`, with none of the host's variables inherited.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if is_host_variable(&name.to_string_lossy()) {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// Where the posture checks count a path as temporary (mirrors `posture::is_temp`).
fn is_temp_location(path: &Path) -> bool {
    let mut temps = vec![std::env::temp_dir()];
    if cfg!(unix) {
        temps.extend(["/tmp", "/var/tmp", "/dev/shm"].map(PathBuf::from));
    }
    temps.iter().any(|t| path.starts_with(t))
}

/// A directory production accepts for a SQLite ledger: `target/tmp` of this build, or the
/// home directory when the checkout itself lives in a temporary location.
fn persistent_root() -> PathBuf {
    let candidates = [
        Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR"))),
        std::env::var_os("HOME").map(PathBuf::from),
        std::env::var_os("USERPROFILE").map(PathBuf::from),
    ];
    for c in candidates.into_iter().flatten() {
        let c = std::path::absolute(&c).unwrap();
        if !is_temp_location(&c) {
            std::fs::create_dir_all(&c).unwrap();
            return c;
        }
    }
    panic!("no persistent directory for the test data dir (target/tmp and $HOME are temporary)")
}

/// One host installation: a directory (removed when dropped) holding the config, the
/// policies, the data dir and secret files.
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// A site outside any temporary location, so production accepts its SQLite ledger.
    pub fn persistent() -> Site {
        let dir = tempfile::Builder::new()
            .prefix("posture-")
            .tempdir_in(persistent_root())
            .unwrap();
        let site = Site { dir };
        std::fs::create_dir_all(site.data_dir()).unwrap();
        std::fs::create_dir_all(site.policies_dir()).unwrap();
        site
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    pub fn policies_dir(&self) -> PathBuf {
        self.path("policies")
    }

    /// Writes a file (creating its directory) and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Writes `autopack-host.toml` and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        self.write("autopack-host.toml", text)
    }

    /// The binary with `args`, run in the site's directory, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        command(self.root(), args)
    }

    /// `serve --config <file> --listen 127.0.0.1:0`.
    pub fn serve(&self, config: &Path) -> Command {
        self.command(&[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
    }

    /// Whether `needle` occurs in the bytes of any file under `dir`.
    pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(bytes) = std::fs::read(&p)
                    && contains(&bytes, needle.as_bytes())
                {
                    found.push(p);
                }
            }
        }
        found
    }

    /// How many files there are under `dir` (so a scan is known not to be vacuous).
    pub fn file_count(dir: &Path) -> usize {
        let mut n = 0;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    n += 1;
                }
            }
        }
        n
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A TOML literal string for a path (no escapes, so Windows backslashes stay as they are).
pub fn toml_path(p: &Path) -> String {
    let s = p.to_str().unwrap();
    assert!(!s.contains('\''), "path with a quote: {s}");
    format!("'{s}'")
}

/// A random lowercase hex string of `bytes` random bytes.
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// The example provider component and its SHA-256.
pub fn example_component() -> (PathBuf, String) {
    let path = PathBuf::from(autopack_test_artifacts::AUTOPACK_EXAMPLE);
    let digest = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
    (path, digest)
}

/// A key made by `autopack-host keys new --role admin`: the key and the config entry.
pub fn new_admin_key(dir: &Path) -> (String, String) {
    let out = command(dir, &["keys", "new", "--role", "admin", "--id", "ops"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).trim().to_owned();
    let stderr = text(&out.stderr);
    let entry = stderr
        .find("[[api_keys]]")
        .map(|i| stderr[i..].to_owned())
        .unwrap_or_else(|| panic!("no config entry in {stderr}"));
    assert!(
        !stderr.contains(&key),
        "the key is printed on stdout only: {stderr}"
    );
    assert!(entry.contains(&key_sha256(&key)), "{entry}");
    (key, entry)
}

pub fn key_sha256(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// An Ed25519 key pair as PKCS#8 / SPKI PEM: (private, public).
pub fn ed25519_pem_pair() -> (String, String) {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding};
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let private = signing.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, public)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A running (or finished) `autopack-host` process whose output is collected.
pub struct Proc {
    child: Child,
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// What a finished process left.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = channel();
        let mut out_pipe = BufReader::new(child.stdout.take().unwrap());
        let out_buf = stdout.clone();
        let out = std::thread::spawn(move || {
            let mut line = Vec::new();
            while let Ok(n) = out_pipe.read_until(b'\n', &mut line) {
                if n == 0 {
                    break;
                }
                out_buf.lock().unwrap().extend_from_slice(&line);
                let _ = tx.send(text(&line).trim_end().to_owned());
                line.clear();
            }
        });
        let mut err_pipe = child.stderr.take().unwrap();
        let err_buf = stderr.clone();
        let err = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = err_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                err_buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Proc {
            child,
            lines,
            stdout,
            stderr,
            readers: vec![out, err],
        }
    }

    /// The next stdout line satisfying `pred`; `None` if the process closed stdout first.
    pub fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if pred(&l) => return Some(l),
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "no matching stdout line within {START_TIMEOUT:?}; stderr: {}",
                        text(&self.stderr.lock().unwrap())
                    );
                }
            }
        }
    }

    /// Stops the process (if still running) and returns everything it printed.
    pub fn stop(mut self) -> Finished {
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits for the process to exit by itself (killing it after `START_TIMEOUT`, or as soon
    /// as it says it is listening: a server expected to refuse to start must not hang a test).
    pub fn wait(mut self) -> Finished {
        let deadline = Instant::now() + START_TIMEOUT;
        while self.child.try_wait().unwrap().is_none() {
            let listening = contains(&self.stdout.lock().unwrap(), b"listening on");
            if listening {
                let _ = self.child.kill();
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let f = self.finish();
                panic!("the process did not exit within {START_TIMEOUT:?}: {f:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }

    fn finish(&mut self) -> Finished {
        let status = self.child.wait().unwrap();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Finished {
            code: status.code(),
            stdout: text(&self.stdout.lock().unwrap()),
            stderr: text(&self.stderr.lock().unwrap()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the command to its exit (it is expected to refuse to start).
pub fn run(cmd: Command) -> Finished {
    Proc::spawn(cmd).wait()
}

/// A server that printed its listening line.
pub struct Server {
    pub proc: Proc,
    pub addr: String,
}

/// Starts the command and waits for "listening on http://ADDR"; panics with its output if
/// it exits first.
pub fn start(cmd: Command) -> Server {
    let mut proc = Proc::spawn(cmd);
    match proc.wait_line(|l| l.contains("listening on http://")) {
        Some(line) => {
            let addr = line
                .rsplit("http://")
                .next()
                .unwrap()
                .trim()
                .trim_end_matches('/')
                .to_owned();
            Server { proc, addr }
        }
        None => {
            let f = proc.wait();
            panic!("the server did not start: {f:?}");
        }
    }
}

impl Server {
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.addr, "GET", path, headers, None)
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        request(&self.addr, "POST", path, headers, Some(body))
    }

    pub fn stop(self) -> Finished {
        self.proc.stop()
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// Status line, headers and body, for searching.
    pub fn all(&self) -> String {
        format!("{}\r\n\r\n{}", self.head, self.body)
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = text(&raw);
    let (head, rest) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {raw}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Response {
        status,
        head: head.to_owned(),
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A loopback stand-in for the example provider's notes service: answers every request
/// with 200 and a JSON body echoing the `Authorization` header it got (so a secret the host
/// injected comes back in the plugin's output, where the host must redact it).
pub struct FakeProvider {
    pub origin: String,
    pub authorizations: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeProvider {
    pub fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, halt) = (authorizations.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = text(&head);
                let auth = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                seen.lock().unwrap().push(auth.clone());
                let body = serde_json::json!({"ok": true, "authorization": auth}).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes());
            }
        });
        FakeProvider {
            origin,
            authorizations,
            stop,
            thread: Some(thread),
        }
    }

    pub fn seen(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.origin.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The sound production setup: a config that `AUTOPACK_ENV=production` accepts, the
/// secret files it needs, and the admin key from `keys new`.
pub struct Sound {
    pub site: Site,
    pub key: String,
    pub config: String,
    pub jwt_private: PathBuf,
    pub jwt_public: PathBuf,
    pub token_file: PathBuf,
}

/// The example provider's credential line in [`Sound::config`].
pub const CREDENTIAL_VALUE: &str = "value = \"Bearer {EXAMPLE_TOKEN}\"";
/// The example provider's pin line prefix in [`Sound::config`].
pub const PIN: &str = "sha256 = \"";

impl Sound {
    /// `origin` is where the example provider's notes service is (a [`FakeProvider`], or
    /// nothing listening for tests that never call it).
    pub fn new(origin: &str) -> Sound {
        let site = Site::persistent();
        let (key, entry) = new_admin_key(site.root());
        let (private, public) = ed25519_pem_pair();
        let jwt_private = site.write("secrets/jwt-private.pem", private);
        let jwt_public = site.write("secrets/jwt-public.pem", public);
        let token_file = site.write(
            "secrets/example-token",
            format!("example-token-{}\n", random_hex(8)),
        );
        let (component, digest) = example_component();
        site.write(
            "policies/canary.toml",
            "project = \"canary\"\n\n[domains.example]\noperations = [\"echo\", \"get_status\", \"post_note\"]\n",
        );
        let config = format!(
            r#"data_dir = {data}
policies_dir = {policies}

[server]
default_mode = "dry-run"

[auth]
jwt = true

{entry}
[[providers]]
domain = "example"
component = {component}
sha256 = "{digest}"
origins = ["{origin}"]

[providers.settings]
base_url = "{origin}"

[[providers.credentials]]
origin = "{origin}"
header = "Authorization"
{CREDENTIAL_VALUE}
"#,
            data = toml_path(&site.data_dir()),
            policies = toml_path(&site.policies_dir()),
            component = toml_path(&component),
        );
        Sound {
            site,
            key,
            config,
            jwt_private,
            jwt_public,
            token_file,
        }
    }

    /// `serve` on `config` with the production environment: `AUTOPACK_ENV=production`, the
    /// JWT key files and the provider token file.
    pub fn serve(&self, config: &str) -> Command {
        let file = self.site.config(config);
        let mut cmd = self.site.serve(&file);
        cmd.env("AUTOPACK_ENV", "production")
            .env("JWT_PRIVATE_KEY_FILE", &self.jwt_private)
            .env("JWT_PUBLIC_KEY_FILE", &self.jwt_public)
            .env("EXAMPLE_TOKEN_FILE", &self.token_file);
        cmd
    }
}

/// `text` with `from` replaced by `to`; `from` must occur (so an edit is never a no-op).
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in:\n{text}");
    text.replacen(from, to, 1)
}
