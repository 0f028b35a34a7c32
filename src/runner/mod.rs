//! Runs the trials of an experiment file and records them in the store.
//!
//! Today trials run in this process, `--jobs` at a time on worker threads; the store is the
//! only thing they share. Runs already `done` (found by their config hash) are skipped, so
//! re-running a file only trains what is missing.

mod observer;
mod progress;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

pub use observer::{Progress, StoreObserver, epoch_rows};
pub use progress::ProgressMode;

use crate::data::{self, Splits};
use crate::model;
use crate::spec::{DataConfig, Experiment, Trial};
use crate::store::{NewRun, RunRow, RunStatus, Store};
use crate::train::{self, ComputeDevice, Outcome};

/// Where and how a sweep runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub db: PathBuf,
    pub data_dir: PathBuf,
    /// Checkpoints go to `<runs_dir>/<run id>/`.
    pub runs_dir: PathBuf,
    pub device: ComputeDevice,
    pub jobs: usize,
    pub progress: ProgressMode,
}

/// What `run` did, for its final summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepSummary {
    pub trained: usize,
    pub skipped_done: usize,
    pub failed: usize,
    pub diverged: usize,
    pub stopped: usize,
}

/// The rows `register_sweep` needs for each trial.
pub fn new_runs(experiment: &Experiment, trials: &[Trial]) -> Result<Vec<NewRun>> {
    trials
        .iter()
        .map(|t| {
            let arch = model::summarize(&t.config.model, t.config.data.dataset);
            let overrides: serde_json::Map<String, serde_json::Value> =
                t.overrides.iter().cloned().collect();
            let _ = experiment;
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

/// Loads every distinct dataset the trials need, before anything is written to the store, so
/// that a missing or broken data file leaves the store untouched.
fn load_datasets(trials: &[Trial], data_dir: &Path) -> Result<Vec<(DataConfig, Splits)>> {
    let mut loaded: Vec<(DataConfig, Splits)> = Vec::new();
    for t in trials {
        if !loaded.iter().any(|(cfg, _)| *cfg == t.config.data) {
            let splits = data::load(&t.config.data, data_dir)?;
            loaded.push((t.config.data.clone(), splits));
        }
    }
    Ok(loaded)
}

/// Runs every trial of `experiment` that is not done yet.
pub fn run_experiment(experiment: &Experiment, options: &RunOptions) -> Result<SweepSummary> {
    let trials = experiment.trials();
    let datasets = load_datasets(&trials, &options.data_dir)?;
    let mut store = Store::open(&options.db)?;
    let runs = store.register_sweep(
        &experiment.name,
        &experiment.description,
        &experiment.path.to_string_lossy(),
        &experiment.source,
        &new_runs(experiment, &trials)?,
    )?;
    drop(store);
    let mut summary = SweepSummary::default();
    let todo: Vec<(RunRow, &Trial)> = runs
        .into_iter()
        .zip(&trials)
        .filter(|(run, _)| {
            let done = run.status == RunStatus::Done;
            summary.skipped_done += usize::from(done);
            !done
        })
        .collect();
    let display = progress::Display::new(
        options.progress,
        &experiment.name,
        trials.len(),
        summary.skipped_done,
    );
    let queue = Mutex::new(todo.into_iter());
    let outcomes = Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().expect("queue lock").next();
                    let Some((run, trial)) = next else { break };
                    let splits = &datasets
                        .iter()
                        .find(|(cfg, _)| *cfg == trial.config.data)
                        .expect("loaded above")
                        .1;
                    let result = run_one(&run, trial, splits, options, &display);
                    outcomes
                        .lock()
                        .expect("outcome lock")
                        .insert(run.id, result);
                }
            });
        }
    });
    display.finish();
    for (_, result) in outcomes.into_inner().expect("outcome lock") {
        match result {
            Ok(Outcome::Completed) => summary.trained += 1,
            Ok(Outcome::Diverged { .. }) => summary.diverged += 1,
            Ok(Outcome::Stopped { .. }) => summary.stopped += 1,
            Err(_) => summary.failed += 1,
        }
    }
    Ok(summary)
}

/// Trains one run and records how it ended; its error (if any) is stored with the run.
fn run_one(
    run: &RunRow,
    trial: &Trial,
    splits: &Splits,
    options: &RunOptions,
    display: &progress::Display,
) -> Result<Outcome> {
    let mut store = Store::open(&options.db)?;
    store.reset_run(run.id)?;
    store.start_run(run.id, &options.device.to_string())?;
    let steps_per_epoch = splits.train.len().div_ceil(trial.config.train.batch_size);
    let bar = display.trial(run, trial, steps_per_epoch);
    let checkpoint_dir = options.runs_dir.join(run.id.to_string());
    let outcome = {
        let mut observer = StoreObserver::new(&mut store, run.id, |p| bar.update(p));
        let outcome = train::train_trial(
            &trial.config,
            splits,
            options.device,
            &checkpoint_dir,
            &mut observer,
        );
        observer.flush().and(outcome)
    };
    let (status, error) = match &outcome {
        Ok(Outcome::Completed) => (RunStatus::Done, None),
        Ok(Outcome::Diverged { epoch, step, loss }) => (
            RunStatus::Diverged,
            Some(format!("loss became {loss} at step {step} (epoch {epoch})")),
        ),
        Ok(Outcome::Stopped { epoch }) => (
            RunStatus::Stopped,
            Some(format!("stopped during epoch {epoch}")),
        ),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    bar.finish(status, error.as_deref());
    store
        .finish_run(run.id, status, error.as_deref())
        .with_context(|| format!("cannot record the end of run {}", run.id))?;
    outcome
}
