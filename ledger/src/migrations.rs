//! Versioned migrations, embedded in the binary and applied at open.
//!
//! Each backend has its own directory (`migrations/sqlite`, `migrations/postgres`) because the
//! dialects' column types differ; the versions move in step. The files are compiled in with
//! `include_str!` (no run-time file access, no macro crate); sqlx records each applied version
//! and its checksum in `_sqlx_migrations` and refuses a database whose applied migrations
//! were changed or are unknown to this build.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

fn migrator(files: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The SQLite migrations.
pub(crate) fn sqlite() -> Migrator {
    migrator(&[(
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    )])
}

/// The PostgreSQL migrations.
pub(crate) fn postgres() -> Migrator {
    migrator(&[(
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    )])
}
