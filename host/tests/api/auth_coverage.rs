//! I11: every route of the route table, with no credentials, a wrong key, a forged token, a
//! key of too low a role and a key of another project. Any route outside the justified
//! allowlist that answers anything but the documented 401/403/404 fails the test, and so does
//! a new public route that is not on the allowlist.

use super::{TestApp, live_note, request};
use autopack_host::api::routes::{Access, ROUTES, Route, RouteId};
use autopack_host::principal::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

/// The routes that may answer without credentials, and nothing else.
const ALLOWLIST: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("POST", "/api/auth/login"),
    ("GET", "/ui"),
];

fn body_for(id: RouteId) -> Option<Value> {
    Some(match id {
        RouteId::Login => json!({"api_key": "apk_nope"}),
        RouteId::Propose => json!({"project": "demo", "domain": "example", "operation": "echo",
                                    "params": {"message": "hi"}}),
        RouteId::Approve => json!({"payload_hash": "0".repeat(64)}),
        RouteId::Reject => json!({"reason": "no"}),
        RouteId::Resolve => json!({"outcome": "failed", "note": "n"}),
        RouteId::PutSwitch => json!({"state": "off", "reason": "test"}),
        RouteId::Explain => json!({"domain": "example", "operation": "echo",
                                    "params": {"message": "hi"}}),
        _ => return None,
    })
}

/// The concrete URL of a route, every parameter naming something of project `demo`.
fn url(route: &Route, action_id: &str) -> String {
    let path = route
        .path
        .replace("{id}", action_id)
        .replace("{name}", "report.json")
        .replace("{domain}", "example")
        .replace("{scope}", "global")
        .replace("{project}", "demo");
    match route.id {
        RouteId::ListActions | RouteId::Spend => format!("{path}?project=demo"),
        _ => path,
    }
}

/// Whether the route reads or changes something that belongs to project `demo`.
fn project_bound(route: &Route) -> bool {
    route.path.contains("{id}")
        || route.path.contains("{project}")
        || matches!(route.id, RouteId::ListActions | RouteId::Spend)
}

/// A principal holding a role just below `required` (none for `viewer`).
fn too_low(required: Role) -> Option<&'static str> {
    match required {
        Role::Viewer => None,
        Role::Proposer => Some("viewer"),
        Role::Approver => Some("proposer"),
        Role::Operator => Some("approver"),
        Role::Admin => Some("operator"),
    }
}

fn with_bearer(route: &Route, url: &str, token: &str) -> Request<Body> {
    let mut b = Request::builder()
        .method(route.method.as_str())
        .uri(url)
        .header("authorization", format!("Bearer {token}"));
    match body_for(route.id) {
        Some(v) => {
            b = b.header("content-type", "application/json");
            b.body(Body::from(v.to_string())).unwrap()
        }
        None => b.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn i11_production_auth_coverage_of_every_route() {
    let app = TestApp::new().await;
    app.switches(true).await;
    let action = app.propose(live_note("coverage")).await;
    let id = action["id"].as_str().unwrap().to_owned();
    let mut public = Vec::new();
    let mut checked = 0;
    for route in ROUTES {
        let url = url(route, &id);
        let method = route.method.as_str();
        let what = format!("{method} {}", route.path);
        if let Access::Public(_) = route.access {
            public.push((method, route.path));
            continue;
        }
        let no_creds = app
            .send(request(None, method, &url, body_for(route.id)))
            .await;
        assert_eq!(
            no_creds.status,
            StatusCode::UNAUTHORIZED,
            "{what} without credentials: {:?}",
            no_creds.body
        );
        assert_eq!(no_creds.code(), "unauthorized", "{what}");
        let wrong = app
            .send(request(
                Some("apk_wrong_key_0000000000000000000000000"),
                method,
                &url,
                body_for(route.id),
            ))
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::UNAUTHORIZED,
            "{what} with a wrong key"
        );
        let forged = app
            .send(with_bearer(
                route,
                &url,
                "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZG1pbiJ9.AAAA",
            ))
            .await;
        assert_eq!(
            forged.status,
            StatusCode::UNAUTHORIZED,
            "{what} with a forged token"
        );
        if let Access::Role(required) = route.access
            && let Some(low) = too_low(required)
        {
            let r = app.call(Some(low), method, &url, body_for(route.id)).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{what} as `{low}`: {:?}",
                r.body
            );
            assert_eq!(r.code(), "forbidden", "{what}");
        }
        let other = app
            .call(Some("other-admin"), method, &url, body_for(route.id))
            .await;
        if project_bound(route) {
            assert_eq!(
                other.status,
                StatusCode::NOT_FOUND,
                "{what} from another project: {:?}",
                other.body
            );
            assert!(
                !other.body.to_string().contains("coverage"),
                "{what} leaked the action"
            );
        } else if route.id == RouteId::PutSwitch {
            assert_eq!(
                other.status,
                StatusCode::FORBIDDEN,
                "{what} from a scoped principal"
            );
        } else {
            assert!(
                !other.body.to_string().contains(&id),
                "{what} showed project demo's action to another project"
            );
        }
        checked += 1;
    }
    public.sort_unstable();
    let mut allow = ALLOWLIST.to_vec();
    allow.sort_unstable();
    assert_eq!(
        public, allow,
        "the unauthenticated routes must be exactly the justified allowlist"
    );
    assert_eq!(checked + ALLOWLIST.len(), ROUTES.len());
    // The action is untouched: nobody above could approve, reject or resolve it.
    assert_eq!(
        app.call(Some("admin"), "GET", &format!("/api/actions/{id}"), None)
            .await
            .body["status"],
        "pending_approval"
    );
}

#[tokio::test]
async fn i11_public_routes_answer_without_credentials_and_reveal_nothing() {
    let app = TestApp::new().await;
    for (method, path) in ALLOWLIST {
        let body = (*method == "POST").then(|| json!({"api_key": "apk_nope"}));
        let r = app.send(request(None, method, path, body)).await;
        let text = r.body.to_string();
        assert!(
            !text.contains("demo"),
            "{path} reveals project names: {text}"
        );
        if *path == "/api/auth/login" {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        } else {
            assert!(r.status.is_success(), "{path}: {}", r.status);
        }
    }
}
