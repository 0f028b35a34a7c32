//! Folding a shard into the main store: one transaction per shard, the shard's rows replacing
//! the run's, written only where they differ, so that merging the same shard twice writes
//! nothing (and metric row ids, which dashboards poll by, stay put).

use std::path::Path;

use rusqlite::{Transaction, params};

use super::Store;
use super::error::{Context, StoreError};
use super::types::RunStatus;

/// What merging one shard did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// The run's rows now equal the shard's; `changed` says whether anything was written.
    Run {
        run_id: i64,
        status: RunStatus,
        changed: bool,
    },
    /// The shard was not merged, and why (torn, partial, foreign, or not this store's run).
    Refused(String),
}

/// The run columns a shard owns: how its training went, and where.
const RUN_COLUMNS: &str = "status, device, epochs_done, started_at, finished_at, heartbeat_at, \
    error, pid, host, pid_start, slurm_job_id, slurm_task_id, slurm_node";

/// A metric row without its id: what two stores compare.
const METRIC_COLUMNS: &str = "run_id, epoch, step, scope, split, name, value, wall_time";

type MetricKey = (i64, i64, String, String, String, f64, String);

fn metrics_of(
    tx: &Transaction<'_>,
    schema: &str,
    run_id: i64,
) -> rusqlite::Result<Vec<(i64, MetricKey)>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT id, epoch, step, scope, split, name, value, wall_time FROM {schema}.metrics
         WHERE run_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([run_id], |r| {
        Ok((
            r.get(0)?,
            (
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ),
        ))
    })?;
    rows.collect()
}

/// Makes the main store's metric rows of `run_id` equal the shard's: keeps the common
/// prefix, deletes the rest, inserts the shard's remainder. Returns whether it wrote.
fn merge_metrics(tx: &Transaction<'_>, run_id: i64) -> rusqlite::Result<bool> {
    let ours = metrics_of(tx, "main", run_id)?;
    let theirs = metrics_of(tx, "shard", run_id)?;
    let common = ours
        .iter()
        .zip(&theirs)
        .take_while(|((_, a), (_, b))| a == b)
        .count();
    if common == ours.len() && common == theirs.len() {
        return Ok(false);
    }
    if let Some((first_stale, _)) = ours.get(common) {
        tx.execute(
            "DELETE FROM main.metrics WHERE run_id = ?1 AND id >= ?2",
            params![run_id, first_stale],
        )?;
    }
    if let Some((first_new, _)) = theirs.get(common) {
        tx.execute(
            &format!(
                "INSERT INTO main.metrics ({METRIC_COLUMNS}) SELECT {METRIC_COLUMNS}
                 FROM shard.metrics WHERE run_id = ?1 AND id >= ?2 ORDER BY id"
            ),
            params![run_id, first_new],
        )?;
    }
    Ok(true)
}

/// Makes the run row's shard-owned columns and the run's checkpoints equal the shard's.
fn merge_run_and_checkpoints(tx: &Transaction<'_>, run_id: i64) -> rusqlite::Result<bool> {
    let differs = |sql: &str| -> rusqlite::Result<bool> {
        tx.query_row(sql, [run_id], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
    };
    let run_differs = differs(&format!(
        "SELECT count(*) FROM (SELECT {RUN_COLUMNS} FROM shard.runs WHERE id = ?1
         EXCEPT SELECT {RUN_COLUMNS} FROM main.runs WHERE id = ?1)"
    ))?;
    if run_differs {
        tx.execute(
            &format!(
                "UPDATE main.runs SET ({RUN_COLUMNS}) =
                   (SELECT {RUN_COLUMNS} FROM shard.runs WHERE id = ?1) WHERE id = ?1"
            ),
            [run_id],
        )?;
    }
    let checkpoint_differs = differs(
        "SELECT count(*) FROM (
           SELECT * FROM (SELECT epoch, path, created_at FROM shard.checkpoints WHERE run_id = ?1
             EXCEPT SELECT epoch, path, created_at FROM main.checkpoints WHERE run_id = ?1)
           UNION ALL
           SELECT * FROM (SELECT epoch, path, created_at FROM main.checkpoints WHERE run_id = ?1
             EXCEPT SELECT epoch, path, created_at FROM shard.checkpoints WHERE run_id = ?1))",
    )?;
    if checkpoint_differs {
        tx.execute("DELETE FROM main.checkpoints WHERE run_id = ?1", [run_id])?;
        tx.execute(
            "INSERT INTO main.checkpoints SELECT * FROM shard.checkpoints WHERE run_id = ?1",
            [run_id],
        )?;
    }
    Ok(run_differs || checkpoint_differs)
}

impl Store {
    /// Merges the shard at `path`, which must hold run `run_id` of this store (same config
    /// hash). A torn or partial file, or one holding another run, is refused and changes
    /// nothing; errors of the main store itself are returned.
    pub fn merge_shard(&mut self, path: &Path, run_id: i64) -> Result<Merged, StoreError> {
        if let Err(why) = regular_file(path) {
            return Ok(Merged::Refused(why));
        }
        if let Err(why) = self.attach_shard(path) {
            return Ok(Merged::Refused(why));
        }
        let result = self.merge_attached(run_id);
        self.detach_shard();
        result
    }

    fn merge_attached(&mut self, run_id: i64) -> Result<Merged, StoreError> {
        let ctx = || format!("merging the shard of run {run_id}");
        let tx = self.begin_merge()?;
        match shard_schema_matches(&tx) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Ok(Merged::Refused(why)),
            Err(e) => return Ok(Merged::Refused(format!("unreadable ({e})"))),
        }
        let hashes = tx.query_row(
            "SELECT (SELECT hash FROM shard.runs WHERE id = ?1),
                    (SELECT hash FROM main.runs WHERE id = ?1),
                    (SELECT count(*) FROM shard.runs)",
            [run_id],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        );
        let refusal = match hashes {
            Err(e) => Some(format!("unreadable ({e})")),
            Ok((None, _, _)) => Some(format!("holds no run {run_id}")),
            Ok((_, None, _)) => Some(format!("run {run_id} is not in this store")),
            Ok((Some(a), Some(b), _)) if a != b => Some(format!(
                "its run {run_id} has another configuration than this store's"
            )),
            Ok((_, _, n)) if n != 1 => Some(format!("holds {n} runs, not one")),
            Ok(_) => None,
        };
        if let Some(why) = refusal {
            return Ok(Merged::Refused(why));
        }
        // A read error in the shard's pages (a partial file) refuses it; the transaction
        // rolls back when `tx` drops.
        let written = match merge_run_and_checkpoints(&tx, run_id)
            .and_then(|a| merge_metrics(&tx, run_id).map(|b| a || b))
        {
            Ok(w) => w,
            Err(e) if is_shard_damage(&e) => return Ok(Merged::Refused(e.to_string())),
            Err(e) => return Err(e).ctx(ctx),
        };
        let status: RunStatus = tx
            .query_row(
                "SELECT status FROM main.runs WHERE id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .ctx(ctx)?;
        tx.commit().ctx(ctx)?;
        Ok(Merged::Run {
            run_id,
            status,
            changed: written,
        })
    }
}

/// Refuses anything at `path` but a regular file, before SQLite opens it: a FIFO would block
/// its open() for ever, and a symbolic link could point anywhere. The kind is read without
/// following links, and the file is opened once with O_NOFOLLOW | O_NONBLOCK, so neither a
/// link nor a FIFO put there since can block or redirect this check.
fn regular_file(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let kind = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot read it ({e})"))?
        .file_type();
    let not = |what: &str| {
        Err(format!(
            "not a regular file but {what}; only files are merged"
        ))
    };
    if kind.is_symlink() {
        return not("a symbolic link");
    }
    if kind.is_fifo() {
        return not("a FIFO");
    }
    if kind.is_dir() {
        return not("a directory");
    }
    if kind.is_socket() || kind.is_block_device() || kind.is_char_device() {
        return not("a socket or device");
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot open it ({e})"))?;
    match file.metadata() {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(_) => not("something that replaced the file"),
        Err(e) => Err(format!("cannot read it ({e})")),
    }
}

/// The tables a shard must hold, each with the main store's columns: a shard with the right
/// header but a table dropped or altered is refused before any row is compared.
fn shard_schema_matches(tx: &Transaction<'_>) -> rusqlite::Result<Result<(), String>> {
    let columns = |schema: &str, table: &str| -> rusqlite::Result<Vec<String>> {
        let mut stmt = tx.prepare("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid")?;
        let names = stmt.query_map([table, schema], |r| r.get(0))?;
        names.collect()
    };
    for table in ["experiments", "runs", "metrics", "checkpoints"] {
        let theirs = columns("shard", table)?;
        if theirs.is_empty() {
            return Ok(Err(format!("it has no `{table}` table")));
        }
        if theirs != columns("main", table)? {
            return Ok(Err(format!(
                "its `{table}` table has other columns than this store's ({})",
                theirs.join(", ")
            )));
        }
    }
    Ok(Ok(()))
}

/// SQLite's codes for a damaged or unreadable database file.
fn is_shard_damage(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase, SystemIoFailure};
    matches!(
        e.sqlite_error_code(),
        Some(DatabaseCorrupt | NotADatabase | SystemIoFailure)
    )
}
