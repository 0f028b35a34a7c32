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
pub mod trial;
mod trial_log;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use claims::{TrialRefused, dead_runs, reap_dead_runs};
pub use gate::TrialGate;
pub use observer::{StoreObserver, epoch_rows};
pub use progress::ProgressMode;
pub use scheduler::Interrupted;
pub use trial::{TrialOptions, run_trial};

use crate::data::{self, Splits};
use crate::model;
use crate::spec::{DataConfig, Experiment, Trial};
use crate::store::{NewRun, RunStatus, Store};
use crate::train::{ComputeDevice, GpuOptions};

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
/// may claim a run at each rung).
fn tally(store: &Store, report: &scheduler::QueueReport, summary: &mut SweepSummary) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for &id in report.claimed.iter().filter(|id| seen.insert(**id)) {
        match store.run(id)?.map(|r| r.status) {
            Some(RunStatus::Done) => summary.trained += 1,
            Some(RunStatus::Diverged) => summary.diverged += 1,
            Some(RunStatus::Stopped) => summary.stopped += 1,
            Some(RunStatus::Interrupted) => summary.interrupted += 1,
            Some(RunStatus::Paused) => summary.paused += 1,
            Some(RunStatus::Pruned) => summary.pruned += 1,
            _ => summary.failed += 1,
        }
    }
    Ok(())
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
    let known = store.register_sweep(
        &experiment.name,
        &experiment.description,
        &experiment.path.to_string_lossy(),
        &experiment.source,
        &new_runs(&experiment.trials())?,
    )?;
    reap_dead_runs(&store)?;
    let sweep = &experiment.sweep;
    let mut summary = SweepSummary {
        skipped_done: known.iter().filter(|r| r.status == RunStatus::Done).count(),
        ..SweepSummary::default()
    };
    let display = progress::Display::new(
        options.progress,
        &experiment.name,
        sweep.point_count() * sweep.repeats,
        summary.skipped_done,
    );
    let mut source = adaptive::AdaptiveSweep::new(experiment, &options.data_dir, known_sizes);
    let report = scheduler::run_queue(&mut store, &mut source, options, &display)?;
    display.finish();
    tally(&store, &report, &mut summary)?;
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
    let alive_elsewhere = reap_dead_runs(&store)?;
    let mut summary = SweepSummary::default();
    let mut queue = std::collections::VecDeque::new();
    for ((run, trial), train_size) in runs.iter().zip(&trials).zip(train_sizes) {
        if run.status == RunStatus::Done {
            summary.skipped_done += 1;
        } else if run.status == RunStatus::Diverged {
            // The same config and seed would diverge again; the dashboard's re-run resets it.
            summary.diverged += 1;
        } else if alive_elsewhere.contains(&run.id) {
            summary.skipped_elsewhere += 1;
        } else {
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
    let report = scheduler::run_queue(
        &mut store,
        &mut scheduler::FixedQueue(queue),
        options,
        &display,
    )?;
    display.finish();
    summary.skipped_elsewhere += report.left_to_others;
    tally(&store, &report, &mut summary)?;
    if report.interrupted_by_user {
        return Err(scheduler::Interrupted.into());
    }
    Ok(summary)
}
