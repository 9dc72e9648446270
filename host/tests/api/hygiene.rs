//! Limits and hygiene: body limit, request ids, envelopes for every refusal, headers,
//! idempotency over HTTP, metrics and readiness.

use super::{TestApp, key, request};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_oversized_body_is_413_in_the_envelope_with_or_without_a_length() {
    let app = TestApp::new().await;
    let big = "x".repeat(1024 * 1024 + 10);
    let body = json!({"project": "demo", "domain": "example", "operation": "echo",
                      "params": {"message": big}});
    let r = app
        .call(Some("proposer"), "POST", "/api/actions", Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");
    assert!(
        r.body["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    // Streamed without Content-Length: cut while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
        .to_string()
        .into_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let req = Request::builder()
        .method("POST")
        .uri("/api/actions")
        .header("x-api-key", key("proposer"))
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_util_stream(chunks)))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(r.code(), "payload_too_large");
}

fn futures_util_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send {
    struct Iter(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for Iter {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(chunks.into_iter())
}

#[tokio::test]
async fn request_ids_are_echoed_validated_and_recorded() {
    let app = TestApp::new().await;
    let mut req = request(
        Some(key("proposer")),
        "POST",
        "/api/actions",
        Some(
            json!({"project": "demo", "domain": "example", "operation": "echo",
                    "params": {"message": "hi"}}),
        ),
    );
    req.headers_mut()
        .insert("x-request-id", "caller-id-42".parse().unwrap());
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.headers["x-request-id"], "caller-id-42");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let audit = app.call(Some("admin"), "GET", "/api/audit", None).await;
    let records: Vec<_> = audit.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action_id"] == id.as_str())
        .collect();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["request_id"] == "caller-id-42"));
    // A bad id is replaced, and the envelope carries the one on the response.
    let mut req = request(None, "GET", "/api/actions", None);
    req.headers_mut().insert(
        "x-request-id",
        "has spaces and ; semicolons".parse().unwrap(),
    );
    let r = app.send(req).await;
    let got = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(got.starts_with("req_"), "{got}");
    assert_eq!(r.body["error"]["request_id"], got.as_str());
}

#[tokio::test]
async fn every_refusal_uses_the_envelope() {
    let app = TestApp::new().await;
    let r = app.call(Some("viewer"), "GET", "/api/nope", None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .call(Some("viewer"), "DELETE", "/api/actions", None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/actions")
        .header("x-api-key", key("proposer"))
        .body(Body::from("{}"))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/actions")
        .header("x-api-key", key("proposer"))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    let r = app
        .call(
            Some("proposer"),
            "POST",
            "/api/actions",
            Some(
                json!({"project": "demo", "domain": "example", "operation": "echo", "surprise": 1}),
            ),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    let r = app
        .call(Some("viewer"), "GET", "/api/actions?status=sideways", None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let r = app
        .call(Some("viewer"), "GET", "/api/actions/not-an-id", None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let r = app
        .call(
            Some("proposer"),
            "POST",
            "/api/actions",
            Some(json!({"project": "demo", "domain": "example", "operation": "delete_everything"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "denied"));
    assert!(r.body["error"]["decision"]["reasons"].is_array());
}

#[tokio::test]
async fn html_gets_security_headers_and_there_is_no_cors_by_default() {
    let app = TestApp::new().await;
    let r = app.call(None, "GET", "/ui", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'sha256-"),
        "{csp}"
    );
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let mut req = request(Some(key("viewer")), "GET", "/api/switches", None);
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let r = app.send(req).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn i5_the_idempotency_key_header_replays_the_recorded_action() {
    let app = TestApp::new().await;
    let body = json!({"project": "demo", "domain": "example", "operation": "echo",
                      "params": {"message": "once"}});
    let mk = |b: serde_json::Value| {
        let mut req = request(Some(key("proposer")), "POST", "/api/actions", Some(b));
        req.headers_mut()
            .insert("idempotency-key", "order-7".parse().unwrap());
        req
    };
    let first = app.send(mk(body.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let again = app.send(mk(body.clone())).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], first.body["id"]);
    let mut changed = body;
    changed["params"]["message"] = json!("twice");
    let r = app.send(mk(changed)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
}

#[tokio::test]
async fn metrics_count_requests_actions_plugin_calls_and_switches() {
    let app = TestApp::new().await;
    app.propose(
        json!({"project": "demo", "domain": "example", "operation": "echo",
                       "params": {"message": "m"}}),
    )
    .await;
    let r = app.call(Some("viewer"), "GET", "/metrics", None).await;
    let text = r.body.as_str().unwrap();
    for needle in [
        "autopack_http_requests_total{route=\"/api/actions\",method=\"POST\",status=\"201\"} 1",
        "autopack_actions_total{domain=\"example\",tier=\"A\",decision=\"allow\",state=\"previewed\"} 1",
        "autopack_plugin_call_duration_seconds_count{domain=\"example\",call=\"validate\"} 1",
        "autopack_plugin_call_duration_seconds_count{domain=\"example\",call=\"execute\"} 1",
        "autopack_switch_on{scope=\"global_effective\"} 0",
        "autopack_spend_minor_units{project=\"demo\",unit=\"USD\",period=\"day\",kind=\"cap\"} 1000",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    let r = app.call(None, "GET", "/ready", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["providers"], 1);
}
