//! `GET /api/actions/{id}/artifacts/{name}` over HTTP: scoped, bounded, redacted, sandboxed,
//! and closed to traversal however the name is spelled.

use super::TestApp;
use autopack_host::sandbox::journal::Artifact;
use axum::http::StatusCode;
use serde_json::json;

async fn action_with_artifacts(app: &TestApp) -> String {
    let a = app
        .propose(
            json!({"project": "demo", "domain": "example", "operation": "echo",
                        "params": {"message": "artifacts"}}),
        )
        .await;
    let id: autopack_host::governance::ActionId = a["id"].as_str().unwrap().parse().unwrap();
    let report = r#"{"rows": 2, "api_key": "sk_live_should_not_leak", "note": "café"}"#.as_bytes();
    let page = b"<html><script>alert(1)</script></html>";
    let items = vec![
        Artifact {
            name: "report.json".into(),
            content_type: "application/json".into(),
            data: report.to_vec(),
            size: report.len(),
        },
        Artifact {
            name: "page.html".into(),
            content_type: "text/html".into(),
            data: page.to_vec(),
            size: page.len(),
        },
    ];
    app.host.artifacts().store(&id, items).await.unwrap();
    id.to_string()
}

#[tokio::test]
async fn an_artifact_is_read_redacted_and_bounded() {
    let app = TestApp::new().await;
    let id = action_with_artifacts(&app).await;
    let path = format!("/api/actions/{id}/artifacts/report.json");
    let r = app.call(Some("viewer"), "GET", &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let text = r.body.to_string();
    assert!(!text.contains("sk_live_should_not_leak"), "{text}");
    assert_eq!(r.headers["x-artifact-redacted"], "true");
    assert_eq!(r.headers["x-artifact-truncated"], "false");
    assert_eq!(r.headers["content-disposition"], "attachment");
    assert_eq!(r.body["rows"], 2, "{text}");
    // A prefix: the total is the stored size, the body is cut and says so.
    let r = app
        .call(Some("viewer"), "GET", &format!("{path}?max_bytes=10"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-artifact-truncated"], "true");
    assert!(r.body.as_str().unwrap().len() <= 10);
    let total: usize = r.headers["x-artifact-total-bytes"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 10);
    // Two reads give the same bytes.
    let again = app
        .call(Some("viewer"), "GET", &format!("{path}?max_bytes=10"), None)
        .await;
    assert_eq!(again.body, r.body);
}

#[tokio::test]
async fn an_html_artifact_is_an_attachment_in_a_csp_sandbox() {
    let app = TestApp::new().await;
    let id = action_with_artifacts(&app).await;
    let r = app
        .call(
            Some("viewer"),
            "GET",
            &format!("/api/actions/{id}/artifacts/page.html"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-disposition"], "attachment");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("sandbox"), "{csp}");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn traversal_and_other_projects_get_nothing() {
    let app = TestApp::new().await;
    let id = action_with_artifacts(&app).await;
    for name in [
        "..%2F..%2Fautopack-host.toml",
        "%2e%2e%2fx",
        "..",
        ".hidden",
        "a%00b",
        "%2Fetc%2Fpasswd",
    ] {
        let r = app
            .call(
                Some("viewer"),
                "GET",
                &format!("/api/actions/{id}/artifacts/{name}"),
                None,
            )
            .await;
        assert!(
            matches!(r.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND),
            "{name}: {} {:?}",
            r.status,
            r.body
        );
        assert!(
            !r.body.to_string().contains("api_keys"),
            "{name} leaked the config"
        );
    }
    let r = app
        .call(
            Some("viewer"),
            "GET",
            &format!("/api/actions/{id}/artifacts/..%2Fx"),
            None,
        )
        .await;
    assert_eq!(r.code(), "invalid_artifact_name", "{:?}", r.body);
    let r = app
        .call(
            Some("viewer"),
            "GET",
            &format!("/api/actions/{id}/artifacts/missing.txt"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "artifact_not_found")
    );
    let r = app
        .call(
            Some("other-admin"),
            "GET",
            &format!("/api/actions/{id}/artifacts/report.json"),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}
