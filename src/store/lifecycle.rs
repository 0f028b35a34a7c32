//! What one-process-per-trial needs from the store: claiming a run for a process, heartbeats,
//! stop requests, finding stale runs, and rolling a run back to its last checkpoint.
//!
//! A claim is the pair (pid, start time, host) in the run's row while it is `running`. Every
//! write a trainer makes after claiming names its claim in the statement's `WHERE`, so a
//! process whose claim was reaped (judged dead) and taken by another cannot write over it.

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::error::{Context, StoreError};
use super::types::RunStatus;
use super::{Store, now};

/// A running run whose heartbeat is older than this is shown as `interrupted` (the
/// `run_summary` view uses the same 30 seconds). Trials beat every few seconds.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// The statuses a process may claim a run from. `done`, `diverged` and `pruned` are settled: training
/// them again takes an explicit `reset_run` (the dashboard's re-run) first.
pub const CLAIMABLE: [RunStatus; 5] = [
    RunStatus::Queued,
    RunStatus::Paused,
    RunStatus::Interrupted,
    RunStatus::Stopped,
    RunStatus::Failed,
];

/// Which process holds a run's claim. `started` tells this process from a later one that got
/// the same pid (after it died, or after a reboot): opaque, equal only for the same process,
/// `None` where the OS cannot say. The runner fills it in (see `runner::liveness`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub started: Option<String>,
    pub host: String,
}

/// A run marked `running` in the store, with the process that claimed it as recorded (every
/// field may be missing: stores written by older builds, fixtures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub run_id: i64,
    pub pid: Option<u32>,
    pub started: Option<String>,
    pub host: Option<String>,
    /// The heartbeat is older than `STALE_AFTER`.
    pub stale: bool,
}

/// What `claim_run` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The run is now `running`, held by the caller.
    Claimed,
    /// The run is `running` under another claim (whose process may be dead: the caller
    /// decides, reaps it with `mark_interrupted`, and tries again).
    Held(Claim),
    /// The run is `done` or `diverged`.
    Settled(RunStatus),
}

/// `WHERE` clause (after `id = ?1`) that matches a run only while `holder` (?2 pid, ?3 start,
/// ?4 host) holds it.
const HELD_BY: &str = "status = 'running' AND pid = ?2 AND pid_start IS ?3 AND host = ?4";

const CLAIM_COLUMNS: &str = "SELECT id, pid, pid_start, host,
        heartbeat_at IS NULL OR heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
    FROM runs";

fn claim_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Claim> {
    Ok(Claim {
        run_id: r.get(0)?,
        pid: r.get(1)?,
        started: r.get(2)?,
        host: r.get(3)?,
        stale: r.get(4)?,
    })
}

fn stale_cutoff() -> String {
    format!("-{} seconds", STALE_AFTER.as_secs())
}

impl Store {
    /// Claims a run for `holder`, atomically: one IMMEDIATE transaction reads the status and,
    /// only if it is one of `CLAIMABLE`, makes the run `running` for `holder` (heartbeat now,
    /// stop request and error cleared; `started_at` keeps the first attempt's time). Two
    /// processes that claim the same run at once: exactly one gets `Claimed`.
    pub fn claim_run(
        &mut self,
        run_id: i64,
        device: &str,
        holder: &Holder,
    ) -> Result<ClaimOutcome, StoreError> {
        let ctx = || format!("claiming run {run_id}");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        let status = super::runs::status_of(&tx, run_id, ctx)?;
        let outcome = if CLAIMABLE.contains(&status) {
            let ts = now();
            tx.execute(
                "UPDATE runs SET status = 'running', device = ?2, pid = ?3, pid_start = ?4,
                     host = ?5, started_at = coalesce(started_at, ?6), heartbeat_at = ?6,
                     finished_at = NULL, error = NULL, stop_requested = 0
                 WHERE id = ?1",
                params![run_id, device, holder.pid, holder.started, holder.host, ts],
            )
            .ctx(ctx)?;
            ClaimOutcome::Claimed
        } else if status == RunStatus::Running {
            let claim = tx
                .query_row(
                    &format!("{CLAIM_COLUMNS} WHERE id = ?2"),
                    params![stale_cutoff(), run_id],
                    claim_from_row,
                )
                .ctx(ctx)?;
            ClaimOutcome::Held(claim)
        } else {
            ClaimOutcome::Settled(status)
        };
        tx.commit().ctx(ctx)?;
        Ok(outcome)
    }

    /// Passes a claim from `from` to `to` (the scheduler to the trial process it started), only
    /// while `from` still holds it. The stop request is kept: a `stop` sent in between counts.
    pub fn hand_over(&self, run_id: i64, from: &Holder, to: &Holder) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                &format!(
                    "UPDATE runs SET pid = ?5, pid_start = ?6, host = ?7, heartbeat_at = ?8
                     WHERE id = ?1 AND {HELD_BY}"
                ),
                params![
                    run_id,
                    from.pid,
                    from.started,
                    from.host,
                    to.pid,
                    to.started,
                    to.host,
                    now()
                ],
            )
            .ctx(|| format!("handing run {run_id} over to pid {}", to.pid))?;
        Ok(n > 0)
    }

    /// Records that `holder` is alive. Returns whether someone asked it to stop, or `None` when
    /// `holder` no longer holds the run (it was reaped and perhaps claimed by another process:
    /// the caller must stop without writing more).
    pub fn heartbeat(&self, run_id: i64, holder: &Holder) -> Result<Option<bool>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "UPDATE runs SET heartbeat_at = ?5 WHERE id = ?1 AND {HELD_BY}
                     RETURNING stop_requested"
                ),
                params![run_id, holder.pid, holder.started, holder.host, now()],
                |r| r.get(0),
            )
            .optional()
            .ctx(|| format!("heartbeat of run {run_id}"))
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
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{CLAIM_COLUMNS} WHERE status = 'running' ORDER BY id"
            ))
            .ctx(ctx)?;
        let rows = stmt
            .query_map([stale_cutoff()], claim_from_row)
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }

    /// Turns a `running` run whose process is gone into `interrupted` (still resumable), only
    /// if it is still held by the claim the caller judged dead: a claim taken meanwhile by a
    /// live process is left alone. Returns whether it was marked.
    pub fn mark_interrupted(&self, claim: &Claim, why: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = 'interrupted', error = ?5, finished_at = ?6
                 WHERE id = ?1 AND status = 'running'
                   AND pid IS ?2 AND pid_start IS ?3 AND host IS ?4",
                params![
                    claim.run_id,
                    claim.pid,
                    claim.started,
                    claim.host,
                    why,
                    now()
                ],
            )
            .ctx(|| format!("marking run {} interrupted", claim.run_id))?;
        Ok(n > 0)
    }

    /// Ends `holder`'s claim: the run takes terminal `status` (with finished_at = now and an
    /// optional error), only while `holder` holds it. Returns false when it no longer did.
    pub fn finish_claimed(
        &self,
        run_id: i64,
        holder: &Holder,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        if !status.is_terminal() {
            return Err(StoreError::invalid(
                "finish status",
                format!("{status} is not terminal"),
            ));
        }
        let n = self
            .conn
            .execute(
                &format!(
                    "UPDATE runs SET status = ?5, error = ?6, finished_at = ?7, heartbeat_at = ?7
                     WHERE id = ?1 AND {HELD_BY}"
                ),
                params![
                    run_id,
                    holder.pid,
                    holder.started,
                    holder.host,
                    status,
                    error,
                    now()
                ],
            )
            .ctx(|| format!("finishing run {run_id} as {status}"))?;
        Ok(n > 0)
    }

    /// Makes every metric and checkpoint write of this connection (`log_metrics`,
    /// `finish_epoch`) first prove that `holder` still holds the run it writes to, failing with
    /// `ClaimLost` otherwise: a trial whose claim was reaped never writes over its successor.
    pub fn write_as(&mut self, holder: Holder) {
        self.writer = Some(holder);
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

    /// Forgets everything a run logged after `epoch` (the rows of an epoch it did not finish;
    /// with 0, all of them), so that resuming from the checkpoint of `epoch` logs no epoch
    /// twice. One transaction, only while `holder` holds the run (else `ClaimLost`).
    pub fn rewind_to_epoch(
        &mut self,
        run_id: i64,
        epoch: usize,
        holder: &Holder,
    ) -> Result<(), StoreError> {
        let ctx = || format!("rewinding run {run_id} to epoch {epoch}");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        let held = tx
            .execute(
                &format!("UPDATE runs SET epochs_done = ?5 WHERE id = ?1 AND {HELD_BY}"),
                params![run_id, holder.pid, holder.started, holder.host, epoch],
            )
            .ctx(ctx)?;
        if held == 0 {
            return Err(StoreError::ClaimLost(run_id));
        }
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
        tx.commit().ctx(ctx)
    }
}
