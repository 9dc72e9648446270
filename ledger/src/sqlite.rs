//! The SQLite backend: one file in the data dir, nothing to install.
//!
//! - WAL journal, `synchronous=FULL` (every commit is fsynced: durable, not merely
//!   consistent), foreign keys on, a busy timeout for other processes on the same file.
//! - Writes go through one writer pool (one connection by default) and every write
//!   transaction starts with `BEGIN IMMEDIATE`, which takes SQLite's single database write
//!   lock before the first read. Every read a write transaction makes — the action's state,
//!   approvals, switches, spend usage, the audit chain head — therefore sees the latest
//!   committed data and nothing can commit in between: the check, the reservation and the
//!   audit append are one serialized step, also across processes sharing the file (the
//!   second process waits up to the busy timeout). Reads outside write transactions use a
//!   separate pool and see the last committed snapshot (WAL readers never block the writer).

use crate::LedgerOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;

/// The SQLite backend.
pub(crate) struct Backend {
    write: SqlitePool,
    read: SqlitePool,
    instance: String,
}

impl Backend {
    /// Opens (creating if missing) the database file named by `url` and migrates it.
    pub(crate) async fn open(url: &str, opts: &LedgerOptions) -> Result<Backend> {
        let base = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(opts.busy_timeout);
        let write = SqlitePoolOptions::new()
            .max_connections(opts.sqlite_writers.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base.clone())
            .await?;
        crate::migrations::sqlite().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base)
            .await?;
        Ok(Backend {
            write,
            read,
            instance: opts.instance_id.clone(),
        })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A deferred read transaction: its first read pins one WAL snapshot until it ends.
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.read.begin().await?)
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Nothing to do: the immediate transaction already holds the database's write lock.
    async fn lock_spend(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _project: &ProjectId,
    ) -> Result<()> {
        Ok(())
    }

    /// Closes both pools.
    pub(crate) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

crate::ops::shared_ops!(sqlx::Sqlite, "");
