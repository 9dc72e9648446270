//! The PostgreSQL backend: several host replicas share one database.
//!
//! Transactions run at READ COMMITTED, where every statement sees what was committed before
//! it started, and correctness comes from locks taken in one fixed order (so no two
//! transactions can wait on each other in a cycle):
//!
//! 1. **the action row**, `SELECT … FOR UPDATE`: a compare-and-set on its status cannot lose
//!    an update; twenty concurrent `begin_execution`s of one action queue on the row, the
//!    first moves it to `executing`, the others then read `executing` and get
//!    `action_in_progress` (I6). Multi-row sweeps (expiry, recovery) lock in id order.
//! 2. **the project's spend lock**, `pg_advisory_xact_lock(…, hashtext(project))`, taken by
//!    `begin_execution` before it sums the project's reservations and by settlement before
//!    it changes them. Summing and reserving are therefore one critical section per project
//!    across every replica: no two executions can both see room for the last slot (I7).
//!    (Two projects whose names collide in `hashtext` merely share the lock.)
//! 3. **a switch row**, by the `INSERT … ON CONFLICT DO UPDATE` of a flip or a trip.
//! 4. **the audit chain head**, the single row of `audit_head` `FOR UPDATE`, last in every
//!    writing transaction: records get consecutive `seq`s and each links to the one before,
//!    in commit order (I10). This serializes commits of audited changes, which is the price
//!    of one linear chain.
//!
//! An idempotent insert uses `ON CONFLICT (project, idempotency_key) DO NOTHING`, which waits
//! for a concurrent insert of the same key to commit and then reports the conflict; the
//! existing action is read after that (I5).

use crate::LedgerOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

/// Namespace of the ledger's advisory locks (first key of the two-key form).
const SPEND_LOCK_CLASS: i32 = 0x4150; // "AP"

/// The PostgreSQL backend.
pub(crate) struct Backend {
    pool: PgPool,
    instance: String,
}

impl Backend {
    /// Connects to the database named by `url` and migrates it.
    pub(crate) async fn open(url: &str, opts: &LedgerOptions) -> Result<Backend> {
        let connect = PgConnectOptions::from_str(url)?.application_name("autopack-host");
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect)
            .await?;
        // The migrator holds a session advisory lock while it runs: replicas starting
        // together migrate once.
        crate::migrations::postgres().run(&pool).await?;
        Ok(Backend {
            pool,
            instance: opts.instance_id.clone(),
        })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// A repeatable-read, read-only transaction: one snapshot for all its statements.
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn lock_spend(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        project: &ProjectId,
    ) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(SPEND_LOCK_CLASS)
            .bind(project.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

crate::ops::shared_ops!(sqlx::Postgres, " FOR UPDATE");
