//! `densenet-lab merge`: folds the published shards of `runs/shards/` into the store.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::store::{Merged, RunStatus, Store};

/// What one `merge` did.
#[derive(Debug, Default)]
pub struct MergeReport {
    /// Each shard merged: its run, the run's status now, and whether anything was written.
    pub merged: Vec<(i64, RunStatus, bool)>,
    /// Each shard refused, with why.
    pub refused: Vec<(PathBuf, String)>,
}

/// The published shard of `run_id`.
pub fn shard_path(runs_dir: &Path, run_id: i64) -> PathBuf {
    runs_dir.join("shards").join(format!("run-{run_id}.db"))
}

/// The run id a published shard's file name names (`run-12.db`), if it is one.
fn shard_run(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("run-")?.strip_suffix(".db")?.parse().ok()
}

/// Merges the published shard of `run_id`, if there is one.
pub fn merge_run(store: &mut Store, runs_dir: &Path, run_id: i64) -> Result<Option<Merged>> {
    let path = shard_path(runs_dir, run_id);
    // Not `exists()`, which follows a link: a link or a FIFO there is refused by name.
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    Ok(Some(store.merge_shard(&path, run_id)?))
}

/// Merges every published shard under `runs_dir/shards/`, each in its own transaction;
/// a refused shard (torn, malformed, not a regular file) leaves the others merged.
pub fn merge_shards(store: &mut Store, runs_dir: &Path) -> Result<MergeReport> {
    let dir = runs_dir.join("shards");
    let mut report = MergeReport::default();
    if !dir.is_dir() {
        return Ok(report);
    }
    let mut shards: Vec<(i64, PathBuf)> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| shard_run(&p).map(|id| (id, p)))
        .collect();
    shards.sort();
    for (run_id, path) in shards {
        let merged = store
            .merge_shard(&path, run_id)
            .with_context(|| format!("merging {}", path.display()))?;
        match merged {
            Merged::Run {
                run_id,
                status,
                changed,
            } => report.merged.push((run_id, status, changed)),
            Merged::Refused(why) => report.refused.push((path, why)),
        }
    }
    Ok(report)
}
