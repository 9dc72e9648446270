//! One test per hostile guest in `tests/guests/hostile-*`, named after it.
//!
//! Each test runs the guest's attacks, asserts the specific error (or, for
//! probes that report what they reached, that nothing was reached, checking
//! the guest's positive controls so a broken setup cannot pass), and then
//! makes a normal call on the same provider and on the shared runtime to show
//! the host carries on.

use autopack_host::governance::Mode;
use autopack_host::runtime::CallError;
use autopack_host::runtime::types::ProviderError;
use autopack_host::sandbox::egress::Profile;
use autopack_host::sandbox::journal::RequestDecision;
use autopack_test_artifacts as guests;
use serde_json::{Value, json};
use std::path::Path;

use crate::support::{
    CANARY, FakeServer, INPUT_HELLO, RawListener, Setup, assert_no_canary, code, ctx, data, leaks,
    wellbehaved_still_works,
};

// A hostile guest without a test function below is a compile error here.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}
autopack_test_artifacts::foreach_hostile!(assert_test_exists);

fn denied_reason(r: &autopack_host::sandbox::journal::RecordedRequest) -> Option<&str> {
    match &r.decision {
        RequestDecision::Denied { reason } => Some(reason),
        RequestDecision::Sent { .. } => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_loop() {
    let p = Setup::new("hostile_loop", guests::HOSTILE_LOOP)
        .load()
        .await;
    let report = p.exec("spin", json!({}), Profile::ReadOnly).await;
    // Fuel, not the wall clock, stopped it.
    assert_eq!(code(&report), "cpu_limit_exceeded");
    let report = p
        .provider
        .validate(&ctx(Mode::DryRun), "spin_in_validate", "{}")
        .await;
    assert_eq!(code(&report), "cpu_limit_exceeded");

    let normal = p.provider.validate(&ctx(Mode::DryRun), "spin", "{}").await;
    assert!(normal.result.is_ok(), "{:?}", normal.result);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_alloc() {
    let p = Setup::new("hostile_alloc", guests::HOSTILE_ALLOC)
        .limit("memory_mib", 32)
        .load()
        .await;
    let report = p.exec("grow", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "memory_limit_exceeded");
    let report = p
        .provider
        .validate(&ctx(Mode::DryRun), "grow_in_validate", "{}")
        .await;
    assert_eq!(code(&report), "memory_limit_exceeded");

    let normal = p.provider.validate(&ctx(Mode::DryRun), "grow", "{}").await;
    assert!(normal.result.is_ok(), "{:?}", normal.result);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_recurse() {
    let p = Setup::new("hostile_recurse", guests::HOSTILE_RECURSE)
        .load()
        .await;
    let report = p.exec("deep", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "stack_overflow");
    // The shadow stack lives in linear memory: running off its end is a trap.
    let report = p.exec("big_frames", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "plugin_trapped");
    match &report.result {
        Err(CallError::Trap { message }) => {
            assert!(message.contains("out of bounds"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let normal = p.provider.validate(&ctx(Mode::DryRun), "deep", "{}").await;
    assert!(normal.result.is_ok(), "{:?}", normal.result);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sleep() {
    let server = FakeServer::start().await;
    let p = Setup::new("hostile_sleep", guests::HOSTILE_SLEEP)
        .origin(&server.origin())
        .setting("target", &server.url("/hang"))
        .limit("wall_time_ms", 2_000)
        .limit("http_timeout_ms", 500)
        .load()
        .await;
    // Blocked in a host call, burning no fuel: only the wall clock ends it.
    let report = p.exec("sleep", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "wall_time_exceeded");
    assert!(report.elapsed_us < 10_000_000, "{}", report.elapsed_us);

    // A server that never answers: the request times out, the guest hears so.
    let report = p.exec("hang_http", json!({}), Profile::ReadOnly).await;
    assert_eq!(server.count(), 1, "the request did not reach the server");
    match &report.result {
        Err(CallError::Provider(ProviderError::Provider { code, message, .. })) => {
            assert_eq!(code, "transport");
            assert!(message.contains("Timeout"), "{message}");
        }
        other => panic!("expected the guest's transport error, got {other:?}"),
    }
    match &report.requests[0].decision {
        RequestDecision::Sent {
            status: None,
            error: Some(e),
        } => {
            assert!(e.contains("Timeout"), "{e}");
        }
        other => panic!("{other:?}"),
    }

    let normal = p
        .exec("sleep", json!({"seconds": 0}), Profile::ReadOnly)
        .await;
    data(&normal);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_log_flood() {
    let max = 64 * 1024;
    let p = Setup::new("hostile_log_flood", guests::HOSTILE_LOG_FLOOD)
        .limit("max_log_bytes", max)
        .load()
        .await;
    for op in ["host_log", "stdout", "stderr"] {
        let report = p.exec(op, json!({}), Profile::ReadOnly).await;
        assert_eq!(code(&report), "log_limit_exceeded", "{op}");
        let bytes: u64 = report.log.iter().map(|l| l.message.len() as u64).sum();
        assert!(bytes <= max, "{op}: {bytes} bytes of log kept");
    }

    let normal = p
        .exec("host_log", json!({"lines": 1}), Profile::ReadOnly)
        .await;
    assert_eq!(data(&normal)["lines"], 1);
    assert!(normal.log[0].message.starts_with("flood line 0 "));
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_huge_outcome() {
    let p = Setup::new("hostile_huge_outcome", guests::HOSTILE_HUGE_OUTCOME)
        .limit("max_outcome_bytes", 1 << 20)
        .load()
        .await;
    for op in ["data", "summary", "error"] {
        let report = p.exec(op, json!({"mib": 2}), Profile::ReadOnly).await;
        assert_eq!(code(&report), "outcome_too_large", "{op}");
    }

    let normal = p.exec("data", json!({"mib": 0}), Profile::ReadOnly).await;
    assert_eq!(data(&normal), &json!(""));
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_artifacts() {
    let p = Setup::new("hostile_artifacts", guests::HOSTILE_ARTIFACTS)
        .limit("max_artifacts", 4)
        .limit("max_artifact_bytes", 2 << 20)
        .load()
        .await;
    // Past the count: the call fails, and only the allowed ones are kept.
    let report = p.exec("many", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "artifact_limit_exceeded");
    assert_eq!(report.artifacts.len(), 4);

    // Past the total size.
    let report = p.exec("total", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "artifact_limit_exceeded");
    let total: usize = report.artifacts.iter().map(|a| a.size).sum();
    assert_eq!(report.artifacts.len(), 2);
    assert!(total <= 2 << 20);

    // One artifact larger than everything allowed is not stored at all.
    let report = p.exec("huge", json!({"mib": 3}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "artifact_limit_exceeded");
    assert!(report.artifacts.is_empty());

    // Names that could form a path are refused; the call itself goes on.
    let report = p.exec("bad_name", json!({}), Profile::ReadOnly).await;
    let results = data(&report)["results"].as_array().unwrap().clone();
    let accepted: Vec<&str> = results
        .iter()
        .filter(|r| r["accepted"] == true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(accepted, ["ok-name_1.txt"], "{results:#?}");
    assert_eq!(results.len(), 12);
    let names: Vec<&str> = report.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["ok-name_1.txt"]);
    // Artifacts are kept in memory, never written under the data dir.
    let data_dir = p.dir.path().join("data");
    assert!(!contains_file_named(&data_dir, "x"), "a file `x` appeared");
    wellbehaved_still_works().await;
}

fn contains_file_named(dir: &Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name() == name || (e.path().is_dir() && contains_file_named(&e.path(), name))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_fs_escape() {
    let outside = tempfile::tempdir().unwrap();
    let sentinel_text = "sentinel-outside-the-sandbox-5b21";
    let sentinel = outside.path().join("sentinel.txt");
    std::fs::write(&sentinel, sentinel_text).unwrap();

    let setup = Setup::new("hostile_fs_escape", guests::HOSTILE_FS_ESCAPE).input_dir();
    let p = setup.load().await;
    #[cfg(unix)]
    std::os::unix::fs::symlink(&sentinel, p.input_dir.join("escape-link")).unwrap();

    for op in ["dotdot", "absolute", "symlink"] {
        let report = p.exec(op, json!({}), Profile::ReadOnly).await;
        let d = data(&report);
        assert_eq!(d["read"], Value::Null, "{op} escaped: {:#}", d["read"]);
        assert_eq!(d["control"]["scratch_ok"], true, "{op}: {d}");
        assert!(
            !d["errors"].as_array().unwrap().is_empty(),
            "{op}: no attempt was made"
        );
        assert!(leaks(&report, sentinel_text).is_empty(), "{op}");
        assert!(
            leaks(&report, "root:x:0:0").is_empty(),
            "{op}: /etc/passwd leaked"
        );
    }
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), sentinel_text);

    // The link really resolves on the host, so the guest was refused by the
    // sandbox, not by a broken link.
    #[cfg(unix)]
    assert_eq!(
        std::fs::read_to_string(p.input_dir.join("escape-link")).unwrap(),
        sentinel_text
    );
    wellbehaved_still_works().await;
}

fn dir_snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let content = if meta.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (
                e.file_name().to_string_lossy().into_owned(),
                content,
                meta.modified().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_write() {
    let p = Setup::new("hostile_input_write", guests::HOSTILE_INPUT_WRITE)
        .input_dir()
        .load()
        .await;
    let before = dir_snapshot(&p.input_dir);
    assert_eq!(before.len(), 1);
    for op in ["create", "overwrite", "delete", "rename", "mkdir", "touch"] {
        let report = p.exec(op, json!({}), Profile::ReadOnly).await;
        let d = data(&report);
        assert_eq!(d["succeeded"], json!([]), "{op} changed the input dir: {d}");
        assert_eq!(d["control"]["read_ok"], true, "{op}: {d}");
        assert!(!d["errors"].as_array().unwrap().is_empty(), "{op}");
        assert_eq!(dir_snapshot(&p.input_dir), before, "{op}");
    }
    assert_eq!(
        std::fs::read_to_string(p.input_dir.join("hello.txt")).unwrap(),
        INPUT_HELLO
    );
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ungranted_origin() {
    let granted = FakeServer::start().await;
    let ungranted = FakeServer::start().await;
    let p = Setup::new("hostile_ungranted_origin", guests::HOSTILE_UNGRANTED_ORIGIN)
        .origin(&granted.origin())
        .limit("max_requests", 16)
        .load()
        .await;

    let report = p
        .exec("get", json!({"url": ungranted.url("/x")}), Profile::Write)
        .await;
    assert_eq!(code(&report), "provider_denied");
    assert_eq!(report.requests.len(), 1);
    assert_eq!(report.requests[0].url, ungranted.url("/x"));
    assert_eq!(
        denied_reason(&report.requests[0]),
        Some("origin_not_granted")
    );

    let (g, u) = (granted.port(), ungranted.port());
    let tricks = [
        format!("http://localhost:{g}/"),
        format!("https://127.0.0.1:{g}/"),
        format!("http://127.0.0.1:{g}@127.0.0.1:{u}/"),
        format!("http://127.0.0.1.:{u}/"),
        format!("http://2130706433:{u}/"),
        format!("http://0x7f000001:{u}/"),
        format!("http://127.1:{u}/"),
        format!("http://[::ffff:127.0.0.1]:{u}/"),
        format!("http://127.0.0.1:{u}/"),
        "https://example.com/".to_string(),
    ];
    let report = p
        .exec("each", json!({"urls": tricks}), Profile::Write)
        .await;
    let results = data(&report)["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), tricks.len());
    for r in &results {
        let result = r["result"].as_str().unwrap();
        assert!(!result.starts_with("status"), "reached: {r}");
    }
    assert_eq!(ungranted.count(), 0, "{:#?}", ungranted.hits());
    assert_eq!(granted.count(), 0, "{:#?}", granted.hits());

    // The granted origin still works.
    let normal = p
        .exec(
            "get",
            json!({"url": granted.url("/echo")}),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(data(&normal)["status"], 200);
    assert_eq!(granted.count(), 1);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_private_ip() {
    let server = FakeServer::start().await;
    let elsewhere = FakeServer::start().await;
    let p = Setup::new("hostile_private_ip", guests::HOSTILE_PRIVATE_IP)
        // Granted by name: the name resolves to loopback, which the operator
        // did not grant as an address.
        .origin(&format!("http://localhost:{}", server.port()))
        .origin(&server.origin())
        .load()
        .await;

    let report = p
        .exec(
            "via_hostname",
            json!({"port": server.port()}),
            Profile::Write,
        )
        .await;
    assert_eq!(code(&report), "provider_denied", "{:#?}", report.requests);
    assert_eq!(report.requests.len(), 1);
    assert_eq!(
        denied_reason(&report.requests[0]),
        Some("destination_ip_not_public")
    );
    assert_eq!(report.attempted_writes().count(), 1);
    assert_eq!(server.count(), 0, "{:#?}", server.hits());

    // Redirects from a granted URL to the metadata address and to an
    // ungranted loopback port: the followed request is refused.
    for (path, target) in [
        (
            "/redirect/metadata".to_string(),
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
        (
            format!("/redirect/port/{}", elsewhere.port()),
            elsewhere.url("/stolen"),
        ),
    ] {
        let report = p
            .exec(
                "via_redirect",
                json!({"url": server.url(&path)}),
                Profile::Write,
            )
            .await;
        assert_eq!(
            code(&report),
            "provider_denied",
            "{path}: {:#?}",
            report.requests
        );
        assert_eq!(report.requests.len(), 2, "{path}");
        assert_eq!(
            report.requests[0].decision,
            RequestDecision::Sent {
                status: Some(302),
                error: None
            }
        );
        assert_eq!(report.requests[1].url, target);
        assert_eq!(
            denied_reason(&report.requests[1]),
            Some("origin_not_granted")
        );
    }
    assert_eq!(elsewhere.count(), 0);
    assert_eq!(server.count(), 2);

    // A redirect that stays on the granted origin is followed normally.
    let normal = p
        .exec(
            "via_redirect",
            json!({"url": server.url("/redirect/same")}),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(data(&normal)["status"], 200);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_write_readonly() {
    let server = FakeServer::start().await;
    let p = Setup::new("hostile_write_readonly", guests::HOSTILE_WRITE_READONLY)
        .origin(&server.origin())
        .setting("target", &server.origin())
        .load()
        .await;

    let report = p.exec("methods", json!({}), Profile::ReadOnly).await;
    let d = data(&report);
    let methods = ["POST", "PUT", "PATCH", "DELETE", "FETCH", "post", "get"];
    for r in d["results"].as_array().unwrap() {
        assert_eq!(r["result"], "denied", "{r}");
    }
    let attempted: Vec<_> = report.attempted_writes().collect();
    assert_eq!(attempted.len(), methods.len(), "{:#?}", report.requests);
    for (w, m) in attempted.iter().zip(methods) {
        assert_eq!(w.method, m);
        assert_eq!(w.url, server.url("/write"));
        assert_eq!(
            w.body_preview.as_deref(),
            Some(format!("{{\"attempt\":\"{m}\"}}").as_str())
        );
        assert_eq!(
            denied_reason(w),
            Some("method_not_allowed_in_read_only_profile")
        );
    }
    assert_eq!(server.count(), 0, "{:#?}", server.hits());

    let one = p
        .exec("one", json!({"method": "POST"}), Profile::ReadOnly)
        .await;
    assert_eq!(code(&one), "provider_denied");
    // A GET with a body is a read as far as the method goes; no write method
    // ever reaches the server under the read-only profile.
    let _ = p.exec("get_with_body", json!({}), Profile::ReadOnly).await;
    assert_eq!(server.count_writes(), 0, "{:#?}", server.hits());

    // The same write under the write profile goes out exactly once.
    let normal = p.exec_live("one", json!({"method": "POST"})).await;
    assert_eq!(data(&normal)["status"], 200);
    assert_eq!(server.count_method("POST"), 1);
    assert_eq!(server.count_writes(), 1);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_request_flood() {
    let server = FakeServer::start().await;
    let p = Setup::new("hostile_request_flood", guests::HOSTILE_REQUEST_FLOOD)
        .origin(&server.origin())
        .setting("target", &server.url("/echo"))
        .limit("max_requests", 8)
        .load()
        .await;

    let report = p
        .exec("sequential", json!({"count": 100}), Profile::ReadOnly)
        .await;
    assert_eq!(code(&report), "request_limit_exceeded");
    assert_eq!(server.count(), 8);
    assert_eq!(
        report
            .requests
            .iter()
            .filter(|r| denied_reason(r) == Some("request_limit_exceeded"))
            .count(),
        92
    );

    let report = p
        .exec("concurrent", json!({"count": 100}), Profile::ReadOnly)
        .await;
    assert_eq!(code(&report), "request_limit_exceeded");
    assert_eq!(server.count(), 16);

    let normal = p
        .exec("sequential", json!({"count": 8}), Profile::ReadOnly)
        .await;
    assert_eq!(data(&normal)["ok"], 8);
    assert_eq!(server.count(), 24);
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_secret() {
    let server = FakeServer::start().await;
    let p = Setup::new("hostile_secret", guests::HOSTILE_SECRET)
        .origin(&server.origin())
        .setting("target", &server.url("/echo"))
        .credential(
            &server.origin(),
            "Authorization",
            "Bearer {HOSTILE_SECRET_TOKEN}",
        )
        .env("HOSTILE_SECRET_TOKEN", CANARY)
        .load()
        .await;
    let marker = "[REDACTED:HOSTILE_SECRET_TOKEN]";

    let report = p.exec("probe", json!({}), Profile::ReadOnly).await;
    assert_no_canary(&report);
    let d = data(&report);
    // Positive controls: the guest really got the secret back from the echo
    // and tried every channel; the host replaced it in each.
    assert_eq!(server.count(), 1);
    let expected = format!("Bearer {CANARY}");
    assert_eq!(
        server.hits()[0].header("authorization"),
        Some(expected.as_str())
    );
    let outcome = report.result.as_ref().unwrap();
    assert_eq!(outcome.external_ref.as_deref(), Some(marker));
    assert_eq!(outcome.summary, format!("learned token {marker}"));
    assert_eq!(outcome.spend.as_ref().unwrap().unit, marker);
    assert!(d.to_string().contains(marker), "{d}");
    assert!(!leaks(&report, marker).is_empty());
    for source in ["token: [REDACTED", "learned: "] {
        assert!(
            report.log.iter().any(|l| l.message.starts_with(source)),
            "{source}: {:#?}",
            report.log
        );
    }
    // Nothing ambient to learn: no environment, no arguments, no files.
    let learned = &d["learned"];
    assert_eq!(learned["env"], json!([]));
    assert_eq!(learned["args"], json!([]));
    for file in ["/proc/self/environ", "/proc/self/cmdline", "/etc/passwd"] {
        assert!(
            learned["files"][file].get("content").is_none(),
            "{file}: {learned}"
        );
    }
    for (name, value) in learned["settings"].as_object().unwrap() {
        assert_eq!(value, &Value::Null, "setting {name}");
    }
    // An artifact named after the secret is refused, not stored.
    let names: Vec<&str> = report.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["learned.json"]);

    for variant in [
        "provider",
        "invalid_params",
        "unauthorized",
        "rate_limited",
        "denied",
        "internal",
    ] {
        let report = p
            .exec(
                "leak_in_error",
                json!({"variant": variant}),
                Profile::ReadOnly,
            )
            .await;
        assert!(report.result.is_err(), "{variant}");
        assert_no_canary(&report);
        assert!(
            format!("{:?}", report.result).contains(marker),
            "{variant}: the guest did not leak, so this proves nothing: {:?}",
            report.result
        );
    }

    let report = p
        .provider
        .validate(&ctx(Mode::DryRun), "leak_in_validate", "{}")
        .await;
    assert_no_canary(&report);
    let params = &report.result.as_ref().unwrap().params;
    assert_eq!(params["env"], json!([]));

    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_socket() {
    let raw = RawListener::start().await;
    let p = Setup::new("hostile_socket", guests::HOSTILE_SOCKET)
        .load()
        .await;
    for (op, params) in [
        ("tcp", json!({"addr": raw.tcp.to_string()})),
        ("udp", json!({"addr": raw.udp.to_string()})),
        ("dns", json!({"name": "localhost"})),
    ] {
        let report = p.exec(op, params, Profile::Write).await;
        let d = data(&report);
        assert_eq!(d["succeeded"], false, "{op}: {d}");
        assert!(report.requests.is_empty());
    }
    // Give a connection or datagram that slipped through time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(raw.accepted(), 0);
    assert_eq!(raw.datagrams(), 0);

    // The listener is reachable from the host, so zero means refused.
    let probe = std::net::TcpStream::connect(raw.tcp);
    assert!(probe.is_ok());
    wellbehaved_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_validate_network() {
    let server = FakeServer::start().await;
    let p = Setup::new("hostile_validate_network", guests::HOSTILE_VALIDATE_NETWORK)
        .origin(&server.origin())
        .setting("target", &server.url("/echo"))
        .load()
        .await;
    let report = p.provider.validate(&ctx(Mode::DryRun), "probe", "{}").await;
    let params = &report
        .result
        .as_ref()
        .expect("validate returns its report")
        .params;
    assert_eq!(params["get_succeeded"], false, "{params}");
    assert_eq!(params["url"], server.url("/echo"));
    assert_eq!(report.requests.len(), 1);
    assert_eq!(
        denied_reason(&report.requests[0]),
        Some("network_not_allowed_in_this_call")
    );
    assert_eq!(server.count(), 0);

    // The same origin is reachable from execute, so validate was refused by
    // its profile, not by a broken setup.
    let normal = p
        .provider
        .execute(&ctx(Mode::DryRun), "probe", "{}", Profile::ReadOnly)
        .await;
    data(&normal);
    let ungated = Setup::new("hostile_ungranted_origin", guests::HOSTILE_UNGRANTED_ORIGIN)
        .origin(&server.origin())
        .load()
        .await;
    let reached = ungated
        .exec(
            "get",
            json!({"url": server.url("/echo")}),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(data(&reached)["status"], 200);
    assert_eq!(server.count(), 1);
    wellbehaved_still_works().await;
}
