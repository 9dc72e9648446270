//! I6, at most one attempt: the host is killed (SIGKILL) while a live order is inside the
//! plugin, waiting for the provider's answer. After a restart on the same data dir the
//! action is `unknown`, nothing is sent again, and the audit chain verifies.

use crate::common::fake_alpaca::AlpacaApi;
use crate::common::fake_server::{Api as _, Seen};
use crate::common::serve::Served;
use crate::server::{ALICE, Fakes, OLGA, PAT, World};
use crate::walk::{action, audit_ok, audit_records, switch};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// A fake Alpaca that accepts an order (it exists in the account from then on, as at the
/// real broker) but holds the response until the test lets it go.
struct Holding {
    api: AlpacaApi,
    orders: AtomicUsize,
    received: Notify,
    release: Notify,
}

async fn handle(
    State(h): State<Arc<Holding>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen::of(&method, &uri, headers, body);
    let reply = h.api.answer(&seen);
    if seen.method == "POST" && seen.path == "/v2/orders" {
        h.orders.fetch_add(1, Ordering::SeqCst);
        h.received.notify_one();
        h.release.notified().await;
    }
    reply.into_response()
}

async fn start_holding() -> (Arc<Holding>, Served) {
    let h = Arc::new(Holding {
        api: AlpacaApi::default(),
        orders: AtomicUsize::new(0),
        received: Notify::new(),
        release: Notify::new(),
    });
    let app = axum::Router::new().fallback(handle).with_state(h.clone());
    let served = Served::start(app).await;
    (h, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i6_sigkill_while_executing_leaves_the_action_unknown_and_unsent() {
    let fakes = Fakes::start().await;
    let (alpaca, alpaca_served) = start_holding().await;
    let mut origins = fakes.origins();
    origins.trading = alpaca_served.origin();
    let world = World::new(&origins);
    let mut server = world.start(1).await;
    let api = server.api;

    switch(&api, "global", true).await;
    switch(&api, "trading", true).await;
    let r = api
        .post(
            PAT.key,
            "/api/actions",
            &json!({
                "project": "trading-desk", "domain": "trading", "operation": "place_order",
                "params": {"symbol": "MSFT", "side": "buy", "type": "limit", "qty": "1",
                           "limit_price": "120", "time_in_force": "day"},
                "mode": "live", "idempotency_key": "crash-order-1",
            }),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let hash = r.body["payload_hash"].as_str().unwrap().to_owned();
    api.post(
        ALICE.key,
        &format!("/api/actions/{id}/approve"),
        &json!({"payload_hash": hash}),
    )
    .await
    .expect(200);

    // Execute; the order reaches the fake, which holds its answer.
    let execute_path = format!("/api/actions/{id}/execute");
    let pending = tokio::spawn(async move {
        crate::client::send(
            api.addr,
            crate::client::Req {
                method: "POST",
                path: &execute_path,
                key: Some(PAT.key),
                body: None,
                headers: vec![],
            },
        )
        .await
    });
    tokio::time::timeout(Duration::from_secs(60), alpaca.received.notified())
        .await
        .expect("the order never reached the fake");
    assert_eq!(alpaca.orders.load(Ordering::SeqCst), 1);
    assert_eq!(action(&api, ALICE.key, &id).await["status"], "executing");

    // SIGKILL: no shutdown code runs. The caller gets no answer.
    server.kill();
    let answer = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("the execute call ends with the process")
        .expect("task");
    assert!(answer.is_err(), "a killed host answered: {answer:?}");

    // Restart on the same data dir: the action is `unknown`, and nothing is sent again.
    let server = world.start(2).await;
    let api = server.api;
    let a = action(&api, ALICE.key, &id).await;
    assert_eq!(a["status"], "unknown", "{a}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        alpaca.orders.load(Ordering::SeqCst),
        1,
        "the order was sent again after the restart"
    );
    // Nor does asking again run it: an unknown action is never executed.
    api.post_empty(PAT.key, &format!("/api/actions/{id}/execute"))
        .await
        .expect_error(409, "invalid_state");
    assert_eq!(alpaca.orders.load(Ordering::SeqCst), 1);
    let events: Vec<String> = audit_records(&api, ALICE.key)
        .await
        .into_iter()
        .filter(|rec| rec["action_id"].as_str() == Some(id.as_str()))
        .map(|rec| rec["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        events.iter().any(|e| e.contains("unknown")),
        "the move to unknown is audited: {events:?}"
    );
    audit_ok(&api).await;

    // The operator reconciles it with the plugin's lookup: Alpaca has the order.
    let r = api
        .post(
            OLGA.key,
            &format!("/api/actions/{id}/resolve"),
            &json!({"lookup": true, "note": "host killed mid-order; broker has it"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "succeeded", "{}", r.text);
    assert_eq!(
        alpaca.orders.load(Ordering::SeqCst),
        1,
        "lookup reads, never re-sends"
    );
    audit_ok(&api).await;
    drop(server);

    // The chain verifies from the command line too, on the files the killed hosts left.
    let out = world
        .command()
        .args(["audit", "verify", "--config"])
        .arg(world.config())
        .output()
        .expect("run audit verify");
    assert!(
        out.status.success(),
        "audit verify: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit chain ok"));
    alpaca.release.notify_waiters();
    drop(alpaca_served);
}
