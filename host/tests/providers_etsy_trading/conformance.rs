//! Conformance with the official API definitions (copied into `tests/specs/`,
//! provenance in `tests/specs/PROVENANCE.md`): Prism
//! (`@stoplight/prism-cli` 5.16.0 from the npm registry) serves each spec as
//! a validating mock with `--errors`, so a request that breaks the spec gets
//! a 4xx (400/401/415/422) instead of a 2xx. Every live operation of the
//! provider, sent through the real host gate with injected credentials, must
//! get a 2xx; the exact request of every dry-run preview, replayed, must get
//! a 2xx without an `sl-violations` header; and deliberately malformed
//! requests must be refused, so the check can fail.
//!
//! Needs `npx` on PATH (Node.js 18+); without it the tests fail and say so.

use autopack_host::governance::Mode;
use autopack_host::runtime::CallReport;
use autopack_host::sandbox::egress::Profile;
use autopack_host::sandbox::journal::RequestDecision;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Subject, ctx, load, outcome};
use crate::{etsy, fake_alpaca, fake_etsy, trading};

const PRISM: &str = "@stoplight/prism-cli@5.16.0";
const READY_TIMEOUT: Duration = Duration::from_secs(180);

fn spec(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/specs")
        .join(relative);
    assert!(path.is_file(), "missing spec {}", path.display());
    path
}

/// A Prism mock server in its own process group (npx starts node as a child).
struct Prism {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prism {
    async fn start(spec: &Path) -> Prism {
        match Command::new("npx").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "conformance needs `npx` to run Prism ({PRISM}), but `npx --version` failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!(
                "conformance needs `npx` (Node.js 18+ with npm) on PATH to run Prism ({PRISM}) \
                 from the npm registry; it could not be started: {e}"
            ),
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("prism.log");
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("npx")
                .args(["--yes", PRISM, "mock", "--errors", "-h", "127.0.0.1", "-p"])
                .arg(port.to_string())
                .arg(spec)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn()
                .expect("spawn npx")
        };
        let mut prism = Prism {
            child,
            port,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = prism.child.try_wait() {
                panic!("Prism exited ({status}) before listening:\n{}", prism.log());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return prism;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "Prism did not listen on {port} within {READY_TIMEOUT:?}:\n{}",
                prism.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        // The whole group: npx, and the node process running Prism.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 exchange over a plain TCP stream: (status, headers, body).
fn raw(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to Prism");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn violations(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(k, _)| k == "sl-violations")
        .map(|(_, v)| v.as_str())
}

/// Every request the gate sent got a 2xx.
fn assert_all_2xx<T: std::fmt::Debug>(op: &str, report: &CallReport<T>, prism: &Prism) {
    assert!(!report.requests.is_empty(), "{op} sent nothing");
    for r in &report.requests {
        match &r.decision {
            RequestDecision::Sent {
                status: Some(s), ..
            } if (200..300).contains(s) => {}
            other => panic!(
                "{op}: Prism refused {} {}: {other:?}\nresult: {:?}\nPrism log:\n{}",
                r.method,
                r.url,
                report.result,
                prism.log()
            ),
        }
    }
}

/// Replays a dry-run preview (the exact request) with the given credentials.
async fn replay(
    prism: &Prism,
    preview: &Value,
    credentials: Vec<(&'static str, String)>,
) -> (u16, Vec<(String, String)>, String) {
    let method = preview["method"].as_str().unwrap().to_string();
    let url = preview["url"].as_str().unwrap();
    let target = url.strip_prefix(&prism.origin()).unwrap().to_string();
    let mut headers = credentials;
    if let Some(ct) = preview["content_type"].as_str() {
        headers.push(("content-type", ct.to_string()));
    }
    let body = preview["body"].as_str().unwrap_or_default().to_string();
    let port = prism.port;
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        raw(port, &method, &target, &h, &body)
    })
    .await
    .expect("replay")
}

async fn raw_async(
    port: u16,
    method: &'static str,
    target: String,
    headers: Vec<(&'static str, String)>,
    body: String,
) -> (u16, Vec<(String, String)>, String) {
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        raw(port, method, &target, &h, &body)
    })
    .await
    .expect("raw")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_etsy_requests_are_accepted_by_prism_and_malformed_ones_refused() {
    let prism = Prism::start(&spec(
        "etsy/etsy-openapi-v3-3.0.0.amitray007-baseline-2026-08-17.json",
    ))
    .await;
    let loaded = load(&etsy::setup(
        &prism.origin(),
        Some(&fake_etsy::SHOP_ID.to_string()),
        fake_etsy::API_KEY,
    ))
    .await;
    let s = Subject {
        provider: &loaded.provider,
        secrets: etsy::SECRETS,
    };
    let credentials = || {
        vec![
            ("x-api-key", fake_etsy::API_KEY.to_string()),
            (
                "authorization",
                format!("Bearer {}", fake_etsy::OAUTH_TOKEN),
            ),
        ]
    };
    let mut ops = vec![
        ("get_shop", json!({})),
        (
            "list_listings",
            json!({"state": "draft", "limit": 10, "offset": 5}),
        ),
    ];
    ops.extend(write_ops(etsy::write_cases()));
    for (op, params) in ops {
        let live = s
            .run(op, params.clone(), Mode::Live, Profile::Write, "k")
            .await;
        outcome(&live);
        assert_all_2xx(op, &live, &prism);
        let dry = s.run(op, params, Mode::DryRun, Profile::Write, "k").await;
        let o = outcome(&dry);
        if let Some(preview) = o.data.get("preview") {
            let (status, headers, body) = replay(&prism, preview, credentials()).await;
            assert!(
                (200..300).contains(&status) && violations(&headers).is_none(),
                "{op}: replayed preview got {status} {:?} {body}",
                violations(&headers)
            );
        }
    }

    // The check can fail: Prism refuses what breaks the spec.
    let shop = fake_etsy::SHOP_ID;
    let form = "application/x-www-form-urlencoded".to_string();
    let mut with_form = credentials();
    with_form.push(("content-type", form));
    let no_title = "quantity=1&description=A%20mug&price=24.50&who_made=i_did&when_made=made_to_order&taxonomy_id=1234";
    let (status, headers, _) = raw_async(
        prism.port,
        "POST",
        format!("/v3/application/shops/{shop}/listings"),
        with_form.clone(),
        no_title.into(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        violations(&headers).is_some_and(|v| v.contains("title")),
        "{headers:?}"
    );
    // A plain `tags=` value is not the array the spec asks for.
    let (status, headers, _) = raw_async(
        prism.port,
        "POST",
        format!("/v3/application/shops/{shop}/listings"),
        with_form.clone(),
        format!("{no_title}&title=Mug&tags=mug"),
    )
    .await;
    assert_eq!(status, 400, "{headers:?}");
    let (status, headers, _) = raw_async(
        prism.port,
        "PATCH",
        format!("/v3/application/shops/{shop}/listings/1001"),
        with_form,
        "state=draft".into(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(violations(&headers).is_some_and(|v| v.contains("state")));
    // Without the API key.
    let (status, _, _) = raw_async(
        prism.port,
        "GET",
        format!("/v3/application/shops/{shop}"),
        vec![],
        String::new(),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_alpaca_requests_are_accepted_by_prism_and_malformed_ones_refused() {
    let prism = Prism::start(&spec(
        "alpaca/alpaca-trading-api-2.0.1.mcp-server-2026-06-24.json",
    ))
    .await;
    let loaded = load(&trading::setup(
        &prism.origin(),
        vec![("base_url", prism.origin())],
    ))
    .await;
    let s = Subject {
        provider: &loaded.provider,
        secrets: trading::SECRETS,
    };
    let credentials = || {
        vec![
            ("apca-api-key-id", fake_alpaca::KEY_ID.to_string()),
            ("apca-api-secret-key", fake_alpaca::SECRET_KEY.to_string()),
        ]
    };
    let mut ops = vec![
        ("get_account", json!({})),
        ("list_positions", json!({})),
        (
            "place_order",
            json!({"symbol": "BTC/USD", "side": "buy", "type": "market", "notional": "25"}),
        ),
        (
            "close_position",
            json!({"symbol": "BTC/USD", "percentage": "50"}),
        ),
    ];
    ops.extend(write_ops(trading::write_cases()));
    for (op, params) in ops {
        let live = s
            .run(
                op,
                params.clone(),
                Mode::Live,
                Profile::Write,
                "conformance-key-1",
            )
            .await;
        outcome(&live);
        assert_all_2xx(op, &live, &prism);
        let dry = s
            .run(
                op,
                params,
                Mode::DryRun,
                Profile::Write,
                "conformance-key-1",
            )
            .await;
        let o = outcome(&dry);
        if let Some(preview) = o.data.get("preview") {
            let (status, headers, body) = replay(&prism, preview, credentials()).await;
            assert!(
                (200..300).contains(&status) && violations(&headers).is_none(),
                "{op}: replayed preview got {status} {:?} {body}",
                violations(&headers)
            );
        }
    }
    let report = loaded
        .provider
        .lookup(&ctx(Mode::Live, "conformance-key-1"))
        .await;
    assert_all_2xx("lookup", &report, &prism);
    assert!(report.result.unwrap().is_some(), "lookup found nothing");

    // The check can fail: Prism refuses what breaks the spec.
    let mut json_ct = credentials();
    json_ct.push(("content-type", "application/json".into()));
    let (status, headers, _) = raw_async(
        prism.port,
        "POST",
        "/v2/orders".into(),
        json_ct.clone(),
        json!({"symbol": "AAPL", "side": "buy", "qty": "1"}).to_string(),
    )
    .await;
    assert_eq!(status, 422);
    let v = violations(&headers).unwrap_or_default();
    assert!(v.contains("type") && v.contains("time_in_force"), "{v}");
    // Numbers must be decimal strings.
    let (status, headers, _) = raw_async(
        prism.port,
        "POST",
        "/v2/orders".into(),
        json_ct,
        json!({"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "day", "qty": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(violations(&headers).is_some_and(|v| v.contains("qty")));
    let (status, _, _) = raw_async(
        prism.port,
        "DELETE",
        "/v2/orders/not-a-uuid".into(),
        credentials(),
        String::new(),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _, _) = raw_async(
        prism.port,
        "GET",
        "/v2/account".into(),
        vec![],
        String::new(),
    )
    .await;
    assert_eq!(status, 401);
}

fn write_ops(
    cases: Vec<(&'static str, Value, &'static str, String)>,
) -> Vec<(&'static str, Value)> {
    cases
        .into_iter()
        .map(|(op, params, _, _)| (op, params))
        .collect()
}
