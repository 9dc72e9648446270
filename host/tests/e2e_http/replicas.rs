//! Two host processes on one PostgreSQL database (DESIGN §8, §9): the replicas share no
//! memory, so caps, switches and the single execution of an action hold only because every
//! gate check and reservation happens inside a database transaction.

use crate::client::Api;
use crate::server::{ALICE, Fakes, OLGA, QUINN, World};
use crate::walk::{action, approved_order, audit_ok, order};
use serde_json::json;
use sqlx::Connection;

const PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database for this test; its URL.
async fn fresh_database() -> String {
    let server = std::env::var("AUTOPACK_TEST_POSTGRES_URL").unwrap_or_else(|_| PG.to_owned());
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {server}: {e}"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!(
        "autopack_replicas_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

async fn flip(api: &Api, scope: &str, on: bool) {
    let state = if on { "on" } else { "off" };
    let r = api
        .put(
            OLGA.key,
            &format!("/api/switches/{scope}"),
            &json!({"state": state, "reason": "replicas"}),
        )
        .await;
    r.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i7_two_replicas_on_one_postgres_keep_one_execution_the_cap_and_the_switches() {
    let fakes = Fakes::start().await;
    let world = World::new(&fakes.origins());
    // Point the world's config at PostgreSQL instead of its SQLite file.
    let url = fresh_database().await;
    let text = std::fs::read_to_string(world.config()).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("database_url") {
                format!("database_url = {}", serde_json::to_string(&url).unwrap())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(world.config(), text).unwrap();
    let a = world
        .start_with(1, &[("AUTOPACK_INSTANCE_ID", "replica-a")])
        .await;
    let b = world
        .start_with(2, &[("AUTOPACK_INSTANCE_ID", "replica-b")])
        .await;
    let (a, b) = (a.api, b.api);

    // A switch flipped on one replica is what the other decides with.
    flip(&a, "global", true).await;
    flip(&a, "trading", true).await;
    let sw = b.get(ALICE.key, "/api/switches/trading").await;
    assert_eq!(sw.body["on"], true, "{}", sw.text);

    // One approved order, executed 20 times at once across both replicas: one order is sent.
    let id = approved_order(&b, QUINN.key, &order("1", "100", "live", "once")).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let api = if i % 2 == 0 { a } else { b };
        let path = format!("/api/actions/{id}/execute");
        tasks.push(tokio::spawn(async move {
            api.post_empty(QUINN.key, &path).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok += 1,
            409 => assert!(
                matches!(r.code(), "action_in_progress" | "invalid_state"),
                "{}",
                r.text
            ),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(ok >= 1, "someone ran it");
    assert_eq!(
        fakes.alpaca.count("POST", "/v2/orders"),
        1,
        "exactly one order across replicas"
    );
    assert_eq!(action(&a, ALICE.key, &id).await["status"], "succeeded");

    // Two approved orders that together exceed the daily cap (250 USD; 100 is spent), run at
    // the same time on different replicas: one fits, the other is refused by the cap.
    let x = approved_order(&a, QUINN.key, &order("1", "120", "live", "cap-x")).await;
    let y = approved_order(&b, QUINN.key, &order("1", "110", "live", "cap-y")).await;
    let (px, py) = (
        format!("/api/actions/{x}/execute"),
        format!("/api/actions/{y}/execute"),
    );
    let (rx, ry) = tokio::join!(a.post_empty(QUINN.key, &px), b.post_empty(QUINN.key, &py));
    let statuses = [rx.status, ry.status];
    assert!(statuses.contains(&200), "{} / {}", rx.text, ry.text);
    let refused = if rx.status == 200 { &ry } else { &rx };
    refused.expect_error(403, "denied");
    assert_eq!(
        refused.denial_code(),
        "spend_daily_exceeded",
        "{}",
        refused.text
    );
    assert_eq!(fakes.alpaca.count("POST", "/v2/orders"), 2);

    // Off on one replica: the other refuses a live proposal at once.
    flip(&b, "trading", false).await;
    let r = a
        .post(
            QUINN.key,
            "/api/actions",
            &order("1", "10", "live", "after-off"),
        )
        .await;
    r.expect_error(403, "denied");
    assert_eq!(r.denial_code(), "domain_switch_off", "{}", r.text);
    audit_ok(&a).await;
    audit_ok(&b).await;
}
