//! What one-process-per-trial needs from the store: claiming a run for a process, heartbeats,
//! stop requests, finding stale runs, and rolling a run back to its last checkpoint.

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::error::{Context, StoreError};
use super::{Store, now};

/// A running run whose heartbeat is older than this is shown as `interrupted` (the
/// `run_summary` view uses the same 30 seconds). Trials beat every few seconds.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// A run marked `running` in the store, with the process that claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub run_id: i64,
    pub pid: Option<u32>,
    pub host: Option<String>,
    /// The heartbeat is older than `STALE_AFTER`.
    pub stale: bool,
}

impl Store {
    /// Marks a run as running in process `pid` on `host`: heartbeat now, stop request and
    /// error cleared; `started_at` keeps the first attempt's time.
    pub fn claim_run(
        &self,
        run_id: i64,
        device: &str,
        pid: u32,
        host: &str,
    ) -> Result<(), StoreError> {
        let ts = now();
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = 'running', device = ?2, pid = ?3, host = ?4,
                     started_at = coalesce(started_at, ?5), heartbeat_at = ?5,
                     finished_at = NULL, error = NULL, stop_requested = 0
                 WHERE id = ?1",
                params![run_id, device, pid, host, ts],
            )
            .ctx(|| format!("claiming run {run_id}"))?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(run_id));
        }
        Ok(())
    }

    /// Records that the trial is alive, and returns whether someone asked it to stop.
    pub fn heartbeat(&self, run_id: i64) -> Result<bool, StoreError> {
        let ctx = || format!("heartbeat of run {run_id}");
        self.conn
            .execute(
                "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1",
                params![run_id, now()],
            )
            .ctx(ctx)?;
        self.stop_requested(run_id)
    }

    pub fn stop_requested(&self, run_id: i64) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT stop_requested FROM runs WHERE id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .ctx(|| format!("reading stop request of run {run_id}"))?
            .ok_or(StoreError::NoSuchRun(run_id))
    }

    /// Asks a running trial to stop at its next step (it checkpoints nothing more and marks
    /// itself `stopped`). Returns false when the run is not running.
    pub fn request_stop(&self, run_id: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET stop_requested = 1 WHERE id = ?1 AND status = 'running'",
                [run_id],
            )
            .ctx(|| format!("requesting stop of run {run_id}"))?;
        Ok(n > 0)
    }

    /// Runs whose status is `running`, with their process and whether their heartbeat is stale.
    pub fn running_claims(&self) -> Result<Vec<Claim>, StoreError> {
        let ctx = || "listing running runs".to_string();
        let cutoff = format!("-{} seconds", STALE_AFTER.as_secs());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, pid, host,
                        heartbeat_at IS NULL
                        OR heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
                 FROM runs WHERE status = 'running' ORDER BY id",
            )
            .ctx(ctx)?;
        let rows = stmt
            .query_map([cutoff], |r| {
                Ok(Claim {
                    run_id: r.get(0)?,
                    pid: r.get(1)?,
                    host: r.get(2)?,
                    stale: r.get(3)?,
                })
            })
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }

    /// Turns a `running` run whose process is gone into `interrupted` (still resumable).
    pub fn mark_interrupted(&self, run_id: i64, why: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = 'interrupted', error = ?2, finished_at = ?3
                 WHERE id = ?1 AND status = 'running'",
                params![run_id, why, now()],
            )
            .ctx(|| format!("marking run {run_id} interrupted"))?;
        Ok(n > 0)
    }

    /// The last committed checkpoint of a run: (epoch, path).
    pub fn last_checkpoint(&self, run_id: i64) -> Result<Option<(usize, String)>, StoreError> {
        self.conn
            .query_row(
                "SELECT epoch, path FROM checkpoints WHERE run_id = ?1 ORDER BY epoch DESC LIMIT 1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx(|| format!("reading the last checkpoint of run {run_id}"))
    }

    /// Forgets everything a run logged after `epoch` (the rows of an epoch it did not finish),
    /// so that resuming from the checkpoint of `epoch` logs no epoch twice. One transaction.
    pub fn rewind_to_epoch(&mut self, run_id: i64, epoch: usize) -> Result<(), StoreError> {
        let ctx = || format!("rewinding run {run_id} to epoch {epoch}");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        tx.execute(
            "DELETE FROM metrics WHERE run_id = ?1 AND epoch > ?2",
            params![run_id, epoch],
        )
        .ctx(ctx)?;
        tx.execute(
            "DELETE FROM checkpoints WHERE run_id = ?1 AND epoch > ?2",
            params![run_id, epoch],
        )
        .ctx(ctx)?;
        tx.execute(
            "UPDATE runs SET epochs_done = ?2 WHERE id = ?1",
            params![run_id, epoch],
        )
        .ctx(ctx)?;
        tx.commit().ctx(ctx)
    }
}
