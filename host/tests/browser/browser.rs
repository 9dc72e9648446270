//! Headless Chromium through `chromedriver`, which the test starts on a free loopback port,
//! and a WebDriver session (fantoccini) with helpers for the page: wait for a condition,
//! read an element's text, collect the browser's console log.

use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long the page gets to reach a state.
const PATIENCE: Duration = Duration::from_secs(30);

/// The first of `names` on `PATH`, or the file `var` names.
fn find_tool(var: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "none of {names:?} is on PATH and {var} is unset: install Chromium and ChromeDriver \
         (Debian: apt-get install -y chromium chromium-driver, as .ci/run does)"
    );
}

/// `chromedriver` on a loopback port, with its own Chromium profile directory.
struct Driver {
    child: Child,
    port: u16,
    profile: TempDir,
}

impl Driver {
    async fn start() -> Driver {
        let exe = find_tool("CHROMEDRIVER", &["chromedriver"]);
        let profile = tempfile::tempdir().expect("profile dir");
        let mut last_log = String::new();
        // A port found free may be taken before chromedriver binds it: try a few.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let log = profile.path().join(format!("chromedriver-{port}.log"));
            let mut child = Command::new(&exe)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return Driver {
                        child,
                        port,
                        profile,
                    };
                }
                if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_log = std::fs::read_to_string(&log).unwrap_or_default();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("chromedriver did not start; its log:\n{last_log}");
    }

    /// Chromium processes of this driver's session: their command line names its profile.
    #[cfg(target_os = "linux")]
    fn browser_pids(profile: &Path) -> Vec<u32> {
        let needle = profile.display().to_string();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                    .unwrap_or(false)
            })
            .collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A session that was not closed (the test panicked) leaves Chromium running:
        // end the processes started with this profile, by pid.
        #[cfg(target_os = "linux")]
        for pid in Driver::browser_pids(self.profile.path()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// chromedriver's (non-W3C) `POST /session/{id}/se/log`: the browser console entries since
/// the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// One console entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub level: String,
    pub message: String,
}

/// A headless Chromium session.
pub struct Browser {
    client: Option<Client>,
    log: Mutex<Vec<LogEntry>>,
    // Dropped after the client: ends chromedriver and any Chromium left behind.
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium session.
    pub async fn start() -> Browser {
        let chromium = find_tool(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = Driver::start().await;
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--user-data-dir={}", driver.profile.path().join("chromium").display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            // A prompt left open fails the next command instead of being dismissed quietly.
            "unhandledPromptBehavior": "ignore",
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}/", driver.port))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through chromedriver: {e}"));
        Browser {
            client: Some(client),
            log: Mutex::new(Vec::new()),
            _driver: driver,
        }
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    pub async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The rendered text of the first element matching `css`, if there is one.
    pub async fn text(&self, css: &str) -> Option<String> {
        match self.client().find(Locator::Css(css)).await {
            Ok(el) => Some(
                el.text()
                    .await
                    .unwrap_or_else(|e| panic!("text of {css}: {e}")),
            ),
            Err(e) if is_no_such_element(&e) => None,
            Err(e) => panic!("find {css}: {e}"),
        }
    }

    /// Whether an element matching `css` exists and is shown.
    pub async fn shown(&self, css: &str) -> bool {
        match self.client().find(Locator::Css(css)).await {
            Ok(el) => el
                .is_displayed()
                .await
                .unwrap_or_else(|e| panic!("is {css} displayed: {e}")),
            Err(e) if is_no_such_element(&e) => false,
            Err(e) => panic!("find {css}: {e}"),
        }
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client()
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find all {css}: {e}"))
            .len()
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `keys` into the first element matching `css`.
    pub async fn type_into(&self, css: &str, keys: &str) {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("execute {script}: {e}"))
    }

    /// Signs in on the page's form with `key`.
    pub async fn sign_in(&self, key: &str) {
        self.client()
            .find(Locator::Css("#key"))
            .await
            .expect("the key field")
            .clear()
            .await
            .expect("clear the key field");
        self.type_into("#key", key).await;
        self.click("#login button[type=submit]").await;
    }

    /// Waits until `cond` answers `Some`, polling; panics after [`PATIENCE`] with `what`, the
    /// page's status line and the console.
    pub async fn until<T>(&self, what: &str, cond: impl AsyncFn(&Browser) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(v) = cond(self).await {
                return v;
            }
            if Instant::now() > deadline {
                let status = self.text("#status").await.unwrap_or_default();
                let body = self.text("body").await.unwrap_or_default();
                panic!(
                    "timed out waiting for {what}; the page's status line: {status:?}; \
                     the page:\n{body}\nthe console: {:#?}",
                    self.console().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every console entry of the session so far.
    pub async fn console(&self) -> Vec<LogEntry> {
        let fresh = self
            .client()
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or_else(|e| panic!("the browser log: {e}"));
        let mut log = self.log.lock().unwrap();
        for e in fresh.as_array().into_iter().flatten() {
            log.push(LogEntry {
                level: e["level"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        log.clone()
    }

    /// Panics if the console shows a Content Security Policy violation or an uncaught
    /// script error.
    pub async fn assert_no_script_trouble(&self) {
        let bad: Vec<LogEntry> = self
            .console()
            .await
            .into_iter()
            .filter(|e| {
                let m = e.message.to_ascii_lowercase();
                m.contains("content security policy")
                    || (e.level == "SEVERE" && m.contains("uncaught"))
            })
            .collect();
        assert!(
            bad.is_empty(),
            "the console shows CSP violations or script errors: {bad:#?}"
        );
    }

    /// Ends the session (Chromium exits).
    pub async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

fn is_no_such_element(e: &CmdError) -> bool {
    matches!(e, CmdError::Standard(w) if w.error == fantoccini::error::ErrorStatus::NoSuchElement)
}
