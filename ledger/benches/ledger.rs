//! Ledger benchmark: durable transitions per second on SQLite and PostgreSQL, and the cost
//! of an audit append.
//!
//! Run with `cargo bench -p autopack-ledger --bench ledger`. SQLite runs in a temporary
//! directory; PostgreSQL in a fresh database on `AUTOPACK_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
//! `AUTOPACK_BENCH_N` sets the operations per measurement (default 1000).
//! A bench binary rather than criterion: the figures are throughput of durable commits and
//! latency percentiles, which need neither warm-up statistics nor outlier models.
//!
//! Every "transition" is one committed, fsynced database transaction that changes an
//! action's state and appends its hash-chained audit record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use autopack_governance::{Mode, Money, Timestamp};
use autopack_ledger::{
    ActionPatch, ActionStatus, ApprovalRow, AuditEvent, AuditRecord, BackendKind, BeginOutcome,
    ExecutionPlan, Finished, Ledger, LedgerOptions, NewAction, SwitchScope,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const NOW: Timestamp = Timestamp(1_767_625_200);
static IDS: AtomicU64 = AtomicU64::new(1);

fn ev() -> AuditEvent {
    AuditEvent::new(NOW, "bench", "api_key").with_request_id("req-bench")
}

fn new_action(status: ActionStatus) -> NewAction {
    let n = IDS.fetch_add(1, Ordering::Relaxed);
    let id = format!("act_0{n:025}").parse().unwrap();
    let params = json!({ "listing_id": n, "title": "Hand-thrown mug", "price": "24.00" });
    let payload = autopack_governance::Payload {
        project: "demo".parse().unwrap(),
        domain: "etsy".parse().unwrap(),
        operation: "publish_listing".parse().unwrap(),
        params: params.clone(),
        mode: Mode::Live,
        plugin_digest: "ab".repeat(32).parse().unwrap(),
    };
    let hash = payload.hash().unwrap();
    NewAction {
        id,
        project: payload.project,
        domain: payload.domain,
        operation: payload.operation,
        params,
        mode: Mode::Live,
        tier: Some(autopack_governance::Tier::C),
        idempotency_key: hash.to_string(),
        payload_hash: hash,
        plugin_digest: payload.plugin_digest,
        proposer: "pat".parse().unwrap(),
        status,
        decision: json!({ "verdict": "needs_approval" }),
        declared_spend: vec![Money::parse("0.20 USD").unwrap()],
        created_at: NOW,
        expires_at: Some(NOW.plus_seconds(3600)),
    }
}

fn pct(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

fn report(name: &str, ops: usize, wall: Duration, samples: &mut [Duration]) {
    let per_s = ops as f64 / wall.as_secs_f64();
    let p50 = pct(samples, 0.50).as_secs_f64() * 1e3;
    let p99 = pct(samples, 0.99).as_secs_f64() * 1e3;
    println!("  {name:<48} {per_s:>9.0} /s   p50 {p50:>7.2} ms   p99 {p99:>7.2} ms");
}

/// Sequential `pending_approval → approved` transitions, one commit each.
async fn sequential_transitions(l: &Ledger, n: usize) {
    let mut ids = Vec::new();
    for _ in 0..n {
        let a = new_action(ActionStatus::PendingApproval);
        ids.push(a.id.clone());
        l.insert_action(a, ev()).await.unwrap();
    }
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for id in &ids {
        let t = Instant::now();
        l.transition(
            id,
            &[ActionStatus::PendingApproval],
            ActionStatus::Approved,
            ActionPatch::default(),
            ev(),
        )
        .await
        .unwrap();
        samples.push(t.elapsed());
    }
    report("transition, 1 client", n, start.elapsed(), &mut samples);
}

/// The same transitions from 16 concurrent clients.
async fn concurrent_transitions(l: Arc<Ledger>, n: usize) {
    let mut ids = Vec::new();
    for _ in 0..n {
        let a = new_action(ActionStatus::PendingApproval);
        ids.push(a.id.clone());
        l.insert_action(a, ev()).await.unwrap();
    }
    let clients = 16;
    let chunks: Vec<Vec<_>> = ids.chunks(n.div_ceil(clients)).map(<[_]>::to_vec).collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            for id in chunk {
                let t = Instant::now();
                l.transition(
                    &id,
                    &[ActionStatus::PendingApproval],
                    ActionStatus::Rejected,
                    ActionPatch::default(),
                    ev(),
                )
                .await
                .unwrap();
                samples.push(t.elapsed());
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    report("transition, 16 clients", n, start.elapsed(), &mut samples);
}

/// The whole live path: propose, approve, approved, begin (check + reserve), finish.
async fn live_cycles(l: &Ledger, n: usize) {
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let a = new_action(ActionStatus::PendingApproval);
        let (id, hash) = (a.id.clone(), a.payload_hash.clone());
        l.insert_action(a, ev()).await.unwrap();
        let approval = ApprovalRow::new("alice".parse().unwrap(), hash, NOW);
        l.add_approval(&id, approval, ev()).await.unwrap();
        l.transition(
            &id,
            &[ActionStatus::PendingApproval],
            ActionStatus::Approved,
            ActionPatch::default(),
            ev(),
        )
        .await
        .unwrap();
        let out = l
            .begin_execution(&id, NOW, |s| {
                Ok(ExecutionPlan {
                    reserve: s.action.declared_spend.clone(),
                    decision: json!({ "verdict": "allow" }),
                    audit: ev(),
                })
            })
            .await
            .unwrap();
        assert!(matches!(out, BeginOutcome::Started(_)));
        let done = Finished {
            status: ActionStatus::Succeeded,
            outcome: Some(json!({ "status": "ok" })),
            error: None,
            preview: None,
            actual_spend: vec![Money::parse("0.20 USD").unwrap()],
        };
        l.finish_execution(&id, done, ev()).await.unwrap();
        samples.push(t.elapsed());
    }
    let wall = start.elapsed();
    let per_s = n as f64 / wall.as_secs_f64();
    let p50 = pct(&mut samples, 0.5).as_secs_f64() * 1e3;
    println!(
        "  {:<48} {per_s:>9.0} /s   p50 {p50:>7.2} ms   ({:.0} commits/s)",
        "live cycle (5 commits), 1 client",
        per_s * 5.0
    );
}

/// An audit append alone (`record_event`: one commit holding only the record).
async fn audit_appends(l: &Ledger, n: usize) {
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        l.record_event(
            ev().with_event("config.loaded")
                .with_policy_digest(format!("{i:064}")),
        )
        .await
        .unwrap();
        samples.push(t.elapsed());
    }
    report(
        "audit append (record_event), 1 client",
        n,
        start.elapsed(),
        &mut samples,
    );
}

async fn verify(l: &Ledger) {
    let start = Instant::now();
    let report = l.verify_audit().await.unwrap();
    let wall = start.elapsed();
    assert!(report.ok, "{report:?}");
    println!(
        "  {:<48} {:>9.0} records/s ({} records in {:.0} ms)",
        "audit verify",
        report.records as f64 / wall.as_secs_f64(),
        report.records,
        wall.as_secs_f64() * 1e3
    );
}

async fn run_all(l: Ledger, n: usize) {
    l.set_switch(&SwitchScope::Global, true, "bench", "bench", ev())
        .await
        .unwrap();
    let l = Arc::new(l);
    sequential_transitions(&l, n).await;
    concurrent_transitions(l.clone(), n).await;
    live_cycles(&l, n / 5).await;
    audit_appends(&l, n).await;
    verify(&l).await;
    l.close().await;
}

/// In-memory cost of sealing one record (canonical JSON + SHA-256), no database.
fn seal_cost() {
    let mut e = ev()
        .with_event("action.executing")
        .with_spend(vec![Money::parse("0.20 USD").unwrap()]);
    e.reasons = json!([
        {"code": "domain_allowed", "gate": "domain", "outcome": "pass", "message": "domain `etsy` is enabled by the policy"},
        {"code": "operation_allowed", "gate": "operation", "outcome": "pass", "message": "the policy lists `publish_listing`"},
        {"code": "spend_within_caps", "gate": "spend", "outcome": "pass", "message": "0.20 USD fits"},
        {"code": "approvals_sufficient", "gate": "approvals", "outcome": "pass", "message": "1 of 1"}
    ]);
    let n = 20_000;
    let mut prev = autopack_ledger::GENESIS_HASH.to_owned();
    let start = Instant::now();
    for seq in 1..=n {
        prev = AuditRecord::seal(seq, &prev, &e).unwrap().hash;
    }
    let per = start.elapsed() / n as u32;
    println!(
        "  {:<48} {:>9.1} µs per record (canonical JSON + SHA-256, no I/O)",
        "audit seal",
        per.as_secs_f64() * 1e6
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes bench binaries; there is nothing to list
    }
    let n: usize = std::env::var("AUTOPACK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    println!("ledger bench, {n} operations per measurement");
    seal_cost();

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    println!("SQLite (WAL, synchronous=FULL, 1 writer connection), {url}");
    let l = Ledger::open(&url).await.unwrap();
    assert_eq!(l.backend(), BackendKind::Sqlite);
    run_all(l, n).await;

    use sqlx::Connection;
    let server = std::env::var("AUTOPACK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = match sqlx::PgConnection::connect(&server).await {
        Ok(c) => c,
        Err(e) => panic!("PostgreSQL is not reachable at {server}: {e}"),
    };
    let name = format!("autopack_ledger_bench_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    let root = server.rsplit_once('/').map_or(server.as_str(), |(r, _)| r);
    let url = format!("{root}/{name}");
    println!("PostgreSQL (pool of 16, READ COMMITTED + row/advisory locks), {root}/…");
    let opts = LedgerOptions {
        max_connections: 16,
        ..LedgerOptions::default()
    };
    let l = Ledger::open_with(&url, &opts).await.unwrap();
    run_all(l, n).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}
