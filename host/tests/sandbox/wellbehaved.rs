//! The well-behaved guest: every import works, and only as far as granted.

use autopack_host::governance::Mode;
use autopack_host::runtime::CallError;
use autopack_host::runtime::types::ProviderError;
use autopack_host::sandbox::egress::Profile;
use autopack_host::sandbox::journal::{LogSource, RequestDecision};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{
    CANARY, FakeServer, INPUT_HELLO, assert_no_canary, code, ctx, data, wellbehaved,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i8_every_import_works_and_nothing_ambient_is_granted() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let context = ctx(Mode::DryRun);
    let report = wb
        .provider
        .execute(&context, "imports", "{}", Profile::ReadOnly)
        .await;
    let d = data(&report).clone();

    // The call context arrives as sent.
    assert_eq!(d["context"]["action_id"], context.action_id.as_str());
    assert_eq!(
        d["context"]["idempotency_key"],
        context.idempotency_key.as_str()
    );
    assert_eq!(d["context"]["project"], "sandbox-tests");
    assert_eq!(d["context"]["mode"], "dry-run");

    // Clocks: the wall clock is the real one.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let guest_ms = d["clock"]["unix_ms"].as_u64().unwrap();
    assert!(
        now_ms.abs_diff(guest_ms) < 60_000,
        "guest clock {guest_ms}, host {now_ms}"
    );
    assert!(d["clock"]["monotonic_elapsed_ns"].is_u64());

    // Random: 16 bytes that are not all zero.
    let random = d["random"]["bytes_hex"].as_str().unwrap();
    assert_eq!(random.len(), 32, "{random}");
    assert_ne!(random, "0".repeat(32));

    // Exactly the granted directories; no environment, no arguments.
    let mut preopens: Vec<&str> = d["preopens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    preopens.sort_unstable();
    assert_eq!(preopens, ["/input/media", "/scratch"]);
    assert_eq!(d["env_var_count"], 0);
    assert_eq!(d["arg_count"], 0);

    // Scratch dir read-write, input dir readable.
    assert_eq!(d["scratch"]["read_back_matches"], true, "{d}");
    assert_eq!(d["scratch"]["entries"], json!(["wellbehaved.txt"]), "{d}");
    assert_eq!(d["input"]["content"], INPUT_HELLO, "{d}");

    // Settings: only what the operator set.
    assert_eq!(d["greeting"], "hello operator");

    // Log: every level, and stdout/stderr captured (nothing inherited).
    let logged = |source: LogSource, text: &str| {
        report
            .log
            .iter()
            .any(|l| l.source == source && l.message.contains(text))
    };
    for (source, name) in [
        (LogSource::Trace, "trace"),
        (LogSource::Debug, "debug"),
        (LogSource::Info, "info"),
        (LogSource::Warn, "warn"),
        (LogSource::Error, "error"),
    ] {
        assert!(
            logged(source, &format!("wellbehaved log at {name}")),
            "{name}: {:#?}",
            report.log
        );
    }
    assert!(
        logged(LogSource::Stdout, "wellbehaved stdout line"),
        "{:#?}",
        report.log
    );
    assert!(
        logged(LogSource::Stderr, "wellbehaved stderr line"),
        "{:#?}",
        report.log
    );

    // The artifact is stored with what the guest put in it.
    assert_eq!(d["artifact"]["stored"], true, "{d}");
    assert_eq!(report.artifacts.len(), 1);
    let artifact = &report.artifacts[0];
    assert_eq!(artifact.name, "report.json");
    assert_eq!(artifact.content_type, "application/json");
    let stored: Value = serde_json::from_slice(&artifact.data).unwrap();
    assert_eq!(stored["random"], d["random"]);

    // No network use, and nothing secret anywhere.
    assert!(report.requests.is_empty(), "{:#?}", report.requests);
    assert_eq!(server.count(), 0);
    assert_no_canary(&report);

    // A second call gets other random bytes and sees the live mode.
    let again = wb.exec_live("imports", json!({})).await;
    let d2 = data(&again);
    assert_ne!(d2["random"]["bytes_hex"], d["random"]["bytes_hex"]);
    assert_eq!(d2["context"]["mode"], "live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i8_every_call_gets_a_fresh_scratch_dir() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;

    let first = wb
        .exec(
            "imports",
            json!({"leave": "left-by-call-1.txt"}),
            Profile::ReadOnly,
        )
        .await;
    // The file was really written and left (so the next check can fail).
    assert_eq!(
        data(&first)["scratch"]["entries"],
        json!(["left-by-call-1.txt", "wellbehaved.txt"])
    );

    let second = wb.exec("imports", json!({}), Profile::ReadOnly).await;
    assert_eq!(
        data(&second)["scratch"]["entries"],
        json!(["wellbehaved.txt"]),
        "a file from the previous call is visible"
    );

    // The host removes finished scratch dirs (in the background).
    let root = wb
        .dir
        .path()
        .join("data")
        .join("scratch")
        .join("wellbehaved");
    let mut left = usize::MAX;
    for _ in 0..250 {
        left = std::fs::read_dir(&root).unwrap().count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "scratch dirs left behind in {}", root.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_reads_pass_in_both_profiles() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    for profile in [Profile::ReadOnly, Profile::Write] {
        let report = wb
            .exec("request", json!({"method": "GET", "url": "/echo"}), profile)
            .await;
        assert_eq!(data(&report)["status"], 200, "{profile:?}");
        assert_eq!(report.requests.len(), 1);
        assert_eq!(report.attempted_writes().count(), 0);
        assert_eq!(
            report.requests[0].decision,
            RequestDecision::Sent {
                status: Some(200),
                error: None
            }
        );
    }
    let head = wb
        .exec(
            "request",
            json!({"method": "HEAD", "url": "/echo"}),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(data(&head)["status"], 200);
    assert_eq!(server.count_method("GET"), 2);
    assert_eq!(server.count_method("HEAD"), 1);
    assert_eq!(server.count_writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_read_only_profile_blocks_and_records_writes() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let body = format!("{{\"would\":\"{method}\"}}");
        let report = wb
            .exec(
                "request",
                json!({"method": method, "url": "/things?x=1", "body": body}),
                Profile::ReadOnly,
            )
            .await;
        assert_eq!(code(&report), "provider_denied", "{method}");
        let attempted: Vec<_> = report.attempted_writes().collect();
        assert_eq!(attempted.len(), 1, "{method}: {:#?}", report.requests);
        let w = attempted[0];
        assert_eq!(w.method, method);
        assert_eq!(w.url, server.url("/things?x=1"));
        assert_eq!(w.body_preview.as_deref(), Some(body.as_str()));
        assert_eq!(w.body_bytes, body.len() as u64);
        assert!(!w.body_truncated);
        assert_eq!(
            w.decision,
            RequestDecision::Denied {
                reason: "method_not_allowed_in_read_only_profile".into()
            }
        );
    }
    assert_eq!(server.count(), 0, "{:#?}", server.hits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_write_profile_lets_writes_through() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let report = wb
        .exec_live(
            "request",
            json!({"method": "POST", "url": "/things", "body": "{\"n\":1}"}),
        )
        .await;
    let d = data(&report);
    assert_eq!(d["status"], 200);
    assert_eq!(report.attempted_writes().count(), 0);
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "POST");
    assert_eq!(hits[0].path, "/things");
    assert_eq!(hits[0].body, "{\"n\":1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i9_injected_credential_reaches_the_server_and_never_the_caller() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let report = wb
        .exec(
            "request",
            json!({"method": "GET", "url": "/echo"}),
            Profile::ReadOnly,
        )
        .await;
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    let expected = format!("Bearer {CANARY}");
    assert_eq!(hits[0].header("authorization"), Some(expected.as_str()));

    // The echo handed the header back to the guest, which returned it: the
    // host must have replaced it before anyone sees it.
    let body = data(&report)["body"].as_str().unwrap().to_string();
    assert!(
        body.contains("Bearer [REDACTED:WELLBEHAVED_TOKEN]"),
        "the guest did not return the echo, so this test proves nothing: {body}"
    );
    assert_no_canary(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i9_credential_overrides_the_guests_header_and_stays_on_its_origin() {
    let with_credential = FakeServer::start().await;
    let other = FakeServer::start().await;
    let wb = wellbehaved(&with_credential)
        .origin(&other.origin())
        .load()
        .await;
    let forged = json!({"Authorization": "Bearer forged-by-guest"});
    let a = wb
        .exec(
            "request",
            json!({"method": "GET", "url": with_credential.url("/a"), "headers": forged}),
            Profile::ReadOnly,
        )
        .await;
    data(&a);
    let b = wb
        .exec(
            "request",
            json!({"method": "GET", "url": other.url("/b"), "headers": forged}),
            Profile::ReadOnly,
        )
        .await;
    data(&b);

    let hit = &with_credential.hits()[0];
    let auth: Vec<&str> = hit
        .headers
        .iter()
        .filter(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(auth, [format!("Bearer {CANARY}").as_str()], "{hit:?}");

    let hit = &other.hits()[0];
    assert_eq!(hit.header("authorization"), Some("Bearer forged-by-guest"));
    assert!(
        hit.headers.iter().all(|(_, v)| !v.contains(CANARY)),
        "the credential went to an origin it is not for: {hit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i9_secret_in_a_blocked_request_is_redacted_from_its_preview() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    // As if the guest had learned the secret: it puts it in the URL and body.
    let report = wb
        .exec(
            "request",
            json!({
                "method": "POST",
                "url": format!("/steal?t={CANARY}"),
                "body": format!("{{\"token\":\"{CANARY}\"}}"),
            }),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(code(&report), "provider_denied");
    let w = report.attempted_writes().next().expect("recorded");
    assert_eq!(w.url, server.url("/steal?t=[REDACTED:WELLBEHAVED_TOKEN]"));
    assert_eq!(
        w.body_preview.as_deref(),
        Some("{\"token\":\"[REDACTED:WELLBEHAVED_TOKEN]\"}")
    );
    assert_no_canary(&report);
    assert_eq!(server.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_error_maps_to_rate_limited_with_retry_after() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let report = wb.exec("fail", json!({}), Profile::ReadOnly).await;
    assert_eq!(code(&report), "provider_rate_limited");
    match &report.result {
        Err(CallError::Provider(ProviderError::RateLimited {
            retry_after_seconds,
            message,
        })) => {
            assert_eq!(*retry_after_seconds, Some(7));
            assert_eq!(message, "wellbehaved is always rate limited");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_normalizes_params_and_makes_no_request() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let report = wb
        .provider
        .validate(
            &ctx(Mode::DryRun),
            "request",
            r#"{"method":"post","url":"/x"}"#,
        )
        .await;
    let v = report.result.as_ref().expect("validated");
    assert_eq!(v.params, json!({"method": "POST", "url": "/x"}));
    assert_eq!(v.spend, None);
    assert!(report.requests.is_empty());

    // Host-side schema check before any guest code runs.
    let errors = wb
        .provider
        .check_params("imports", &json!({"bogus": 1}))
        .unwrap_err();
    assert!(errors.iter().any(|e| e.contains("bogus")), "{errors:?}");
    assert!(wb.provider.check_params("imports", &json!({})).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operation_is_refused_before_the_guest_runs() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server).load().await;
    let report = wb.exec("nope", json!({}), Profile::Write).await;
    assert_eq!(code(&report), "unknown_operation");
    let report = wb.provider.validate(&ctx(Mode::DryRun), "nope", "{}").await;
    assert_eq!(code(&report), "unknown_operation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i8_response_body_over_the_limit_fails_that_call_only() {
    let server = FakeServer::start().await;
    let wb = wellbehaved(&server)
        .limit("max_response_bytes", 64 * 1024)
        .load()
        .await;
    let report = wb
        .exec(
            "request",
            json!({"method": "GET", "url": "/big/300000"}),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(code(&report), "response_too_large");
    let fits = wb
        .exec(
            "request",
            json!({"method": "GET", "url": "/big/1000"}),
            Profile::ReadOnly,
        )
        .await;
    assert_eq!(data(&fits)["body"].as_str().unwrap().len(), 1000);
}
