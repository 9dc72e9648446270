//! Test harness: a fresh database per test on each backend, and builders.
#![allow(dead_code)]

use autopack_governance::{
    ActionId, Catalog, Effect, Mode, Money, Payload, PayloadHash, Policy, Timestamp,
};
use autopack_ledger::{ActionStatus, AuditEvent, BackendKind, Ledger, LedgerOptions, NewAction};
use serde_json::{Value, json};
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default server of the PostgreSQL tests; `AUTOPACK_TEST_POSTGRES_URL` overrides it.
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// 2026-01-05T15:00:00Z, a Monday.
pub const NOW: Timestamp = Timestamp(1_767_625_200);

/// What a conformance test gets.
pub struct Env {
    /// The ledger under test.
    pub ledger: Ledger,
    /// Its URL, to open more handles (replicas, restarts) or raw connections.
    pub url: String,
    /// Which backend.
    pub kind: BackendKind,
}

impl Env {
    /// Another handle on the same database, like another host process.
    pub async fn reopen(&self, opts: &LedgerOptions) -> Ledger {
        Ledger::open_with(&self.url, opts).await.unwrap()
    }

    /// Runs raw SQL outside the ledger (tampering).
    pub async fn raw(&self, sql: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.kind {
            BackendKind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
            BackendKind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
        }
    }
}

fn pg_server() -> String {
    std::env::var("AUTOPACK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// `server` with its database path replaced by `db`.
fn with_database(server: &str, db: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let root = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "autopack_ledger_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh database on `kind`, dropped afterwards (also when the test panics).
pub async fn run<F, Fut>(kind: BackendKind, test: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match kind {
        BackendKind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
            let ledger = Ledger::open(&url).await.unwrap();
            let env = Env { ledger, url, kind };
            let outcome = tokio::spawn(test(env)).await;
            drop(dir);
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        BackendKind::Postgres => {
            use sqlx::Connection;
            let server = pg_server();
            let mut admin = match sqlx::PgConnection::connect(&server).await {
                Ok(c) => c,
                Err(e) => panic!(
                    "PostgreSQL is not reachable at {server}: {e}. The ledger conformance \
                     suite needs it (start it, or set AUTOPACK_TEST_POSTGRES_URL)."
                ),
            };
            let name = unique_name();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut admin)
                .await
                .unwrap();
            let url = with_database(&server, &name);
            let outcome = match Ledger::open(&url).await {
                Ok(ledger) => {
                    let env = Env { ledger, url, kind };
                    tokio::spawn(test(env)).await
                }
                Err(e) => tokio::spawn(async move { panic!("cannot open {url}: {e}") }).await,
            };
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
            let _ = admin.close().await;
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

static IDS: AtomicU64 = AtomicU64::new(1);

/// A fresh, valid action id.
pub fn new_id() -> ActionId {
    let n = IDS.fetch_add(1, Ordering::Relaxed);
    ActionId::from_str(&format!("act_0{n:025}")).unwrap()
}

/// The digest of the pretend plugin.
pub fn digest() -> autopack_governance::PluginDigest {
    "ab".repeat(32).parse().unwrap()
}

/// The payload hash of `params` for project `demo`, etsy `publish_listing`.
pub fn hash_of(params: &Value, mode: Mode) -> PayloadHash {
    Payload {
        project: "demo".parse().unwrap(),
        domain: "etsy".parse().unwrap(),
        operation: "publish_listing".parse().unwrap(),
        params: params.clone(),
        mode,
        plugin_digest: digest(),
    }
    .hash()
    .unwrap()
}

/// A live `publish_listing` of `demo` declaring `spend`, starting in `status`.
pub fn new_action(status: ActionStatus, spend: &[&str]) -> NewAction {
    let id = new_id();
    let params = json!({ "listing_id": id.as_str() });
    let payload_hash = hash_of(&params, Mode::Live);
    NewAction {
        id,
        project: "demo".parse().unwrap(),
        domain: "etsy".parse().unwrap(),
        operation: "publish_listing".parse().unwrap(),
        params,
        mode: Mode::Live,
        tier: Some(autopack_governance::Tier::C),
        idempotency_key: payload_hash.to_string(),
        payload_hash,
        plugin_digest: digest(),
        proposer: "pat".parse().unwrap(),
        status,
        decision: json!({ "verdict": "needs_approval" }),
        declared_spend: spend.iter().map(|s| Money::parse(s).unwrap()).collect(),
        created_at: NOW,
        expires_at: Some(NOW.plus_seconds(3600)),
    }
}

/// A caller's audit context.
pub fn ev(actor: &str) -> AuditEvent {
    AuditEvent::new(NOW, actor, "api_key").with_request_id(format!("req-{actor}"))
}

/// The demo policy with a daily cap of `per_day`.
pub fn policy(per_day: &str) -> Policy {
    let text = format!(
        "project = \"demo\"\napprovals_required = 1\napproval_lifetime = \"1h\"\n\
         proposer_may_approve = []\n[caps]\nper_action = [\"5.00 USD\"]\n\
         per_day = [\"{per_day}\"]\nper_month = [\"1000.00 USD\"]\n\
         [domains.etsy]\noperations = [\"publish_listing\"]\n"
    );
    Policy::parse("policies/demo.toml", &text).unwrap()
}

/// The catalog the policy is checked against.
pub fn catalog() -> Catalog {
    Catalog::from_entries([("etsy", "publish_listing", Effect::Publish)]).unwrap()
}

use autopack_governance::{DecisionInput, SpendUsage, decide};
use autopack_ledger::{Denied, ExecutionPlan, ExecutionSnapshot, SwitchScope};

/// The service's execution re-check: the real governance decision on the snapshot.
pub fn governed(
    policy: Policy,
) -> impl FnOnce(&ExecutionSnapshot) -> Result<ExecutionPlan, Denied> + Send {
    move |s: &ExecutionSnapshot| {
        let a = &s.action;
        let payload = Payload {
            project: a.project.clone(),
            domain: a.domain.clone(),
            operation: a.operation.clone(),
            params: a.params.clone(),
            mode: a.mode,
            plugin_digest: a.plugin_digest.clone(),
        };
        let effect = catalog().effect(&a.domain, &a.operation);
        let action =
            autopack_governance::Action::new(payload, effect, a.declared_spend.clone()).unwrap();
        assert_eq!(
            action.payload_hash(),
            &a.payload_hash,
            "stored hash is the payload's"
        );
        let approvals = s.governance_approvals();
        let d = decide(&DecisionInput {
            action: &action,
            policy: Some(&policy),
            switches: &s.switches,
            usage: &s.usage,
            approvals: &approvals,
            proposer: &a.proposer,
            now: s.now,
        });
        let decision = serde_json::to_value(&d).unwrap();
        let audit = ev("pat").with_decision(&d);
        if d.is_allow() {
            Ok(ExecutionPlan {
                reserve: a.declared_spend.clone(),
                decision,
                audit,
            })
        } else {
            Err(Denied::new(decision, audit))
        }
    }
}

/// A check that lets everything through, reserving the declared spend.
pub fn allow_all() -> impl FnOnce(&ExecutionSnapshot) -> Result<ExecutionPlan, Denied> + Send {
    |s: &ExecutionSnapshot| {
        Ok(ExecutionPlan {
            reserve: s.action.declared_spend.clone(),
            decision: json!({ "verdict": "allow" }),
            audit: ev("pat"),
        })
    }
}

/// Turns the global and etsy switches on.
pub async fn switches_on(l: &Ledger) {
    l.set_switch(&SwitchScope::Global, true, "olga", "go live", ev("olga"))
        .await
        .unwrap();
    let etsy = SwitchScope::Domain("etsy".parse().unwrap());
    l.set_switch(&etsy, true, "olga", "etsy ready", ev("olga"))
        .await
        .unwrap();
}

/// A pending action approved by alice and moved to `approved`.
pub async fn approved(l: &Ledger, spend: &[&str]) -> ActionId {
    let new = new_action(ActionStatus::PendingApproval, spend);
    let id = new.id.clone();
    let hash = new.payload_hash.clone();
    l.insert_action(new, ev("pat")).await.unwrap();
    let approval = autopack_ledger::ApprovalRow::new("alice".parse().unwrap(), hash, NOW);
    l.add_approval(&id, approval, ev("alice")).await.unwrap();
    l.transition(
        &id,
        &[ActionStatus::PendingApproval],
        ActionStatus::Approved,
        Default::default(),
        ev("alice"),
    )
    .await
    .unwrap();
    id
}

/// Number of records in the chain.
pub async fn audit_len(l: &Ledger) -> usize {
    l.audit_records(0, 10_000).await.unwrap().len()
}

/// Nothing spent, for decisions outside the ledger.
pub fn no_usage() -> SpendUsage {
    SpendUsage::new()
}
