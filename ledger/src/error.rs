//! The ledger's errors, each with a stable machine-readable code.

use crate::status::ActionStatus;

/// Why a ledger operation did not happen. Nothing was written when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// No such action (or other record).
    #[error("{what} `{id}` not found")]
    NotFound {
        /// What was looked up, e.g. `action`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The action is not in one of the states the operation expects (compare-and-set lost).
    #[error("action `{id}` is {actual}, expected {}", list(expected))]
    StateConflict {
        /// The action.
        id: String,
        /// The states the caller expected.
        expected: Vec<ActionStatus>,
        /// The state it is in.
        actual: ActionStatus,
    },
    /// The lifecycle does not allow this move, or another operation owns it.
    #[error("illegal transition {from} -> {to}: {why}")]
    IllegalTransition {
        /// Current state.
        from: ActionStatus,
        /// Requested state.
        to: ActionStatus,
        /// What to do instead.
        why: &'static str,
    },
    /// The action is executing right now (I5: a retry while the first runs).
    #[error("action `{id}` is executing")]
    ActionInProgress {
        /// The action.
        id: String,
    },
    /// The action's approval window has closed.
    #[error("action `{id}` expired at {expires_at}")]
    ActionExpired {
        /// The action.
        id: String,
        /// When it expired (Unix seconds).
        expires_at: i64,
    },
    /// This approver already approved this action.
    #[error("`{approver}` already approved action `{id}`")]
    DuplicateApproval {
        /// The action.
        id: String,
        /// The approver.
        approver: String,
    },
    /// An approval names a payload hash other than the action's (I4).
    #[error("approval of `{got}` does not match action `{id}`'s payload hash `{expected}`")]
    PayloadHashMismatch {
        /// The action.
        id: String,
        /// The action's payload hash.
        expected: String,
        /// The hash the approver sent.
        got: String,
    },
    /// The caller passed something the ledger refuses to store.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database cannot be reached, is busy past the timeout, or the pool is closed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Stored data does not parse or contradicts itself.
    #[error("ledger integrity: {0}")]
    Integrity(String),
    /// A migration failed or the database has migrations this build does not know.
    #[error("migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

fn list(states: &[ActionStatus]) -> String {
    let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    names.join(" or ")
}

impl LedgerError {
    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::NotFound { .. } => "not_found",
            LedgerError::StateConflict { .. } => "state_conflict",
            LedgerError::IllegalTransition { .. } => "illegal_transition",
            LedgerError::ActionInProgress { .. } => "action_in_progress",
            LedgerError::ActionExpired { .. } => "action_expired",
            LedgerError::DuplicateApproval { .. } => "duplicate_approval",
            LedgerError::PayloadHashMismatch { .. } => "payload_hash_mismatch",
            LedgerError::Invalid(_) => "invalid_input",
            LedgerError::Unavailable(_) => "database_unavailable",
            LedgerError::Database(_) => "database_error",
            LedgerError::Integrity(_) => "integrity",
            LedgerError::Migrate(_) => "migration_failed",
        }
    }

    /// Whether the database could not be used at all (the service then fails closed).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, LedgerError::Unavailable(_))
    }
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Configuration(c) = &e {
            return LedgerError::Invalid(format!("database URL or options: {c}"));
        }
        let unavailable = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes.
                // PostgreSQL: class 08 (connection), 57P (shutdown), 53 (resources).
                code == "5"
                    || code == "6"
                    || code == "517"
                    || code == "261"
                    || code.starts_with("08")
                    || code.starts_with("57P")
                    || code.starts_with("53")
            }
            _ => false,
        };
        if unavailable {
            LedgerError::Unavailable(e)
        } else {
            LedgerError::Database(e)
        }
    }
}

impl From<sqlx::migrate::MigrateError> for LedgerError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        LedgerError::Migrate(e)
    }
}

/// Shorthand for results of ledger operations.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
