//! Runs the trials of an experiment file: one OS process per trial (`densenet-lab trial
//! RUN_ID`), up to `--jobs` at a time on device slots, all coordinated through the store.
//!
//! Runs are found by their config hash, so re-running a file skips `done` runs, resumes
//! `interrupted`, `stopped` and `failed` ones from their last checkpoint and starts the rest.

mod observer;
mod progress;
mod scheduler;
pub mod trial;
mod trial_log;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use observer::{StoreObserver, epoch_rows};
pub use progress::ProgressMode;
pub use scheduler::Interrupted;
pub use trial::{TrialOptions, run_trial};

use crate::data::{self, Splits};
use crate::model;
use crate::spec::{DataConfig, Experiment, Trial};
use crate::store::{NewRun, RunStatus, Store};
use crate::train::ComputeDevice;

/// Where and how a sweep runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub db: PathBuf,
    pub data_dir: PathBuf,
    /// Checkpoints go to `<runs_dir>/<run id>/epoch-NNNN/`, logs to `<runs_dir>/<run id>/trial.log`.
    pub runs_dir: PathBuf,
    /// Device slots are taken from this list in turn (`cpu`, or `cuda:0,cuda:1`).
    pub devices: Vec<ComputeDevice>,
    /// Trials at once.
    pub jobs: usize,
    pub progress: ProgressMode,
    /// The binary started for each trial (this program).
    pub binary: PathBuf,
}

/// How the runs of a sweep stand after `run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepSummary {
    pub trained: usize,
    pub skipped_done: usize,
    pub skipped_elsewhere: usize,
    pub failed: usize,
    pub diverged: usize,
    pub stopped: usize,
    pub interrupted: usize,
}

/// The rows `register_sweep` needs for each trial.
pub fn new_runs(trials: &[Trial]) -> Result<Vec<NewRun>> {
    trials
        .iter()
        .map(|t| {
            let arch = model::summarize(&t.config.model, t.config.data.dataset);
            let overrides: serde_json::Map<String, serde_json::Value> =
                t.overrides.iter().cloned().collect();
            Ok(NewRun {
                trial_index: t.index,
                hash: t.hash.clone(),
                config_json: serde_json::to_string(&t.config)?,
                overrides_json: serde_json::to_string(&overrides)?,
                seed: t.config.train.seed,
                epochs_total: t.config.train.epochs,
                params: arch.params,
                flops: arch.flops,
            })
        })
        .collect()
}

/// Loads every distinct dataset the trials need before anything is written to the store, so
/// that a missing or broken data file leaves the store untouched. Returns the training-set
/// size of each trial (for progress bars).
fn check_datasets(trials: &[Trial], data_dir: &Path) -> Result<Vec<usize>> {
    let mut loaded: Vec<(DataConfig, Splits)> = Vec::new();
    let mut sizes = Vec::with_capacity(trials.len());
    for t in trials {
        let position = match loaded.iter().position(|(cfg, _)| *cfg == t.config.data) {
            Some(p) => p,
            None => {
                loaded.push((t.config.data.clone(), data::load(&t.config.data, data_dir)?));
                loaded.len() - 1
            }
        };
        sizes.push(loaded[position].1.train.len());
    }
    Ok(sizes)
}

/// Whether process `pid` exists on this machine.
pub fn process_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    exists || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Marks `running` runs whose process is gone as `interrupted`: a stale heartbeat, or a pid
/// that no longer exists on this host. Returns the ids of runs still alive elsewhere.
pub fn reap_dead_runs(store: &Store) -> Result<Vec<i64>> {
    let host = trial::this_host();
    let mut alive = Vec::new();
    for claim in store.running_claims()? {
        let local_dead = claim.host.as_deref() == Some(host.as_str())
            && claim.pid.is_some_and(|p| !process_alive(p));
        if claim.stale || local_dead || claim.pid.is_none() {
            store.mark_interrupted(
                claim.run_id,
                "the trial's process ended without recording an outcome",
            )?;
        } else {
            alive.push(claim.run_id);
        }
    }
    Ok(alive)
}

/// Runs every trial of `experiment` that is not done yet.
pub fn run_experiment(experiment: &Experiment, options: &RunOptions) -> Result<SweepSummary> {
    let trials = experiment.trials();
    let train_sizes = check_datasets(&trials, &options.data_dir)?;
    let mut store = Store::open(&options.db)?;
    let runs = store.register_sweep(
        &experiment.name,
        &experiment.description,
        &experiment.path.to_string_lossy(),
        &experiment.source,
        &new_runs(&trials)?,
    )?;
    let alive_elsewhere = reap_dead_runs(&store)?;
    let mut summary = SweepSummary::default();
    let mut queue = Vec::new();
    for ((run, trial), train_size) in runs.iter().zip(&trials).zip(train_sizes) {
        if run.status == RunStatus::Done {
            summary.skipped_done += 1;
        } else if alive_elsewhere.contains(&run.id) {
            summary.skipped_elsewhere += 1;
        } else {
            let steps =
                train_size.div_ceil(trial.config.train.batch_size) * trial.config.train.epochs;
            queue.push(scheduler::Queued {
                run_id: run.id,
                trial_index: trial.index,
                total_steps: steps as u64,
            });
        }
    }
    let display = progress::Display::new(
        options.progress,
        &experiment.name,
        trials.len(),
        summary.skipped_done,
    );
    let interrupted_by_user = scheduler::run_queue(&mut store, queue.clone(), options, &display)?;
    display.finish();
    for q in &queue {
        match store.run(q.run_id)?.map(|r| r.status) {
            Some(RunStatus::Done) => summary.trained += 1,
            Some(RunStatus::Diverged) => summary.diverged += 1,
            Some(RunStatus::Stopped) => summary.stopped += 1,
            Some(RunStatus::Interrupted) => summary.interrupted += 1,
            _ => summary.failed += 1,
        }
    }
    if interrupted_by_user {
        return Err(scheduler::Interrupted.into());
    }
    Ok(summary)
}
