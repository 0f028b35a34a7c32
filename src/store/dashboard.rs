//! Cheap reads for the dashboard's poller: a change counter, the runs table without config
//! JSON or summary metrics, per-run row counts, all inside one read snapshot.

use rusqlite::Row;

use super::Store;
use super::error::{Context, StoreError};
use super::types::{MetricRow, RunStatus};

/// A run's row as the dashboard polls it: no config, no summary metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBrief {
    pub id: i64,
    pub experiment: String,
    pub trial_index: usize,
    /// The effective status (`run_summary`'s: a stale heartbeat reads as interrupted).
    pub status: RunStatus,
    pub overrides_json: String,
    pub seed: u64,
    pub device: Option<String>,
    pub params: Option<u64>,
    pub flops: Option<u64>,
    pub epochs_total: usize,
    pub epochs_done: usize,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub error: Option<String>,
}

fn brief_from_row(row: &Row<'_>) -> rusqlite::Result<RunBrief> {
    Ok(RunBrief {
        id: row.get(0)?,
        experiment: row.get(1)?,
        trial_index: row.get(2)?,
        status: row.get(3)?,
        overrides_json: row.get(4)?,
        seed: row.get(5)?,
        device: row.get(6)?,
        params: row.get(7)?,
        flops: row.get(8)?,
        epochs_total: row.get(9)?,
        epochs_done: row.get(10)?,
        started_at: row.get(11)?,
        finished_at: row.get(12)?,
        heartbeat_at: row.get(13)?,
        error: row.get(14)?,
    })
}

impl Store {
    /// SQLite's `PRAGMA data_version`: changes whenever another connection commits, so a
    /// poller can skip all other reads while nothing was written.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .ctx(|| "reading data_version".to_string())
    }

    /// Runs `f` inside one read transaction, so everything it reads comes from the same
    /// snapshot of the database (no commit lands between two of its queries).
    pub fn read_snapshot<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let ctx = || "read snapshot".to_string();
        self.conn.execute_batch("BEGIN DEFERRED").ctx(ctx)?;
        let out = f(self);
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let closed = self.conn.execute_batch(end).ctx(ctx);
        let out = out?;
        closed?;
        Ok(out)
    }

    /// Every run, ordered by id, without config JSON or summary metrics. The status is the
    /// summary view's (only its status column is read, so its metric subqueries never run).
    pub fn run_briefs(&self) -> Result<Vec<RunBrief>, StoreError> {
        let ctx = || "listing runs (brief)".to_string();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, s.experiment, r.trial_index, s.status, r.overrides, r.seed,
                        r.device, r.params, r.flops, r.epochs_total, r.epochs_done,
                        r.started_at, r.finished_at, r.heartbeat_at, r.error
                 FROM runs r JOIN run_summary s ON s.run_id = r.id ORDER BY r.id",
            )
            .ctx(ctx)?;
        let rows = stmt
            .query_map([], brief_from_row)
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }

    /// The largest metric id (0 when there is none). It drops below a poller's mark only
    /// when the newest rows were deleted: their ids will be handed out again.
    pub fn max_metric_id(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(id), 0) FROM metrics", [], |r| r.get(0))
            .ctx(|| "reading the largest metric id".to_string())
    }

    /// How many metric rows a run has and the sum of their values: a fingerprint that
    /// changes when rows are deleted or replaced, even under the same ids.
    pub fn metric_fingerprint(&self, run_id: i64) -> Result<(usize, f64), StoreError> {
        self.conn
            .prepare_cached("SELECT count(*), total(value) FROM metrics WHERE run_id = ?1")
            .and_then(|mut s| s.query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?))))
            .ctx(|| format!("fingerprinting metrics of run {run_id}"))
    }

    /// All metric rows of a run with their ids, in id order.
    pub fn metrics_with_ids(&self, run_id: i64) -> Result<Vec<(i64, MetricRow)>, StoreError> {
        let ctx = || format!("reading metrics of run {run_id}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, epoch, step, scope, split, name, value FROM metrics
                 WHERE run_id = ?1 ORDER BY id",
            )
            .ctx(ctx)?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get(0)?,
                    MetricRow {
                        epoch: r.get(1)?,
                        step: r.get(2)?,
                        scope: r.get(3)?,
                        split: r.get(4)?,
                        name: r.get(5)?,
                        value: r.get(6)?,
                    },
                ))
            })
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }
}
