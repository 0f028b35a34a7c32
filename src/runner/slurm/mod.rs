//! `run FILE --launcher slurm`: the sweep as one Slurm job array, one task per run.
//!
//! Compute nodes never open the store: each run gets a shard (`runs/shards/run-ID.db`, see
//! `store::shard`) that its task trains into and publishes back, and this side merges the
//! shards in. The rest of the program knows only [`submit_experiment`], [`merge_shards`]
//! and [`run_task`].

mod merge;
mod queue;
mod script;
mod task;
mod wait;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use merge::{MergeReport, merge_run, merge_shards, shard_path};
pub use script::check_sbatch_arg;
pub use task::{TaskOptions, run_task};

use super::progress::Display;
use super::scheduler::{Interrupted, Queued};
use super::{RunOptions, SweepSummary, check_datasets, new_runs, reap_dead_runs};
use crate::spec::Experiment;
use crate::store::{RunStatus, Store, WhereRan};

/// How a sweep goes to Slurm (the file's `[slurm]` table, overridden by `run`'s flags).
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub array_parallelism: Option<usize>,
    pub sbatch_args: Vec<String>,
    /// Wait for the array (the default), merging as shards land; else return at once.
    pub wait: bool,
}

/// What `submit_experiment` did.
#[derive(Debug, Default)]
pub struct Submission {
    /// The array's job id and its script, when anything was submitted.
    pub job: Option<(i64, PathBuf)>,
    pub submitted: usize,
    /// How the runs stand (after waiting, if `wait`).
    pub summary: SweepSummary,
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// Whether the task a run was last submitted as is still queued or running.
fn still_in_slurm(at: &WhereRan) -> bool {
    queue::task_states(at.job)
        .ok()
        .and_then(|tasks| tasks.get(&at.task).map(queue::TaskState::active))
        .unwrap_or(false)
}

/// Registers the trials, merges what earlier tasks published, and submits every run that is
/// neither done, diverged nor still in Slurm's hands as one job array.
pub fn submit_experiment(
    experiment: &Experiment,
    options: &RunOptions,
    slurm: &SlurmOptions,
) -> Result<Submission> {
    for arg in &slurm.sbatch_args {
        check_sbatch_arg(arg).map_err(anyhow::Error::msg)?;
    }
    queue::check_client_tools()?;
    let trials = experiment.trials();
    let train_sizes = check_datasets(&trials, &options.data_dir)?;
    let runs_dir = absolute(&options.runs_dir)?;
    let mut store = Store::open(&options.db)?;
    let runs = store.register_sweep(
        &experiment.name,
        &experiment.description,
        &experiment.path.to_string_lossy(),
        &experiment.source,
        &new_runs(&trials)?,
    )?;
    for run in &runs {
        merge_run(&mut store, &runs_dir, run.id)?;
    }
    reap_dead_runs(&store)?;
    let mut sub = Submission::default();
    let mut queue = Vec::new();
    for ((run, trial), train_size) in runs.iter().zip(&trials).zip(train_sizes) {
        let status = store.run(run.id)?.map_or(run.status, |r| r.status);
        match status {
            RunStatus::Done => sub.summary.skipped_done += 1,
            RunStatus::Diverged => sub.summary.diverged += 1,
            _ if store
                .where_ran(run.id)?
                .is_some_and(|at| still_in_slurm(&at)) =>
            {
                sub.summary.skipped_elsewhere += 1;
            }
            _ => queue.push(Queued {
                run_id: run.id,
                trial_index: trial.index,
                total_steps: (train_size.div_ceil(trial.config.train.batch_size)
                    * trial.config.train.epochs) as u64,
                gate: super::TrialGate::Open,
            }),
        }
    }
    if queue.is_empty() {
        return Ok(sub);
    }
    for q in &queue {
        let shard = shard_path(&runs_dir, q.run_id);
        std::fs::create_dir_all(shard.parent().expect("has a parent"))?;
        store.write_shard(q.run_id, &shard)?;
    }
    let ids: Vec<i64> = queue.iter().map(|q| q.run_id).collect();
    let scripts = runs_dir.join("slurm");
    std::fs::create_dir_all(&scripts)
        .with_context(|| format!("cannot create {}", scripts.display()))?;
    let stem = format!(
        "{}-{}",
        experiment.name,
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let device = options.devices[0].to_string();
    let text = script::render(&script::ScriptSpec {
        experiment: &experiment.name,
        runs: &ids,
        array_parallelism: slurm.array_parallelism,
        sbatch_args: &slurm.sbatch_args,
        binary: &options.binary,
        workdir: &absolute(Path::new("."))?,
        data_dir: &absolute(&options.data_dir)?,
        runs_dir: &runs_dir,
        device: &device,
        gpu_fusion: options.gpu.fusion,
        output: &scripts.join(format!("{stem}-%A_%a.out")),
    });
    let script_path = scripts.join(format!("{stem}.sbatch"));
    std::fs::write(&script_path, text)
        .with_context(|| format!("cannot write {}", script_path.display()))?;
    let job = queue::sbatch(&script_path)?;
    for (task, id) in ids.iter().enumerate() {
        let at = WhereRan {
            job,
            task: task as i64,
            node: None,
        };
        store.set_where_ran(*id, &at)?;
    }
    sub.submitted = queue.len();
    sub.job = Some((job, script_path));
    if !slurm.wait {
        return Ok(sub);
    }
    let display = Display::new(
        options.progress,
        &experiment.name,
        trials.len(),
        sub.summary.skipped_done,
    );
    let interrupted = wait::wait_for_array(
        &mut store,
        job,
        &queue,
        &runs_dir,
        options.devices[0],
        &display,
    )?;
    display.finish();
    let statuses = super::sweep_statuses(&store, &ids)?;
    for (_, status) in &statuses {
        match status {
            RunStatus::Done => sub.summary.trained += 1,
            RunStatus::Diverged => sub.summary.diverged += 1,
            RunStatus::Stopped => sub.summary.stopped += 1,
            RunStatus::Interrupted => sub.summary.interrupted += 1,
            RunStatus::Failed => sub.summary.failed += 1,
            // Never started, or still running for all we know (a squeue that forgot the job
            // at once): not an outcome, so not counted as one; named as unsettled below.
            _ => {}
        }
    }
    sub.summary.unsettled = super::unsettled(&statuses);
    if interrupted {
        bail!(Interrupted);
    }
    Ok(sub)
}
