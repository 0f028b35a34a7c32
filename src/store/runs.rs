//! Experiments and runs: registering a sweep and moving runs through their lifecycle.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::error::{Context, StoreError, to_i64};
use super::types::{NewRun, RunRow, RunStatus};
use super::{Store, now};

/// Runs joined with `run_summary`, so headline metrics and the effective status (stale
/// heartbeat = interrupted) have one definition: the view's.
const RUN_SELECT: &str = "
SELECT r.id, s.experiment, r.trial_index, r.hash, s.status, r.config, r.overrides, r.seed,
       r.device, r.params, r.flops, r.epochs_total, r.epochs_done, r.created_at,
       r.started_at, r.finished_at, r.heartbeat_at, r.error,
       s.best_test_accuracy, s.final_test_accuracy, s.final_train_loss
FROM runs r JOIN run_summary s ON s.run_id = r.id";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: row.get(0)?,
        experiment: row.get(1)?,
        trial_index: row.get(2)?,
        hash: row.get(3)?,
        status: row.get(4)?,
        config_json: row.get(5)?,
        overrides_json: row.get(6)?,
        seed: row.get(7)?,
        device: row.get(8)?,
        params: row.get(9)?,
        flops: row.get(10)?,
        epochs_total: row.get(11)?,
        epochs_done: row.get(12)?,
        created_at: row.get(13)?,
        started_at: row.get(14)?,
        finished_at: row.get(15)?,
        heartbeat_at: row.get(16)?,
        error: row.get(17)?,
        best_test_accuracy: row.get(18)?,
        last_test_accuracy: row.get(19)?,
        last_train_loss: row.get(20)?,
    })
}

/// Shared by `Store::run` and `register_sweep` (which reads inside its transaction).
/// The status of run `run_id`, read inside the caller's transaction (under its write lock, for
/// the transitions that depend on it).
pub(super) fn status_of(
    conn: &Connection,
    run_id: i64,
    ctx: impl Fn() -> String,
) -> Result<RunStatus, StoreError> {
    conn.query_row("SELECT status FROM runs WHERE id = ?1", [run_id], |r| {
        r.get(0)
    })
    .optional()
    .ctx(ctx)?
    .ok_or(StoreError::NoSuchRun(run_id))
}

fn load_run(conn: &Connection, id: i64) -> Result<Option<RunRow>, StoreError> {
    conn.query_row(&format!("{RUN_SELECT} WHERE r.id = ?1"), [id], run_from_row)
        .optional()
        .ctx(|| format!("loading run {id}"))
}

impl Store {
    /// Upserts the experiment and all its trials in ONE transaction and returns each
    /// trial's run, in input order. Existing runs are matched by (experiment, hash) and
    /// keep their status, metrics and timestamps (only `trial_index` follows the new
    /// sweep order); new ones are queued.
    pub fn register_sweep(
        &mut self,
        name: &str,
        description: &str,
        path: &str,
        source: &str,
        runs: &[NewRun],
    ) -> Result<Vec<RunRow>, StoreError> {
        let ctx = || format!("registering sweep {name:?}");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        let out = register_in(&tx, name, description, path, source, runs)?;
        tx.commit().ctx(ctx)?;
        Ok(out)
    }

    /// Registers the runs of one new point of a sampled sweep, atomically: refused when a run
    /// of the experiment already has one of their trial indices (another process registered
    /// that point first) or one of their hashes (the point was drawn before).
    pub fn register_point(
        &mut self,
        name: &str,
        description: &str,
        path: &str,
        source: &str,
        runs: &[NewRun],
    ) -> Result<PointRegistration, StoreError> {
        let ctx = || format!("registering a point of sweep {name:?}");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        for run in runs {
            let (index_taken, hash_taken): (bool, bool) = tx
                .query_row(
                    "SELECT coalesce(max(r.trial_index = ?2), 0), coalesce(max(r.hash = ?3), 0)
                     FROM runs r JOIN experiments e ON e.id = r.experiment_id
                     WHERE e.name = ?1",
                    params![name, run.trial_index, run.hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ctx(ctx)?;
            if index_taken {
                return Ok(PointRegistration::IndexTaken);
            }
            if hash_taken {
                return Ok(PointRegistration::Duplicate);
            }
        }
        let out = register_in(&tx, name, description, path, source, runs)?;
        tx.commit().ctx(ctx)?;
        Ok(PointRegistration::Registered(out))
    }

    /// Marks a run as running on `device` with no process named: sets started_at and
    /// heartbeat, clears any finish time and error left by an earlier attempt. For fixtures and
    /// single-process tools; trainers take the run with `claim_run`, which is exclusive (and
    /// `run` reaps a claim that names no process as dead).
    pub fn start_run(&self, run_id: i64, device: &str) -> Result<(), StoreError> {
        let ts = now();
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = 'running', device = ?2, started_at = ?3,
                     heartbeat_at = ?3, finished_at = NULL, error = NULL
                 WHERE id = ?1",
                params![run_id, device, ts],
            )
            .ctx(|| format!("starting run {run_id}"))?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(run_id));
        }
        Ok(())
    }

    /// Puts a run in a terminal status with finished_at = now and an optional error text.
    pub fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        if !status.is_terminal() {
            return Err(StoreError::invalid(
                "finish status",
                format!("{status} is not terminal"),
            ));
        }
        let ts = now();
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = ?2, error = ?3, finished_at = ?4, heartbeat_at = ?4
                 WHERE id = ?1",
                params![run_id, status, error, ts],
            )
            .ctx(|| format!("finishing run {run_id} as {status}"))?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(run_id));
        }
        Ok(())
    }

    /// Forgets a run's progress (metrics, checkpoints rows, epochs_done) and queues it
    /// again, for re-running from scratch rather than resuming. One transaction, refused for a
    /// `running` run: its status is read under the write lock, so no claim slips in between.
    pub fn reset_run(&mut self, run_id: i64) -> Result<(), StoreError> {
        let ctx = || format!("resetting run {run_id}");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        let status = status_of(&tx, run_id, ctx)?;
        if status == RunStatus::Running {
            return Err(StoreError::invalid(
                "reset",
                format!("run {run_id} is running; stop it first"),
            ));
        }
        tx.execute("DELETE FROM metrics WHERE run_id = ?1", [run_id])
            .ctx(ctx)?;
        tx.execute("DELETE FROM checkpoints WHERE run_id = ?1", [run_id])
            .ctx(ctx)?;
        let n = tx
            .execute(
                "UPDATE runs SET status = 'queued', epochs_done = 0, device = NULL,
                     started_at = NULL, finished_at = NULL, heartbeat_at = NULL, error = NULL
                 WHERE id = ?1",
                [run_id],
            )
            .ctx(ctx)?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(run_id));
        }
        tx.commit().ctx(ctx)
    }

    /// All runs, or those of one experiment, ordered by experiment then trial index.
    pub fn runs(&self, experiment: Option<&str>) -> Result<Vec<RunRow>, StoreError> {
        let sql = format!(
            "{RUN_SELECT} WHERE ?1 IS NULL OR s.experiment = ?1
             ORDER BY s.experiment, r.trial_index, r.id"
        );
        let ctx = || "listing runs".to_string();
        let mut stmt = self.conn.prepare(&sql).ctx(ctx)?;
        let rows = stmt
            .query_map([experiment], run_from_row)
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        Ok(rows)
    }

    /// One run by id, `None` if it does not exist.
    pub fn run(&self, id: i64) -> Result<Option<RunRow>, StoreError> {
        load_run(&self.conn, id)
    }

    /// Experiment names, alphabetically.
    pub fn experiment_names(&self) -> Result<Vec<String>, StoreError> {
        let ctx = || "listing experiments".to_string();
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM experiments ORDER BY name")
            .ctx(ctx)?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .ctx(ctx)?;
        Ok(names)
    }

    /// The file path and TOML text an experiment was last run from (None if unknown).
    pub fn experiment_source(&self, name: &str) -> Result<Option<(String, String)>, StoreError> {
        let ctx = || format!("reading experiment {name}");
        self.conn
            .query_row(
                "SELECT coalesce(path, ''), coalesce(source, '') FROM experiments WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx(ctx)
    }
}

/// What `register_point` did.
#[derive(Debug, Clone, PartialEq)]
pub enum PointRegistration {
    Registered(Vec<RunRow>),
    /// Another process registered a point with this trial index first.
    IndexTaken,
    /// A run with the same config (hash) is already in the experiment.
    Duplicate,
}

/// Upserts the experiment and `runs` inside the caller's transaction.
fn register_in(
    tx: &Connection,
    name: &str,
    description: &str,
    path: &str,
    source: &str,
    runs: &[NewRun],
) -> Result<Vec<RunRow>, StoreError> {
    let ctx = || format!("registering sweep {name:?}");
    let ts = now();
    let experiment_id: i64 = tx
        .query_row(
            "INSERT INTO experiments (name, description, path, source, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 path = excluded.path, source = excluded.source,
                 updated_at = excluded.updated_at
             RETURNING id",
            params![name, description, path, source, ts],
            |r| r.get(0),
        )
        .ctx(ctx)?;

    let mut out = Vec::with_capacity(runs.len());
    {
        let mut upsert = tx
            .prepare(
                "INSERT INTO runs (experiment_id, trial_index, hash, status, config, overrides,
                                   seed, params, flops, epochs_total, created_at)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (experiment_id, hash) DO UPDATE SET trial_index = excluded.trial_index
                 RETURNING id",
            )
            .ctx(ctx)?;
        for run in runs {
            let id: i64 = upsert
                .query_row(
                    params![
                        experiment_id,
                        run.trial_index,
                        run.hash,
                        run.config_json,
                        run.overrides_json,
                        to_i64("seed", run.seed)?,
                        to_i64("params", run.params)?,
                        to_i64("flops", run.flops)?,
                        run.epochs_total,
                        ts,
                    ],
                    |r| r.get(0),
                )
                .ctx(|| format!("registering trial {} ({})", run.trial_index, run.hash))?;
            out.push(load_run(tx, id)?.ok_or(StoreError::NoSuchRun(id))?);
        }
    }
    Ok(out)
}
