//! `X-Request-ID` on every response; the caller's id in the audit and the log of its request.

use crate::client::Req;
use crate::server::{ALICE, Fakes, PAT, World};
use crate::walk::audit_records;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_request_id_is_on_every_response_and_in_the_audit_of_its_request() {
    let fakes = Fakes::start().await;
    let world = World::new(&fakes.origins());
    let server = world.start(1).await;
    let api = server.api;

    // Without credentials, on an unknown route, on a public route: the client checks every
    // response carries an id; errors also carry it in the envelope.
    let r = api
        .call(Req {
            method: "GET",
            path: "/api/actions",
            key: None,
            body: None,
            headers: vec![],
        })
        .await;
    r.expect_error(401, "unauthorized");
    assert!(r.request_id().starts_with("req_"), "{}", r.request_id());
    api.get(PAT.key, "/no/such/route")
        .await
        .expect_error(404, "not_found");
    let health = api
        .call(Req {
            method: "GET",
            path: "/health",
            key: None,
            body: None,
            headers: vec![],
        })
        .await;
    health.expect(200);
    assert_ne!(health.request_id(), r.request_id(), "a new id per request");

    // A caller's id that is not a sane token is replaced, never echoed.
    let bad = "x".repeat(200);
    let r = api
        .call(Req {
            method: "GET",
            path: "/health",
            key: None,
            body: None,
            headers: vec![("x-request-id", &bad)],
        })
        .await;
    assert!(r.request_id().starts_with("req_") && r.request_id() != bad);

    // A caller's id is echoed, on success and on error, and is in the records it caused.
    let mine = "e2e-trace.0042:propose_1";
    let body = json!({
        "project": "demo", "domain": "etsy", "operation": "get_shop", "params": {},
    });
    let r = api
        .call(Req {
            method: "POST",
            path: "/api/actions",
            key: Some(PAT.key),
            body: Some(&body),
            headers: vec![("x-request-id", mine)],
        })
        .await;
    r.expect(201);
    assert_eq!(r.request_id(), mine);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let refused_id = "e2e-trace.0042:refused_2";
    let r = api
        .call(Req {
            method: "POST",
            path: "/api/actions",
            key: Some(PAT.key),
            body: Some(
                &json!({"project": "demo", "domain": "etsy", "operation": "delete_listing",
                               "params": {"listing_id": 1}}),
            ),
            headers: vec![("x-request-id", refused_id)],
        })
        .await;
    r.expect_error(403, "denied");
    assert_eq!(r.body["error"]["request_id"], refused_id);

    let records = audit_records(&api, ALICE.key).await;
    let of_mine: Vec<_> = records
        .iter()
        .filter(|rec| rec["request_id"] == mine)
        .collect();
    assert!(!of_mine.is_empty(), "no audit record names {mine}");
    assert!(
        of_mine
            .iter()
            .all(|rec| rec["action_id"] == id.as_str() && rec["actor"] == "pat"),
        "{of_mine:?}"
    );
    assert!(
        records
            .iter()
            .any(|rec| rec["request_id"] == refused_id && rec["event"] == "action.refused"),
        "the refusal is audited under its request id"
    );
    // Nothing else claims the caller's id.
    assert!(
        records
            .iter()
            .filter(|rec| rec["action_id"] != id.as_str())
            .all(|rec| rec["request_id"] != mine)
    );

    // The request's log line carries its id too.
    let log = server.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains(mine) && l.contains("/api/actions") && l.contains("201")),
        "no log line of request {mine}:\n{log}"
    );
}
