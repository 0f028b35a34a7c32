//! The command line's side of Slurm: `run`'s launcher flags, `merge`, and the hidden
//! `slurm-task` that array tasks run.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::UsageError;
use crate::runner::slurm::{self, SlurmOptions, TaskOptions};
use crate::runner::{self, RunOptions, SweepSummary};
use crate::spec::Experiment;

/// Where `run` trains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Launcher {
    /// One process per trial on this machine.
    #[default]
    Local,
    /// One Slurm job array, one task per run (see "Running on a Slurm cluster").
    Slurm,
}

/// `run`'s flags for where the trials train.
#[derive(Debug, Clone, Default, Args)]
pub struct SlurmArgs {
    /// `local` (this machine) or `slurm` (one job array; needs sbatch on PATH).
    #[arg(long, value_enum, default_value_t = Launcher::Local, help_heading = "Launcher")]
    pub launcher: Launcher,
    /// With --launcher slurm: array tasks that run at once (`--array=0-(n-1)%N`); default:
    /// the file's `[slurm] array_parallelism`, else no limit.
    #[arg(long, value_name = "N", value_parser = super::at_least_one, help_heading = "Launcher")]
    pub array_parallelism: Option<usize>,
    /// With --launcher slurm: one sbatch option, e.g. --sbatch-arg=--gres=gpu:1 (repeatable;
    /// added after the file's `[slurm] sbatch_args`, so these win).
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        help_heading = "Launcher"
    )]
    pub sbatch_arg: Vec<String>,
    /// With --launcher slurm: return once the array is submitted; `merge` (or a later `run`)
    /// brings the results in.
    #[arg(long, help_heading = "Launcher")]
    pub no_wait: bool,
}

/// Runs the sweep with the chosen launcher. `None`: submitted without waiting, and said so.
pub fn run_sweep(
    experiment: &Experiment,
    options: &RunOptions,
    args: &SlurmArgs,
    out: &mut dyn Write,
) -> Result<Option<SweepSummary>> {
    if args.launcher == Launcher::Local {
        if args.no_wait || args.array_parallelism.is_some() || !args.sbatch_arg.is_empty() {
            return Err(UsageError(
                "--no-wait, --array-parallelism and --sbatch-arg need --launcher slurm".into(),
            )
            .into());
        }
        return runner::run_experiment(experiment, options).map(Some);
    }
    if experiment.sweep.is_adaptive() {
        // Early stopping and TPE decide from the store between epochs; array tasks never
        // open it (they write shards), so an adaptive sweep runs on one machine for now.
        return Err(UsageError(
            "--launcher slurm runs grid and random sweeps of lists; this sweep is adaptive \
             (tpe, distributions or [sweep.early_stop]), which decides from the store between \
             epochs: run it with --launcher local"
                .into(),
        )
        .into());
    }
    let mut sbatch_args = experiment.slurm.sbatch_args.clone();
    sbatch_args.extend(args.sbatch_arg.iter().cloned());
    for arg in &sbatch_args {
        slurm::check_sbatch_arg(arg).map_err(UsageError)?;
    }
    let slurm_options = SlurmOptions {
        array_parallelism: args
            .array_parallelism
            .or(experiment.slurm.array_parallelism),
        sbatch_args,
        wait: !args.no_wait,
    };
    let sub = slurm::submit_experiment(experiment, options, &slurm_options)?;
    match &sub.job {
        Some((job, script)) => writeln!(
            out,
            "{}: submitted {} run(s) as Slurm job array {job} ({})",
            experiment.name,
            sub.submitted,
            script.display()
        )?,
        None => writeln!(out, "{}: nothing to submit", experiment.name)?,
    }
    if args.no_wait && sub.job.is_some() {
        writeln!(
            out,
            "not waiting: `densenet-lab merge` brings their results into {} (the dashboard shows what has been merged)",
            options.db.display()
        )?;
        return Ok(None);
    }
    Ok(Some(sub.summary))
}

/// `densenet-lab merge`.
pub fn merge(db: &Path, runs_dir: &Path, out: &mut dyn Write) -> Result<()> {
    // The shards' runs are registered by `run`: merging into a new, empty store refuses all.
    super::inspect::existing(db)?;
    let mut store = crate::store::Store::open(db)?;
    let report = slurm::merge_shards(&mut store, runs_dir)?;
    for (run_id, status, changed) in &report.merged {
        let what = if *changed { "merged" } else { "unchanged" };
        writeln!(out, "run {run_id}: {what} ({status})")?;
    }
    for (path, why) in &report.refused {
        eprintln!(
            "refused {}: {why}; it is merged when a later copy is whole",
            path.display()
        );
    }
    let changed = report.merged.iter().filter(|m| m.2).count();
    writeln!(
        out,
        "{} shard(s): {changed} merged, {} unchanged, {} refused; results in {}",
        report.merged.len() + report.refused.len(),
        report.merged.len() - changed,
        report.refused.len(),
        db.display()
    )?;
    if !report.refused.is_empty() {
        let names: Vec<String> = report
            .refused
            .iter()
            .map(|(path, _)| path.display().to_string())
            .collect();
        anyhow::bail!(
            "{} shard(s) refused: {}",
            report.refused.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// `densenet-lab slurm-task RUN`: exits with the trial's exit code.
pub fn task(
    run: i64,
    device: String,
    runs_dir: PathBuf,
    gpu: super::GpuArgs,
    data_dir: PathBuf,
) -> Result<()> {
    let options = TaskOptions {
        run_id: run,
        runs_dir,
        data_dir,
        device,
        gpu: gpu.options(),
        binary: std::env::current_exe().context("cannot find this program's path")?,
    };
    let code = slurm::run_task(&options)?;
    std::process::exit(code)
}
