//! Shards: one run's rows in a store file of their own, for trials that must not open the main
//! store (Slurm compute nodes: SQLite's locking is not safe across hosts or over NFS).
//!
//! A shard is an ordinary store (same schema) holding one experiment row and one run row with
//! their ids from the main store, so the unchanged `trial` command trains into it. Shards are
//! published by atomic rename only, and in rollback-journal mode, so a reader never needs
//! the writer's WAL or shared memory: a published file never changes after it appears.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::{Context, StoreError};
use super::{Store, now};

/// Where a run ran when a Slurm job array trained it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhereRan {
    /// The array's job id (`SLURM_ARRAY_JOB_ID`).
    pub job: i64,
    /// The run's task in the array (`SLURM_ARRAY_TASK_ID`).
    pub task: i64,
    /// The node the task last started on; `None` while it waits in the queue.
    pub node: Option<String>,
}

impl std::fmt::Display for WhereRan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slurm job {}_{}", self.job, self.task)?;
        match &self.node {
            Some(node) => write!(f, " on {node}"),
            None => write!(f, " (not started yet)"),
        }
    }
}

/// `path` with `.tmp-<pid>` appended: the name a file is written under before its rename.
pub(super) fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

/// Switches the finished file at `tmp` to rollback-journal mode (folding in its WAL), then
/// renames it to `dest`: readers see the old file or the new one, never a part.
fn seal_and_rename(tmp: &Path, dest: &Path) -> Result<(), StoreError> {
    let ctx = || format!("{}: sealing the copy", tmp.display());
    let conn = Connection::open(tmp).ctx(ctx)?;
    conn.pragma_update(None, "journal_mode", "DELETE")
        .ctx(ctx)?;
    drop(conn);
    std::fs::rename(tmp, dest).map_err(|e| {
        StoreError::invalid(
            "shard copy",
            format!("cannot rename {} to {}: {e}", tmp.display(), dest.display()),
        )
    })
}

impl Store {
    /// Where run `run_id` ran under Slurm, if it did.
    pub fn where_ran(&self, run_id: i64) -> Result<Option<WhereRan>, StoreError> {
        let row: Option<(Option<i64>, Option<i64>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT slurm_job_id, slurm_task_id, slurm_node FROM runs WHERE id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .ctx(|| format!("reading where run {run_id} ran"))?;
        Ok(match row {
            Some((Some(job), Some(task), node)) => Some(WhereRan { job, task, node }),
            _ => None,
        })
    }

    /// Records where run `run_id` runs: at submission (no node yet), or by the task itself.
    pub fn set_where_ran(&self, run_id: i64, at: &WhereRan) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET slurm_job_id = ?2, slurm_task_id = ?3, slurm_node = ?4
                 WHERE id = ?1",
                params![run_id, at.job, at.task, at.node],
            )
            .ctx(|| format!("recording where run {run_id} runs"))?;
        Ok(())
    }

    /// Marks a `running` run as alive now (its Slurm task is running: the queue says so).
    pub fn touch_heartbeat(&self, run_id: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1 AND status = 'running'",
                params![run_id, now()],
            )
            .ctx(|| format!("heartbeat of run {run_id}"))?;
        Ok(())
    }

    /// Writes run `run_id` (its experiment row, run row, metrics and checkpoints) into a new
    /// shard at `dest`, replacing any file there atomically.
    pub fn write_shard(&self, run_id: i64, dest: &Path) -> Result<(), StoreError> {
        let tmp = temporary_name(dest);
        let _ = std::fs::remove_file(&tmp);
        drop(Store::open(&tmp)?);
        let ctx = || format!("{}: writing the shard of run {run_id}", tmp.display());
        self.conn
            .execute("ATTACH DATABASE ?1 AS shard", [tmp.to_string_lossy()])
            .ctx(ctx)?;
        let copied = self.conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             INSERT INTO shard.experiments SELECT * FROM main.experiments
               WHERE id = (SELECT experiment_id FROM main.runs WHERE id = {run_id});
             INSERT INTO shard.runs SELECT * FROM main.runs WHERE id = {run_id};
             INSERT INTO shard.metrics SELECT * FROM main.metrics WHERE run_id = {run_id};
             INSERT INTO shard.checkpoints SELECT * FROM main.checkpoints WHERE run_id = {run_id};
             COMMIT;"
        ));
        if copied.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let detached = self.conn.execute_batch("DETACH DATABASE shard");
        copied.ctx(ctx)?;
        detached.ctx(ctx)?;
        seal_and_rename(&tmp, dest)
    }

    /// Copies this whole store to `dest` as one consistent snapshot (`VACUUM INTO` a
    /// temporary name, then rename), replacing any file there atomically.
    pub fn publish_copy(&self, dest: &Path) -> Result<(), StoreError> {
        let tmp = temporary_name(dest);
        let _ = std::fs::remove_file(&tmp);
        self.conn
            .execute("VACUUM INTO ?1", [tmp.to_string_lossy()])
            .ctx(|| format!("copying {} to {}", self.path.display(), tmp.display()))?;
        seal_and_rename(&tmp, dest)
    }

    /// Opens the shard at `path` on this connection as schema `shard`, read-only, after
    /// checking that it is whole.
    pub(super) fn attach_shard(&self, path: &Path) -> Result<(), String> {
        let uri = format!(
            "file:{}?mode=ro&immutable=1",
            path.to_string_lossy()
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23")
        );
        self.conn
            .execute("ATTACH DATABASE ?1 AS shard", [uri])
            .map_err(|e| e.to_string())?;
        let check = || -> rusqlite::Result<Result<(), String>> {
            let app: i64 = self
                .conn
                .query_row("PRAGMA shard.application_id", [], |r| r.get(0))?;
            let version: i64 = self
                .conn
                .query_row("PRAGMA shard.user_version", [], |r| r.get(0))?;
            if app != super::APPLICATION_ID || version != super::SCHEMA_VERSION {
                return Ok(Err(format!(
                    "not a shard of this build (application id {app:#x}, schema version {version})"
                )));
            }
            let verdict: String = self
                .conn
                .query_row("PRAGMA shard.quick_check(1)", [], |r| r.get(0))?;
            Ok(if verdict == "ok" {
                Ok(())
            } else {
                Err(verdict)
            })
        };
        let result = check().map_err(|e| e.to_string()).and_then(|r| r);
        if result.is_err() {
            self.detach_shard();
        }
        result
    }

    pub(super) fn detach_shard(&self) {
        let _ = self.conn.execute_batch("DETACH DATABASE shard");
    }

    /// Starts the IMMEDIATE transaction one shard's merge runs in.
    pub(super) fn begin_merge(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(|| format!("{}: starting a merge", self.path.display()))
    }
}
