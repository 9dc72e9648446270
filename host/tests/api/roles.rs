//! Roles, project scopes, sessions and the approval walk through HTTP.

use super::{TestApp, key, live_note};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

#[tokio::test]
async fn i4_approval_over_http_is_bound_to_the_hash_and_to_the_approver_role() {
    let app = TestApp::new().await;
    // With the switches off a live proposal is refused at once (I2).
    let r = app
        .call(
            Some("proposer"),
            "POST",
            "/api/actions",
            Some(live_note("hello")),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "denied"),
        "{:?}",
        r.body
    );
    app.switches(true).await;
    let a = app.propose(live_note("hello")).await;
    assert_eq!(a["status"], "pending_approval");
    let id = a["id"].as_str().unwrap();
    let hash = a["payload_hash"].as_str().unwrap();
    let path = format!("/api/actions/{id}/approve");
    // A proposer lacks the role.
    let r = app
        .call(
            Some("proposer"),
            "POST",
            &path,
            Some(json!({"payload_hash": hash})),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    // The wrong hash is refused.
    let r = app
        .call(
            Some("approver"),
            "POST",
            &path,
            Some(json!({"payload_hash": "a".repeat(64)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.code(), "payload_hash_mismatch");
    // The right hash by an approver.
    let r = app
        .call(
            Some("approver"),
            "POST",
            &path,
            Some(json!({"payload_hash": hash})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "approved");
    // Switches turned off after approval: execution is refused with every reason (I2).
    app.switches(false).await;
    let r = app
        .call(
            Some("proposer"),
            "POST",
            &format!("/api/actions/{id}/execute"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "denied"),
        "{:?}",
        r.body
    );
    let reasons = r.body["error"]["decision"]["reasons"].to_string();
    assert!(reasons.contains("switch"), "{reasons}");
}

#[tokio::test]
async fn switches_need_an_operator_and_are_audited_with_the_request_id() {
    let app = TestApp::new().await;
    let body = json!({"state": "on", "reason": "launch"});
    let r = app
        .call(
            Some("approver"),
            "PUT",
            "/api/switches/example",
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let req = Request::builder()
        .method("PUT")
        .uri("/api/switches/example")
        .header("x-api-key", key("operator"))
        .header("x-request-id", "flip-0001")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["on"], true);
    let r = app
        .call(Some("viewer"), "GET", "/api/switches/example", None)
        .await;
    assert_eq!(r.body["on"], true);
    assert_eq!(r.body["updated_by"], "operator");
    let r = app
        .call(Some("viewer"), "GET", "/api/switches/nope", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audit = app.call(Some("admin"), "GET", "/api/audit", None).await;
    let flip = audit.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["request_id"] == "flip-0001")
        .expect("the flip's audit record carries the request id");
    assert_eq!(flip["actor"], "operator");
    assert_eq!(flip["auth"], "api_key");
}

#[tokio::test]
async fn a_session_token_works_like_its_key_and_is_audited_as_jwt() {
    let app = TestApp::new().await;
    app.switches(true).await;
    let r = app
        .call(
            None,
            "POST",
            "/api/auth/login",
            Some(json!({"api_key": key("approver")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["token_type"], "Bearer");
    let bearer = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        b.body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
            .unwrap()
    };
    let who = app.send(bearer("GET", "/api/auth/whoami", None)).await;
    assert_eq!(who.body["id"], "approver");
    assert_eq!(who.body["auth"], "jwt");
    let a = app.propose(live_note("jwt")).await;
    let id = a["id"].as_str().unwrap();
    let r = app
        .send(bearer(
            "POST",
            &format!("/api/actions/{id}/approve"),
            Some(json!({"payload_hash": a["payload_hash"]})),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let audit = app.call(Some("admin"), "GET", "/api/audit", None).await;
    let approval = audit.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["action_id"] == id && r["actor"] == "approver")
        .expect("an approval record");
    assert_eq!(approval["auth"], "jwt");
    let bad = app
        .call(
            None,
            "POST",
            "/api/auth/login",
            Some(json!({"api_key": "apk_nope"})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

#[tokio::test]
async fn a_scoped_principal_sees_only_its_projects() {
    let app = TestApp::new().await;
    app.switches(true).await;
    let demo = app.propose(live_note("secret plan")).await;
    let other = app
        .call(
            Some("other-admin"),
            "POST",
            "/api/actions",
            Some(
                json!({"project": "other", "domain": "example", "operation": "echo",
                        "params": {"message": "mine"}}),
            ),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{:?}", other.body);
    let who = app
        .call(Some("other-admin"), "GET", "/api/auth/whoami", None)
        .await;
    assert_eq!(who.body["projects"], json!(["other"]));
    let list = app
        .call(Some("other-admin"), "GET", "/api/actions", None)
        .await;
    let ids: Vec<&str> = list.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["project"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["other"]);
    let r = app
        .call(
            Some("other-admin"),
            "GET",
            &format!("/api/actions/{}", demo["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .call(
            Some("other-admin"),
            "POST",
            "/api/actions",
            Some(
                json!({"project": "demo", "domain": "example", "operation": "echo",
                        "params": {"message": "x"}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audit = app
        .call(Some("other-admin"), "GET", "/api/audit", None)
        .await;
    assert!(!audit.body.to_string().contains("secret plan"));
    assert!(
        audit.body["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["project"] == "other")
    );
}
