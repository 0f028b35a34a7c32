//! One error type for the store, so callers can report *which* file and *what* step failed.

use std::path::PathBuf;

/// Everything the store can fail with. Messages name the database path or the operation,
/// because the CLI prints them verbatim to a user who has several `.db` files around.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: no such store file", path.display())]
    Missing { path: PathBuf },

    #[error("{}: not a SQLite database (is this really a densenet-lab store?)", path.display())]
    NotADatabase { path: PathBuf },

    #[error("{}: SQLite database that is not a densenet-lab store ({reason}); refusing to touch it", path.display())]
    ForeignDatabase { path: PathBuf, reason: String },

    #[error("{}: schema version {found} is newer than this build supports ({supported}); upgrade densenet-lab", path.display())]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("{}: schema version {found} is older than {supported}; open it read-write once to migrate", path.display())]
    NeedsMigration {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        #[source]
        source: rusqlite::Error,
    },

    #[error("query is read-only: {0}; it refuses statements that modify the store")]
    ReadOnlyQuery(String),

    #[error("no run with id {0}")]
    NoSuchRun(i64),

    #[error(
        "run {0} is no longer held by this process (its claim was reaped and perhaps taken by another process); nothing more is written"
    )]
    ClaimLost(i64),
    /// A query stopped by its [`super::QueryCanceller`] (Ctrl-C, a timeout, Esc).
    #[error("query interrupted before it finished")]
    Interrupted,

    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

impl StoreError {
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        StoreError::Invalid {
            what,
            detail: detail.into(),
        }
    }
}

/// Attach a lazily-built context string to rusqlite results.
pub(crate) trait Context<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            context: f(),
            source,
        })
    }
}

/// Converts an unsigned value to SQLite's i64 with an error that names the field
/// (rusqlite's own message would not say which column overflowed).
pub(crate) fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| {
        StoreError::invalid(
            what,
            format!("{v} does not fit in SQLite's signed 64-bit INTEGER"),
        )
    })
}

impl StoreError {
    /// Whether the user gave something wrong (a file that is not our store, SQL that writes, an
    /// unknown run id) rather than the store failing: the CLI exits with 2 for these.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            StoreError::Sqlite { .. } | StoreError::ClaimLost(_) | StoreError::Interrupted
        )
    }
}

impl StoreError {
    /// SQLite said another connection holds the lock for longer than the busy timeout.
    pub fn is_busy(&self) -> bool {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        matches!(
            self,
            StoreError::Sqlite { source: rusqlite::Error::SqliteFailure(e, _), .. }
                if matches!(e.code, DatabaseBusy | DatabaseLocked)
        )
    }
}

/// Runs a store write again while SQLite still says busy after its own 5 s timeout (a long
/// checkpoint, many writers), with exponential backoff up to about a minute in all, so that
/// "database is locked" does not reach the user or fail a trial.
pub fn retry_busy<T>(mut write: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut pause = std::time::Duration::from_millis(50);
    let mut waited = std::time::Duration::ZERO;
    loop {
        match write() {
            Err(e) if e.is_busy() && waited < std::time::Duration::from_secs(60) => {
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(std::time::Duration::from_secs(4));
            }
            other => return other,
        }
    }
}
