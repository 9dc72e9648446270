//! Races (I5, I7): concurrent executions through the service, on SQLite and PostgreSQL.

use crate::support::*;
use autopack_host::ledger::ActionStatus;
use autopack_host::service::{Host, ServiceError};
use std::sync::Arc;

/// Runs `body` on a fresh world and drops its database afterwards, also on failure.
async fn on<F, Fut>(db: Db, policy: &str, body: F)
where
    F: FnOnce(Arc<World>, Arc<Host>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let w = Arc::new(World::with_policy(db, policy).await);
    // Started here: loading providers is not `Send`.
    let host = Arc::new(w.host().await);
    let outcome = tokio::spawn(body(w.clone(), host)).await;
    w.cleanup().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn twenty_executes_of_one_action(w: Arc<World>, host: Arc<Host>) {
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (host, id, barrier) = (host.clone(), a.id.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            host.execute(&pat(), &id).await
        }));
    }
    let (mut done, mut in_progress) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => {
                assert_eq!(a.status, ActionStatus::Succeeded);
                done += 1;
            }
            Err(ServiceError::ActionInProgress { .. }) => in_progress += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(done + in_progress, 20);
    assert_eq!(w.server.writes().len(), 1, "the provider sees one write");
    let executing = events_of(&host, &a.id)
        .await
        .into_iter()
        .filter(|e| e == "action.executing")
        .count();
    assert_eq!(executing, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i5_twenty_concurrent_executes_send_one_write_sqlite() {
    on(Db::Sqlite, POLICY, twenty_executes_of_one_action).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i5_twenty_concurrent_executes_send_one_write_postgres() {
    on(Db::Postgres, POLICY, twenty_executes_of_one_action).await;
}

/// A daily cap of 37.00 USD; 100 approved actions of 1.00 USD each.
fn cap_policy() -> String {
    POLICY
        .replace("per_day = [\"10.00 USD\"]", "per_day = [\"37.00 USD\"]")
        .replace(
            "per_month = [\"100.00 USD\"]",
            "per_month = [\"1000.00 USD\"]",
        )
}

async fn hundred_executes_against_a_cap(w: Arc<World>, host: Arc<Host>) {
    w.all_on(&host).await;
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(
            approved(&host, spend_req(&format!("/orders/{i}"), 100))
                .await
                .id,
        );
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = Vec::new();
    for id in ids {
        let (host, barrier) = (host.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            host.execute(&pat(), &id).await
        }));
    }
    let (mut ran, mut denied) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => {
                assert_eq!(a.status, ActionStatus::Succeeded, "{:?}", a.error);
                ran += 1;
            }
            Err(e @ ServiceError::Denied { .. }) => {
                assert_eq!(denial_code(e.decision().unwrap()), "spend_daily_exceeded");
                denied += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ran, denied), (37, 63));
    assert_eq!(
        w.server.writes().len(),
        37,
        "the server sees exactly N writes"
    );
    let s = host
        .ledger()
        .spend_summary(&"demo".parse().unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(s.units[0].day_settled, 3700);
    assert!(host.verify_audit().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i7_hundred_concurrent_executes_fit_the_daily_cap_sqlite() {
    on(Db::Sqlite, &cap_policy(), hundred_executes_against_a_cap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn i7_hundred_concurrent_executes_fit_the_daily_cap_postgres() {
    on(Db::Postgres, &cap_policy(), hundred_executes_against_a_cap).await;
}

#[tokio::test]
async fn i7_actual_spend_is_settled() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, spend_req("/pay", 100)).await;
    let done = host.execute(&pat(), &a.id).await.unwrap();
    assert_eq!(done.status, ActionStatus::Succeeded);
    let s = host
        .ledger()
        .spend_summary(&"demo".parse().unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!((s.units[0].day_settled, s.units[0].day_reserved), (100, 0));
    // The 5.00 USD per-action cap holds at proposal already.
    let err = host
        .propose(&pat(), spend_req("/big", 501))
        .await
        .unwrap_err();
    assert_eq!(
        denial_code(err.decision().unwrap()),
        "spend_per_action_exceeded"
    );
}
