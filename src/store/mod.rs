//! SQLite store: the single source of truth for experiments, runs and metrics.
//!
//! One trainer process writes while dashboards and `query` read from other processes,
//! so every connection runs in WAL mode with a busy timeout, and every multi-row write
//! is one IMMEDIATE transaction (readers never see half an epoch).

pub mod dashboard;
mod error;
mod lifecycle;
mod metrics;
mod plot_queries;
mod query;
mod runs;
mod schema;
mod shard;
mod shard_merge;
mod sweep_state;
mod types;

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use error::{StoreError, retry_busy};
pub use lifecycle::{CLAIMABLE, Claim, ClaimOutcome, Holder, STALE_AFTER};
pub use query::QueryCanceller;
pub use runs::PointRegistration;
pub use schema::{APPLICATION_ID, VERSION as SCHEMA_VERSION};
pub use shard::WhereRan;
pub use shard_merge::Merged;
pub use sweep_state::EpochValue;
pub use types::{
    MetricName, MetricRow, NewRun, PolledMetric, QueryResult, RunRow, RunStatus, Scope, Split,
};

use error::Context;

/// How long a statement waits for another process's lock before failing with SQLITE_BUSY.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to one store file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Set by `write_as`: the claim every metric write of this connection must still hold.
    writer: Option<Holder>,
}

impl Store {
    /// Opens an existing store for reading (dashboards, `query`, charts). A store written by
    /// an older version is migrated once, in one transaction, first: readers would otherwise
    /// refuse it until some writer happened to open it.
    pub fn open_for_reading(path: &Path) -> Result<Store, StoreError> {
        match Store::open_read_only(path) {
            Err(StoreError::NeedsMigration { .. }) => {
                drop(Store::open(path)?);
                Store::open_read_only(path)
            }
            other => other,
        }
    }

    /// Opens (creating if needed) a store for reading and writing, migrating the schema.
    /// Foreign, corrupt or too-new files are rejected before anything is written to them.
    ///
    /// Tried again while SQLite says "database is locked" ([`retry_busy`]): two connections
    /// switching a new file to WAL at once race for its exclusive lock, and SQLite fails one
    /// of them at once instead of calling its busy handler (to avoid a deadlock).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        retry_busy(|| Store::open_once(path))
    }

    fn open_once(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path).map_err(|e| schema::classify_open_error(e, path))?;
        let ctx = || format!("{}: configuring connection", path.display());
        conn.busy_timeout(BUSY_TIMEOUT).ctx(ctx)?;

        // Validate first: switching a foreign file to WAL would already modify it.
        let needs_migration = schema::check(&schema::probe(&conn, path)?, path)?;

        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| schema::classify_open_error(e, path))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::invalid(
                "journal mode",
                format!("{}: could not enable WAL (got {mode:?})", path.display()),
            ));
        }
        conn.pragma_update(None, "synchronous", "NORMAL").ctx(ctx)?;
        // Migrations run with foreign keys off (rebuilding a table drops it first); the pragma
        // must be set outside a transaction, so after migrating.
        if needs_migration {
            // rusqlite's bundled SQLite turns foreign keys on by default.
            conn.pragma_update(None, "foreign_keys", "OFF").ctx(ctx)?;
            schema::migrate(&mut conn, path)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON").ctx(ctx)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            writer: None,
        })
    }

    /// Opens an existing store with SQLITE_OPEN_READ_ONLY: every write statement fails.
    /// Never creates or migrates; an out-of-date schema is reported instead.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| schema::classify_open_error(e, path))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx(|| format!("{}: configuring connection", path.display()))?;
        let p = schema::probe(&conn, path)?;
        if schema::check(&p, path)? {
            return Err(if p.version == 0 {
                StoreError::ForeignDatabase {
                    path: path.to_owned(),
                    reason: "empty database, no densenet-lab schema yet".into(),
                }
            } else {
                StoreError::NeedsMigration {
                    path: path.to_owned(),
                    found: p.version,
                    supported: schema::VERSION,
                }
            });
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
            writer: None,
        })
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Current time as RFC 3339 UTC with millisecond precision, e.g. `2026-11-28T19:23:00.123Z`.
/// Fixed width, so the strings also sort chronologically in SQL.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
