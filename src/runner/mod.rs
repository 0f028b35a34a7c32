//! Runs the trials of an experiment file: one OS process per trial (`densenet-lab trial
//! RUN_ID`), up to `--jobs` at a time on device slots, all coordinated through the store.
//!
//! Runs are found by their config hash, so re-running a file skips `done` and `diverged` runs,
//! resumes `interrupted`, `stopped` and `failed` ones from their last checkpoint and starts the
//! rest. Each run is trained by the one process that wins its claim (see `claims`).

mod adaptive;
mod claims;
mod gate;
pub mod liveness;
mod observer;
mod progress;
mod scheduler;
pub mod slurm;
mod space;
pub mod trial;
mod trial_log;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use claims::{TrialRefused, dead_runs, reap_dead_runs};
pub use gate::TrialGate;
pub use observer::{StoreObserver, epoch_rows};
pub use progress::ProgressMode;
pub use scheduler::Interrupted;
pub use space::SpaceChanged;
pub use trial::{TrialOptions, run_trial};

use crate::data::{self, Splits};
use crate::model;
use crate::spec::{DataConfig, Experiment, Trial};
use crate::store::{NewRun, RunStatus, Store};
use crate::train::{ComputeDevice, GpuOptions};
use scheduler::JobSource;

/// Where and how a sweep runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub db: PathBuf,
    pub data_dir: PathBuf,
    /// Checkpoints go to `<runs_dir>/<run id>/epoch-NNNN/`, logs to `<runs_dir>/<run id>/trial.log`.
    pub runs_dir: PathBuf,
    /// Device slots are taken from this list in turn (`cpu`, or `cuda:0,cuda:1`, `wgpu:0`).
    pub devices: Vec<ComputeDevice>,
    /// Trials at once.
    pub jobs: usize,
    /// How the GPU backends run (passed to every trial).
    pub gpu: GpuOptions,
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
    pub paused: usize,
    pub pruned: usize,
    /// An adaptive sweep's rungs and budget (`rungs: ... | budget: ...`).
    pub adaptive: Option<String>,
    /// Runs of the sweep neither finished nor held by anyone when `run` ended, with their
    /// status: the sweep is not over (the CLI names them and exits 1).
    pub unsettled: Vec<(i64, RunStatus)>,
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

/// Counts the final status of each run this process claimed (once per run: an adaptive sweep
/// may claim a run at each rung). Only `failed` is a failure: a run this process trained to a
/// rung may be `running` now because another `run` promoted it, which is not a failure.
fn tally(store: &Store, report: &scheduler::QueueReport, summary: &mut SweepSummary) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for &id in report.claimed.iter().filter(|id| seen.insert(**id)) {
        match store.run(id)?.map(|r| r.status) {
            Some(RunStatus::Done) => summary.trained += 1,
            Some(RunStatus::Diverged) => summary.diverged += 1,
            Some(RunStatus::Stopped) => summary.stopped += 1,
            Some(RunStatus::Interrupted) => summary.interrupted += 1,
            Some(RunStatus::Failed) => summary.failed += 1,
            _ => {}
        }
    }
    summary.skipped_elsewhere += report
        .left_to_others
        .iter()
        .filter(|id| !seen.contains(id))
        .count();
    Ok(())
}

/// The statuses of the sweep's runs in the store: the one source of the sweep-wide counts
/// (already done, paused, pruned) and of the runs left unsettled.
fn sweep_statuses(store: &Store, ids: &[i64]) -> Result<Vec<(i64, RunStatus)>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(r) = store.run(id)? {
            out.push((id, r.status));
        }
    }
    Ok(out)
}

/// The runs of a sweep that `run` leaves neither finished nor held: queued, running (a
/// claim nobody reaped), paused or interrupted. `stopped` is a stop someone asked for.
fn unsettled(statuses: &[(i64, RunStatus)]) -> Vec<(i64, RunStatus)> {
    statuses
        .iter()
        .filter(|(_, s)| {
            matches!(
                s,
                RunStatus::Queued | RunStatus::Running | RunStatus::Paused | RunStatus::Interrupted
            )
        })
        .copied()
        .collect()
}

fn count(statuses: &[(i64, RunStatus)], status: RunStatus) -> usize {
    statuses.iter().filter(|(_, s)| *s == status).count()
}

/// Runs an adaptive sweep (see `adaptive`): trials registered as they are drawn, trained rung
/// by rung, until the sweep has nothing left to start.
fn run_adaptive(experiment: &Experiment, options: &RunOptions) -> Result<SweepSummary> {
    let checked = experiment.representative_trials();
    let sizes = check_datasets(&checked, &options.data_dir)?;
    // The sizes the check read are the progress bars' too: no dataset is loaded twice.
    let mut known_sizes: Vec<(DataConfig, usize)> = Vec::new();
    for (t, n) in checked.iter().zip(sizes) {
        if !known_sizes.iter().any(|(d, _)| *d == t.config.data) {
            known_sizes.push((t.config.data.clone(), n));
        }
    }
    let mut store = Store::open(&options.db)?;
    space::check_same_space(&store, experiment)?;
    store.register_sweep(
        &experiment.name,
        &experiment.description,
        &experiment.path.to_string_lossy(),
        &experiment.source,
        &new_runs(&experiment.trials())?,
    )?;
    reap_dead_runs(&store)?;
    let sweep = &experiment.sweep;
    let mut source = adaptive::AdaptiveSweep::new(experiment, &options.data_dir, known_sizes);
    // The sweep's runs as the source sees them (a sampled sweep registers its points as it
    // draws them, so the enumerated trials say nothing of what is done).
    let before = sweep_statuses(&store, &source.sweep_runs(&store)?)?;
    let mut summary = SweepSummary {
        skipped_done: count(&before, RunStatus::Done),
        ..SweepSummary::default()
    };
    let display = progress::Display::new(
        options.progress,
        &experiment.name,
        sweep.point_count() * sweep.repeats,
        summary.skipped_done,
    );
    let report = scheduler::run_queue(&mut store, &mut source, options, &display)?;
    display.finish();
    tally(&store, &report, &mut summary)?;
    let after = sweep_statuses(&store, &source.sweep_runs(&store)?)?;
    summary.paused = count(&after, RunStatus::Paused);
    summary.pruned = count(&after, RunStatus::Pruned);
    summary.unsettled = unsettled(&after);
    summary.adaptive = Some(source.report(&store)?.line());
    if report.interrupted_by_user {
        return Err(scheduler::Interrupted.into());
    }
    Ok(summary)
}

/// Runs every trial of `experiment` that is not done yet.
pub fn run_experiment(experiment: &Experiment, options: &RunOptions) -> Result<SweepSummary> {
    if experiment.sweep.is_adaptive() {
        return run_adaptive(experiment, options);
    }
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
    reap_dead_runs(&store)?;
    let mut summary = SweepSummary::default();
    let mut queue = std::collections::VecDeque::new();
    for ((run, trial), train_size) in runs.iter().zip(&trials).zip(train_sizes) {
        if run.status == RunStatus::Done {
            summary.skipped_done += 1;
        } else if run.status == RunStatus::Diverged {
            // The same config and seed would diverge again; the dashboard's re-run resets it.
            summary.diverged += 1;
        } else {
            // A run another live process holds is queued too: its claim fails, and the
            // scheduler waits for it (and takes it over if that process dies).
            let steps =
                train_size.div_ceil(trial.config.train.batch_size) * trial.config.train.epochs;
            queue.push_back(scheduler::Queued {
                run_id: run.id,
                trial_index: trial.index,
                total_steps: steps as u64,
                gate: TrialGate::Open,
            });
        }
    }
    let display = progress::Display::new(
        options.progress,
        &experiment.name,
        trials.len(),
        summary.skipped_done,
    );
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let report = scheduler::run_queue(
        &mut store,
        &mut scheduler::FixedQueue::new(queue, ids.clone()),
        options,
        &display,
    )?;
    display.finish();
    tally(&store, &report, &mut summary)?;
    summary.unsettled = unsettled(&sweep_statuses(&store, &ids)?);
    if report.interrupted_by_user {
        return Err(scheduler::Interrupted.into());
    }
    Ok(summary)
}
