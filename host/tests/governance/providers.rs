//! The four real providers (etsy, shopify, youtube, trading) through the service type, against
//! the fakes of their APIs that the provider tests use too (`host/tests/common/`), which speak
//! the real request and response shapes and record every request.

use crate::common::fake_alpaca::{self, AlpacaApi, OPEN_ORDER};
use crate::common::fake_etsy::{ACTIVE_ID, DRAFT_ID, EtsyApi};
use crate::common::fake_server::{Api, Fake, Seen};
use crate::common::fake_shopify::{self, Shop};
use crate::common::fake_youtube::{self, Tube, VIDEO};
use crate::common::providers::{self, Origins};
use crate::common::recorder::Recorder;
use crate::support::*;
use autopack_host::governance::{ActionId, Domain, Effect};
use autopack_host::ledger::{Action, ActionStatus, AuditEvent, BeginOutcome, ExecutionPlan};
use autopack_host::service::{Host, ProposeRequest};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The project whose policy allows every operation of the four providers.
const PROJECT: &str = "shop";

/// The four providers in the order the tests walk them.
const DOMAINS: [&str; 4] = ["etsy", "shopify", "youtube", "trading"];

/// The input file the YouTube provider uploads from its input dir `media`.
const CLIP: &str = "clip.mp4";

/// The four fakes, each counting what reaches it.
struct Fakes {
    etsy: Fake<EtsyApi>,
    alpaca: Fake<AlpacaApi>,
    shopify: Recorder<Shop>,
    youtube: Recorder<Tube>,
}

impl Fakes {
    async fn start() -> Fakes {
        let youtube = Recorder::start(Tube::new(), fake_youtube::youtube).await;
        youtube.state().origin.set(youtube.origin()).unwrap();
        Fakes {
            etsy: Fake::start().await,
            alpaca: Fake::start().await,
            shopify: Recorder::start(Shop::default(), fake_shopify::shopify).await,
            youtube,
        }
    }

    /// Every request each fake received, as `(domain, method)`.
    fn requests(&self) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        for s in self.etsy.seen() {
            out.push(("etsy", s.method, s.path));
        }
        for s in self.alpaca.seen() {
            out.push(("trading", s.method, s.path));
        }
        for h in self.shopify.hits() {
            out.push(("shopify", h.method, h.path));
        }
        for h in self.youtube.hits() {
            out.push(("youtube", h.method, h.path));
        }
        out
    }

    /// Requests other than GET and HEAD, at any fake.
    fn writes(&self) -> Vec<(&'static str, String, String)> {
        self.requests()
            .into_iter()
            .filter(|(_, m, _)| m != "GET" && m != "HEAD")
            .collect()
    }

    /// The secrets the host injects into the providers' requests.
    fn env(w: &World) -> BTreeMap<String, String> {
        let mut env = w.env();
        for (k, v) in providers::secrets() {
            env.insert(k.into(), v.into());
        }
        env
    }

    /// A host with the four providers (besides the default two) and the policy of
    /// [`PROJECT`], which allows every operation the providers describe: the policy is
    /// written from the catalog of a first start, so a new operation is in it too.
    async fn host(&self, w: &World) -> Host {
        let media = w.dir.path().join("media");
        std::fs::create_dir_all(&media).unwrap();
        std::fs::write(media.join(CLIP), fake_youtube::test_video(48 * 1024 + 7)).unwrap();
        let origins = (
            self.etsy.origin(),
            self.shopify.origin(),
            self.youtube.origin(),
            self.alpaca.origin(),
        );
        let toml = providers::providers_toml(
            &Origins {
                etsy: &origins.0,
                shopify: &origins.1,
                youtube: &origins.2,
                trading: &origins.3,
            },
            Some(&media),
        );
        let config = w.config_with(&toml);
        let policy = w.dir.path().join(format!("policies/{PROJECT}.toml"));
        if !policy.exists() {
            let first = w.host_with_config(config.clone(), Self::env(w)).await;
            std::fs::write(&policy, policy_for(catalog_of(&first))).unwrap();
        }
        w.host_with_config(config, Self::env(w)).await
    }
}

/// The operations each of the four providers describes, with their effects (the catalog).
fn catalog_of(host: &Host) -> Vec<(String, Vec<(String, Effect)>)> {
    DOMAINS
        .iter()
        .map(|d| {
            let domain: Domain = d.parse().unwrap();
            let ops = host
                .catalog()
                .operations(&domain)
                .map(|(op, effect)| (op.to_string(), effect))
                .collect();
            (d.to_string(), ops)
        })
        .collect()
}

/// A policy allowing every operation listed, with caps high enough for any test order.
fn policy_for(domains: Vec<(String, Vec<(String, Effect)>)>) -> String {
    let mut p = format!(
        "project = \"{PROJECT}\"\n\n[caps]\nper_action = [\"10000.00 USD\", \"10000 YT_QUOTA\"]\n\
         per_day = [\"10000.00 USD\", \"10000 YT_QUOTA\"]\nper_month = [\"10000.00 USD\", \"10000 YT_QUOTA\"]\n"
    );
    for (domain, ops) in domains {
        let names: Vec<String> = ops.iter().map(|(o, _)| format!("\"{o}\"")).collect();
        let _ = write!(
            p,
            "\n[domains.{domain}]\noperations = [{}]\n",
            names.join(", ")
        );
    }
    p
}

/// Valid params of every operation whose effect is not `read`. A provider that gains a
/// write operation fails the dry-run test below until its params are added here.
fn write_params(domain: &str, operation: &str) -> Option<Value> {
    Some(match (domain, operation) {
        ("etsy", "create_draft_listing") => json!({
            "title": "Speckled mug", "description": "Wheel thrown stoneware.", "price": 24.5,
            "quantity": 3, "who_made": "i_did", "when_made": "made_to_order", "taxonomy_id": 1234
        }),
        ("etsy", "update_listing") => {
            json!({"listing_id": DRAFT_ID, "title": "Speckled mug, large"})
        }
        ("etsy", "publish_listing") => json!({"listing_id": DRAFT_ID}),
        ("etsy", "delete_listing") => json!({"listing_id": ACTIVE_ID}),
        ("shopify", "create_draft_product") => {
            json!({"title": "Blue Mug", "description_html": "<p>Holds tea</p>", "tags": ["mug"]})
        }
        ("shopify", "publish_product") => {
            json!({"product_id": "1001", "publication_ids": ["77"]})
        }
        ("shopify", "update_price") => {
            json!({"product_id": "1001", "variant_id": "2001", "price": "24.50"})
        }
        ("shopify", "adjust_inventory") => json!({
            "inventory_item_id": "3001", "location_id": "4001", "delta": -3, "reason": "damaged"
        }),
        ("shopify", "delete_product") => json!({"product_id": "1001"}),
        ("youtube", "upload_video") => json!({"file": CLIP, "title": "Glazing a mug"}),
        ("youtube", "set_privacy") => json!({"video_id": VIDEO, "privacy_status": "public"}),
        ("youtube", "update_metadata") => {
            json!({"video_id": VIDEO, "title": "Better title", "tags": ["new"]})
        }
        ("youtube", "delete_video") => json!({"video_id": VIDEO}),
        ("trading", "place_order") => limit_buy(),
        ("trading", "cancel_order") => json!({"order_id": OPEN_ORDER}),
        ("trading", "close_position") => json!({"symbol": "AAPL", "qty": "2.5"}),
        _ => return None,
    })
}

/// One share of AAPL at 150.00 USD: a declared spend of 150.00 USD.
fn limit_buy() -> Value {
    json!({"symbol": "AAPL", "side": "buy", "type": "limit", "qty": "1", "limit_price": "150"})
}

// ---------------------------------------------------------------- I3 dry-run

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_dry_run_of_every_write_operation_of_every_provider_sends_no_write() {
    let w = World::new(Db::Sqlite).await;
    let fakes = Fakes::start().await;
    let host = fakes.host(&w).await;
    // Every switch stays off: a dry-run needs none.
    let mut previewed = Vec::new();
    for (domain, ops) in catalog_of(&host) {
        let writes: Vec<_> = ops
            .into_iter()
            .filter(|(_, e)| *e != Effect::Read)
            .collect();
        assert!(!writes.is_empty(), "{domain} describes no write operation");
        for (op, effect) in writes {
            let at = format!("{domain}.{op} ({effect:?})");
            let params = write_params(&domain, &op).unwrap_or_else(|| {
                panic!("{at} is a write operation without params in this test: add them")
            });
            let req = ProposeRequest::new(PROJECT, &domain, &op, params);
            let a = host
                .propose(&pat(), req)
                .await
                .unwrap_or_else(|e| panic!("{at}: {e}"))
                .action;
            assert_eq!(fakes.writes(), [], "{at}: a write reached the fake");
            assert_eq!(a.status, ActionStatus::Previewed, "{at}: {:?}", a.error);
            assert_eq!(a.outcome.as_ref().unwrap()["status"], "previewed", "{at}");
            assert_eq!(
                a.preview,
                Some(json!([])),
                "{at}: the plugin attempted no write"
            );
            previewed.push(at);
        }
    }
    assert!(previewed.len() >= 16, "{previewed:?}");
    // The fakes were reachable: the previews of changes to existing things read them first.
    let reads = fakes.requests();
    for domain in ["etsy", "youtube", "trading"] {
        assert!(
            reads.iter().any(|(d, m, _)| *d == domain && m == "GET"),
            "{domain}: {reads:?}"
        );
    }
    assert!(host.verify_audit().await.unwrap().ok);
}

// ---------------------------------------------------------------- I6 resolve with lookup

/// A live order with idempotency key `key`, proposed and approved, then left `executing`
/// the way a host that dies inside the plugin leaves it: the spend reserved, the outcome
/// never recorded.
async fn order_left_executing(host: &Host, key: &str) -> Action {
    let req = ProposeRequest::new(PROJECT, "trading", "place_order", limit_buy())
        .live()
        .with_key(key);
    let a = host.propose(&pat(), req).await.unwrap().action;
    assert_eq!(a.status, ActionStatus::PendingApproval);
    let a = host
        .approve(&alice(), &a.id, a.payload_hash.as_str())
        .await
        .unwrap();
    let reserve = a.declared_spend.clone();
    assert_eq!(reserve.len(), 1, "a limit buy declares its notional");
    let started = host
        .ledger()
        .begin_execution(&a.id, NOW, move |_| {
            Ok(ExecutionPlan {
                reserve,
                decision: json!({"verdict": "allow"}),
                audit: AuditEvent::new(NOW, "pat", "test"),
            })
        })
        .await
        .unwrap();
    assert!(matches!(started, BeginOutcome::Started(_)));
    a
}

/// The order reaches Alpaca under `client_order_id` = `key`, as the plugin sends it, before
/// the host dies.
fn order_reached_alpaca(alpaca: &Fake<AlpacaApi>, key: &str) -> String {
    let mut headers = HeaderMap::new();
    headers.insert("apca-api-key-id", fake_alpaca::KEY_ID.parse().unwrap());
    headers.insert(
        "apca-api-secret-key",
        fake_alpaca::SECRET_KEY.parse().unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    let mut body = limit_buy();
    body["time_in_force"] = json!("day");
    body["client_order_id"] = json!(key);
    let reply = alpaca.api().answer(&Seen {
        method: "POST".into(),
        path: "/v2/orders".into(),
        query: String::new(),
        headers,
        body: body.to_string().into(),
    });
    assert_eq!(reply.status, 200, "{}", reply.body);
    let order: Value = serde_json::from_str(&reply.body).unwrap();
    order["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i6_resolve_uses_the_plugins_lookup() {
    let w = World::new(Db::Sqlite).await;
    let fakes = Fakes::start().await;
    let host = fakes.host(&w).await;
    for scope in ["global", "trading"] {
        host.set_switch(&op(), scope, true, "test").await.unwrap();
    }
    // Two orders were inside the plugin when the host died: Alpaca got the first.
    let placed = order_left_executing(&host, "crash-order-1").await;
    let lost = order_left_executing(&host, "crash-order-2").await;
    let order_id = order_reached_alpaca(&fakes.alpaca, "crash-order-1");
    drop(host);

    let host = fakes.host(&w).await;
    let mut recovered: Vec<ActionId> = host.recovered().to_vec();
    recovered.sort();
    let mut expected = vec![placed.id.clone(), lost.id.clone()];
    expected.sort();
    assert_eq!(recovered, expected);
    assert_eq!(
        host.get(&placed.id).await.unwrap().status,
        ActionStatus::Unknown
    );

    // The operator asks the plugin: it finds the order by its client_order_id.
    let r = host
        .resolve(&op(), &placed.id, None, "asked Alpaca", true)
        .await
        .unwrap();
    assert_eq!(r.status, ActionStatus::Succeeded);
    let outcome = r.outcome.clone().unwrap();
    assert_eq!(outcome["resolved_by"], "olga");
    assert_eq!(outcome["lookup"]["external_ref"], order_id.as_str());
    assert_eq!(outcome["lookup"]["status"], "accepted");
    assert_eq!(
        outcome["lookup"]["data"]["client_order_id"],
        "crash-order-1"
    );
    assert_eq!(outcome["lookup"]["data"]["symbol"], "AAPL");
    let asked: Vec<_> = fakes
        .alpaca
        .seen()
        .into_iter()
        .map(|s| (s.method, s.path, s.query))
        .collect();
    assert_eq!(
        asked,
        [(
            "GET".to_string(),
            "/v2/orders:by_client_order_id".to_string(),
            "client_order_id=crash-order-1".to_string()
        )],
        "one lookup, nothing re-sent"
    );

    // Alpaca never saw the second order (404): inconclusive, it stays unknown.
    let err = host
        .resolve(&op(), &lost.id, None, "asked Alpaca", true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "lookup_inconclusive", "{err}");
    assert_eq!(
        host.get(&lost.id).await.unwrap().status,
        ActionStatus::Unknown
    );
    assert_eq!(fakes.alpaca.seen().len(), 2);
    assert_eq!(fakes.writes(), [], "a resolve never retries");

    let events = events_of(&host, &placed.id).await;
    assert_eq!(
        events[events.len() - 2..],
        ["action.unknown", "action.succeeded"]
    );
    assert_eq!(
        events_of(&host, &lost.id).await.last().map(String::as_str),
        Some("action.unknown")
    );
    assert!(host.verify_audit().await.unwrap().ok);
}
