//! Metric logging (step and epoch scope), checkpoints, and reading metrics back.

use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::error::{Context, StoreError, to_i64};
use super::lifecycle::Holder;
use super::types::{MetricRow, PolledMetric};
use super::{Store, now};

/// Inserts rows within the caller's transaction. NaN values are skipped: SQLite stores a
/// NaN REAL as NULL, which the NOT NULL constraint would reject, failing the whole batch
/// at exactly the moment a diverging run most needs its other metrics kept.
fn insert_rows(
    tx: &Transaction<'_>,
    run_id: i64,
    rows: &[MetricRow],
    ts: &str,
) -> Result<(), StoreError> {
    let ctx = || format!("logging metrics for run {run_id}");
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO metrics (run_id, epoch, step, scope, split, name, value, wall_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .ctx(ctx)?;
    for m in rows.iter().filter(|m| !m.value.is_nan()) {
        stmt.execute(params![
            run_id,
            m.epoch,
            to_i64("step", m.step)?,
            m.scope,
            m.split,
            m.name,
            m.value,
            ts
        ])
        .ctx(ctx)?;
    }
    Ok(())
}

/// Refreshes the liveness timestamp; also proves the run exists (0 rows => no such run) and,
/// on a connection bound to a claim (`Store::write_as`), that the claim still holds it.
fn touch(
    tx: &Transaction<'_>,
    run_id: i64,
    ts: &str,
    writer: Option<&Holder>,
) -> Result<(), StoreError> {
    let ctx = || format!("heartbeat for run {run_id}");
    let n = match writer {
        None => tx.execute(
            "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1",
            params![run_id, ts],
        ),
        Some(h) => tx.execute(
            "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1
                 AND status = 'running' AND pid = ?3 AND pid_start IS ?4 AND host = ?5",
            params![run_id, ts, h.pid, h.started, h.host],
        ),
    }
    .ctx(ctx)?;
    if n > 0 {
        return Ok(());
    }
    let exists = tx
        .query_row("SELECT 1 FROM runs WHERE id = ?1", [run_id], |_| Ok(()))
        .optional()
        .ctx(ctx)?
        .is_some();
    Err(if exists {
        StoreError::ClaimLost(run_id)
    } else {
        StoreError::NoSuchRun(run_id)
    })
}

fn metric_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<MetricRow> {
    Ok(MetricRow {
        epoch: row.get(at)?,
        step: row.get(at + 1)?,
        scope: row.get(at + 2)?,
        split: row.get(at + 3)?,
        name: row.get(at + 4)?,
        value: row.get(at + 5)?,
    })
}

impl Store {
    /// Appends metric rows (normally step scope) in ONE transaction, stamped with the
    /// current wall time, and refreshes the run's heartbeat. NaN values are dropped.
    pub fn log_metrics(&mut self, run_id: i64, rows: &[MetricRow]) -> Result<(), StoreError> {
        let ctx = || format!("logging metrics for run {run_id}");
        let ts = now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        touch(&tx, run_id, &ts, self.writer.as_ref())?;
        insert_rows(&tx, run_id, rows, &ts)?;
        tx.commit().ctx(ctx)
    }

    /// Records the end of `epoch` atomically: its epoch-scope rows (replacing any written
    /// for the same epoch by an earlier, interrupted attempt), the epoch's last buffered
    /// step-scope rows, epochs_done, heartbeat and the checkpoint path. Every row must belong
    /// to this epoch.
    pub fn finish_epoch(
        &mut self,
        run_id: i64,
        epoch: usize,
        rows: &[MetricRow],
        checkpoint: Option<&str>,
    ) -> Result<(), StoreError> {
        if epoch == 0 {
            return Err(StoreError::invalid("epoch", "epochs are 1-based, got 0"));
        }
        if let Some(bad) = rows.iter().find(|m| m.epoch != epoch) {
            return Err(StoreError::invalid(
                "epoch metric",
                format!(
                    "finish_epoch({epoch}) got a {} row for epoch {}",
                    bad.scope, bad.epoch
                ),
            ));
        }
        let ctx = || format!("finishing epoch {epoch} of run {run_id}");
        let ts = now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        touch(&tx, run_id, &ts, self.writer.as_ref())?;
        tx.execute(
            "DELETE FROM metrics WHERE run_id = ?1 AND scope = 'epoch' AND epoch = ?2",
            params![run_id, epoch],
        )
        .ctx(ctx)?;
        insert_rows(&tx, run_id, rows, &ts)?;
        tx.execute(
            "UPDATE runs SET epochs_done = ?2 WHERE id = ?1",
            params![run_id, epoch],
        )
        .ctx(ctx)?;
        if let Some(path) = checkpoint {
            tx.execute(
                "INSERT INTO checkpoints (run_id, epoch, path, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (run_id, epoch) DO UPDATE SET path = excluded.path,
                     created_at = excluded.created_at",
                params![run_id, epoch, path, ts],
            )
            .ctx(ctx)?;
            // Only the newest checkpoint is kept on disk (its folder replaces the older ones
            // once this commits), so only its row stays.
            tx.execute(
                "DELETE FROM checkpoints WHERE run_id = ?1 AND epoch <> ?2",
                params![run_id, epoch],
            )
            .ctx(ctx)?;
        }
        tx.commit().ctx(ctx)
    }

    /// All metric rows of a run in insertion order.
    pub fn metrics(&self, run_id: i64) -> Result<Vec<MetricRow>, StoreError> {
        let ctx = || format!("reading metrics of run {run_id}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT epoch, step, scope, split, name, value FROM metrics
                 WHERE run_id = ?1 ORDER BY id",
            )
            .ctx(ctx)?;
        let rows = stmt
            .query_map([run_id], |r| metric_from_row(r, 0))
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }

    /// Metric rows with id > `after_id` (of one run, or all runs), oldest first, at most
    /// `limit`. Pollers pass the largest id they have seen; start with 0.
    pub fn metrics_after(
        &self,
        after_id: i64,
        run_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PolledMetric>, StoreError> {
        let ctx = || format!("polling metrics after id {after_id}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, run_id, wall_time, epoch, step, scope, split, name, value FROM metrics
                 WHERE id > ?1 AND (?2 IS NULL OR run_id = ?2) ORDER BY id LIMIT ?3",
            )
            .ctx(ctx)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![after_id, run_id, limit], |r| {
                Ok(PolledMetric {
                    id: r.get(0)?,
                    run_id: r.get(1)?,
                    wall_time: r.get(2)?,
                    metric: metric_from_row(r, 3)?,
                })
            })
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }

    /// Checkpoint paths of a run as (epoch, path), oldest first.
    pub fn checkpoints(&self, run_id: i64) -> Result<Vec<(usize, String)>, StoreError> {
        let ctx = || format!("reading checkpoints of run {run_id}");
        let mut stmt = self
            .conn
            .prepare_cached("SELECT epoch, path FROM checkpoints WHERE run_id = ?1 ORDER BY epoch")
            .ctx(ctx)?;
        let rows = stmt
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }
}
