//! One action's way from proposal to its single write, through HTTP only.

use crate::client::{Api, Resp, failing_reason};
use crate::common::fake_etsy::{DRAFT_ID, SHOP_ID};
use crate::server::{ALICE, Fakes, OLGA, PAT, QUINN, VIC, World};
use serde_json::{Value, json};

/// Turns a switch as the operator.
pub async fn switch(api: &Api, scope: &str, on: bool) -> Resp {
    let state = if on { "on" } else { "off" };
    let r = api
        .put(
            OLGA.key,
            &format!("/api/switches/{scope}"),
            &json!({"state": state, "reason": "e2e test"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["on"], json!(on), "{}", r.text);
    r
}

/// The action as `key` sees it.
pub async fn action(api: &Api, key: &str, id: &str) -> Value {
    let r = api.get(key, &format!("/api/actions/{id}")).await;
    r.expect(200);
    r.body.clone()
}

/// Asserts the audit chain verifies through the API.
pub async fn audit_ok(api: &Api) {
    let r = api.get(ALICE.key, "/api/audit/verify").await;
    r.expect(200);
    assert_eq!(r.body["ok"], json!(true), "audit verify: {}", r.text);
    assert!(r.body["records"].as_i64().unwrap() > 0, "{}", r.text);
}

/// Every audit record, oldest first.
pub async fn audit_records(api: &Api, key: &str) -> Vec<Value> {
    let r = api.get(key, "/api/audit?limit=1000").await;
    r.expect(200);
    r.body["records"].as_array().unwrap().clone()
}

/// A dry-run's answer shows the write it would make: the first-party plugins honour the mode
/// and describe the request in `outcome.data.preview`; a write a plugin attempted anyway is
/// blocked by the read-only profile and listed in the action's `preview` (I3). Either way
/// nothing was sent.
#[track_caller]
fn assert_previews_write(r: &Resp, method: &str, path: &str) {
    let described = &r.body["outcome"]["data"]["preview"];
    let attempted = r.body["preview"].as_array().expect("a preview list");
    let shows =
        |w: &Value| w["method"] == method && w["url"].as_str().is_some_and(|u| u.ends_with(path));
    assert!(
        shows(described) || attempted.iter().any(shows),
        "the preview shows {method} {path}: {}",
        r.text
    );
    assert!(
        attempted.iter().all(|w| w["decision"] != "sent"),
        "a dry-run sent a write: {}",
        r.text
    );
}

fn publish(mode: &str) -> Value {
    json!({
        "project": "demo",
        "domain": "etsy",
        "operation": "publish_listing",
        "params": {"listing_id": DRAFT_ID},
        "mode": mode,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_etsy_publish_dry_run_then_live_with_switches_and_approval() {
    let fakes = Fakes::start().await;
    let world = World::new(&fakes.origins());
    let server = world.start(1).await;
    let api = server.api;
    let etsy = &fakes.etsy;
    let listing_path = format!("/v3/application/shops/{SHOP_ID}/listings/{DRAFT_ID}");

    // Dry-run: 201, previewed, the attempted write is the preview, nothing written.
    let r = api.post(PAT.key, "/api/actions", &publish("dry-run")).await;
    r.expect(201);
    assert_eq!(r.body["status"], "previewed", "{}", r.text);
    assert_eq!(r.body["mode"], "dry-run");
    assert_previews_write(&r, "PATCH", &listing_path);
    assert!(
        etsy.writes().is_empty(),
        "a dry-run wrote: {:?}",
        etsy.writes()
    );
    assert_eq!(
        etsy.api().listing(DRAFT_ID).unwrap()["state"],
        "draft",
        "the listing is untouched"
    );

    // Live while every switch is off: refused at proposal (403 `denied`), recorded as denied.
    let r = api.post(PAT.key, "/api/actions", &publish("live")).await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "global_switch_off", "{}", r.text);
    let denied_id = r.body["error"]["action_id"].as_str().expect("action id");
    assert_eq!(action(&api, PAT.key, denied_id).await["status"], "denied");
    assert!(etsy.writes().is_empty());

    // Only an operator flips switches.
    for key in [PAT.key, ALICE.key] {
        api.put(
            key,
            "/api/switches/global",
            &json!({"state": "on", "reason": "not mine to flip"}),
        )
        .await
        .expect_error(403, "forbidden");
    }
    switch(&api, "global", true).await;
    let r = api.post(PAT.key, "/api/actions", &publish("live")).await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "domain_switch_off", "{}", r.text);
    switch(&api, "etsy", true).await;

    // With both switches on, the live publish waits for an approval.
    let r = api.post(PAT.key, "/api/actions", &publish("live")).await;
    r.expect(201);
    assert_eq!(r.body["status"], "pending_approval", "{}", r.text);
    assert_eq!(r.body["tier"], "C");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let hash = r.body["payload_hash"].as_str().unwrap().to_owned();
    assert_ne!(id, denied_id, "a new action, not the denied one");

    // An action waiting for approval never runs.
    api.post_empty(PAT.key, &format!("/api/actions/{id}/execute"))
        .await
        .expect_error(409, "invalid_state");
    // The approval is bound to the payload hash.
    let approve = format!("/api/actions/{id}/approve");
    let wrong = "0".repeat(64);
    api.post(ALICE.key, &approve, &json!({"payload_hash": wrong}))
        .await
        .expect_error(422, "payload_hash_mismatch");
    // Separation of duties: the proposer holds the approver role but may not approve.
    api.post(PAT.key, &approve, &json!({"payload_hash": hash}))
        .await
        .expect_error(403, "approval_by_proposer");
    // A proposer without the approver role may not approve at all.
    api.post(QUINN.key, &approve, &json!({"payload_hash": hash}))
        .await
        .expect_error(403, "forbidden");
    // A viewer of another project does not even see the action.
    api.get(VIC.key, &format!("/api/actions/{id}"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        action(&api, ALICE.key, &id).await["status"],
        "pending_approval"
    );
    assert!(etsy.writes().is_empty());

    let r = api
        .post(ALICE.key, &approve, &json!({"payload_hash": hash}))
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved", "{}", r.text);
    let a = action(&api, PAT.key, &id).await;
    let approvals = a["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1, "{a}");
    assert_eq!(approvals[0]["approver"], "alice", "{a}");

    // Every gate is checked again at execution: the domain switch turned off refuses it.
    switch(&api, "etsy", false).await;
    let execute = format!("/api/actions/{id}/execute");
    let r = api.post_empty(PAT.key, &execute).await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "domain_switch_off", "{}", r.text);
    assert_eq!(action(&api, PAT.key, &id).await["status"], "approved");
    assert!(etsy.writes().is_empty());
    switch(&api, "etsy", true).await;

    // Execute: exactly one write, with the credentials the host injected.
    let r = api.post_empty(PAT.key, &execute).await;
    r.expect(200);
    assert_eq!(r.body["status"], "succeeded", "{}", r.text);
    let writes = etsy.writes();
    assert_eq!(writes.len(), 1, "exactly one write: {writes:?}");
    assert_eq!(
        (writes[0].method.as_str(), writes[0].path.as_str()),
        ("PATCH", listing_path.as_str())
    );
    assert_eq!(writes[0].form_value("state").as_deref(), Some("active"));
    assert_eq!(
        etsy.api().listing(DRAFT_ID).unwrap()["state"],
        "active",
        "{}",
        r.text
    );

    // Executing again returns the recorded result; nothing is sent twice (I5).
    let again = api.post_empty(PAT.key, &execute).await;
    again.expect(200);
    assert_eq!(again.body["status"], "succeeded");
    assert_eq!(again.body["outcome"], r.body["outcome"]);
    assert_eq!(etsy.writes().len(), 1, "no second write");

    // The history of the action is in the audit chain, and the chain verifies.
    let events: Vec<String> = audit_records(&api, ALICE.key)
        .await
        .into_iter()
        .filter(|rec| rec["action_id"].as_str() == Some(id.as_str()))
        .map(|rec| rec["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        events.len() >= 4,
        "proposed, approved, executing, finished: {events:?}"
    );
    audit_ok(&api).await;
    // The viewer of another project sees none of demo's records.
    let theirs = audit_records(&api, VIC.key).await;
    assert!(
        theirs.iter().all(|rec| rec["project"] != "demo"),
        "a scoped viewer sees another project's audit records"
    );
}

/// A limit order for AAPL of project `trading-desk`.
pub fn order(qty: &str, limit_price: &str, mode: &str, key: &str) -> Value {
    json!({
        "project": "trading-desk",
        "domain": "trading",
        "operation": "place_order",
        "params": {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": qty,
                   "limit_price": limit_price, "time_in_force": "day"},
        "mode": mode,
        "idempotency_key": key,
    })
}

/// Proposes a live order as `proposer` and has alice approve it.
pub async fn approved_order(api: &Api, proposer: &str, body: &Value) -> String {
    let r = api.post(proposer, "/api/actions", body).await;
    r.expect(201);
    assert_eq!(r.body["status"], "pending_approval", "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let hash = r.body["payload_hash"].as_str().unwrap().to_owned();
    let r = api
        .post(
            ALICE.key,
            &format!("/api/actions/{id}/approve"),
            &json!({"payload_hash": hash}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved", "{}", r.text);
    id
}

fn orders_sent(fakes: &Fakes) -> usize {
    fakes.alpaca.count("POST", "/v2/orders")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_trading_orders_against_the_daily_spend_cap() {
    let fakes = Fakes::start().await;
    let world = World::new(&fakes.origins());
    let server = world.start(1).await;
    let api = server.api;

    // Dry-run: the order is previewed, not placed.
    let r = api
        .post(
            QUINN.key,
            "/api/actions",
            &order("1", "150", "dry-run", "preview-1"),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["status"], "previewed", "{}", r.text);
    assert_previews_write(&r, "POST", "/v2/orders");
    assert_eq!(orders_sent(&fakes), 0);
    assert!(fakes.alpaca.writes().is_empty());

    // Live with the switches off: refused.
    let r = api
        .post(
            QUINN.key,
            "/api/actions",
            &order("1", "150", "live", "off-1"),
        )
        .await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "global_switch_off", "{}", r.text);
    switch(&api, "global", true).await;
    switch(&api, "trading", true).await;

    // Two orders, each within the per-action cap, together over the daily cap of 250 USD:
    // 150 + 140. Both are proposed and approved while nothing is spent yet.
    let first = approved_order(&api, QUINN.key, &order("1", "150", "live", "order-a")).await;
    let second = approved_order(&api, PAT.key, &order("1", "140", "live", "order-b")).await;
    assert_eq!(orders_sent(&fakes), 0, "approval sends nothing");

    let r = api
        .post_empty(QUINN.key, &format!("/api/actions/{first}/execute"))
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "succeeded", "{}", r.text);
    assert_eq!(orders_sent(&fakes), 1);
    // The idempotency key reached the provider as Alpaca's `client_order_id` (I5).
    let placed = fakes.alpaca.api().orders();
    assert!(
        placed.iter().any(|o| o["client_order_id"] == "order-a"),
        "{placed:?}"
    );

    // The second order is refused at execution by the daily cap, in the transaction that
    // would have reserved its spend (I2, I7): nothing reaches Alpaca.
    let r = api
        .post_empty(PAT.key, &format!("/api/actions/{second}/execute"))
        .await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "spend_daily_exceeded", "{}", r.text);
    assert_eq!(action(&api, PAT.key, &second).await["status"], "approved");

    // A new proposal over what is left of the day is refused at once.
    let r = api
        .post(
            QUINN.key,
            "/api/actions",
            &order("1", "120", "live", "order-c"),
        )
        .await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "spend_daily_exceeded", "{}", r.text);

    // What was spent, against the caps.
    let r = api.get(ALICE.key, "/api/spend?project=trading-desk").await;
    r.expect(200);
    let usd = r.body["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "USD")
        .cloned()
        .unwrap_or_else(|| panic!("no USD line: {}", r.text));
    assert_eq!(
        usd["day_reserved"].as_i64().unwrap() + usd["day_settled"].as_i64().unwrap(),
        15_000,
        "{usd}"
    );
    assert_eq!(usd["cap_per_day"], 25_000, "{usd}");

    // Fake Alpaca saw exactly one order, and the chain verifies.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(orders_sent(&fakes), 1, "{:?}", fakes.alpaca.writes());
    assert_eq!(fakes.alpaca.writes().len(), 1);
    audit_ok(&api).await;
    // The refusal is audited with the reason that refused it.
    let refused = audit_records(&api, OLGA.key)
        .await
        .into_iter()
        .filter(|rec| rec["action_id"].as_str() == Some(second.as_str()))
        .any(|rec| {
            rec["decision"] == "deny"
                && failing_reason(&json!({"reasons": rec["reasons"]})) == "spend_daily_exceeded"
        });
    assert!(refused, "the refused execution is audited");
}
