//! The command line: argument definitions (clap) and one function per command.

mod commands;
mod inspect;
pub mod output;
mod query;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "densenet-lab",
    version,
    about = "Run DenseNet hyperparameter sweeps from TOML files; every metric goes to SQLite",
    long_about = "Run DenseNet hyperparameter sweeps from TOML files; every metric goes to SQLite.\n\nWithout a command, opens the dashboard on the workspace in the current directory \n(experiments/, the database, runs/)."
)]
pub struct Cli {
    /// The results database.
    #[arg(
        long,
        global = true,
        env = "DENSENET_LAB_DB",
        default_value = "densenet-lab.db"
    )]
    pub db: PathBuf,
    /// Folder with mnist/ and cifar10/ (mnist-mini is built in).
    #[arg(long, global = true, env = "DENSENET_LAB_DATA", default_value = "data")]
    pub data_dir: PathBuf,
    /// Without a command: the dashboard.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write experiments/NAME.toml from a commented template.
    New {
        name: String,
        /// Folder to write into.
        #[arg(long, default_value = "experiments")]
        dir: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate an experiment file and list its trials with parameters, FLOPs, memory and time.
    Check {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Train every trial of an experiment file that is not done yet, one process per trial;
    /// interrupted, stopped and failed runs resume from their last checkpoint.
    Run {
        file: PathBuf,
        /// Trials trained at once (CPU threads are split between them).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// `cpu`, or GPUs as `cuda:0,cuda:1` (slots are taken in turn); default: the file's
        /// `device`, else cpu.
        #[arg(long)]
        device: Option<String>,
        /// Resume the sweep (the default: kept for scripts that say it).
        #[arg(long)]
        resume: bool,
        /// Checkpoints go to RUNS_DIR/<run id>/.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Train one run in this process (started by `run`; not for direct use).
    #[command(hide = true)]
    Trial {
        run: i64,
        #[arg(long, default_value = "cpu")]
        device: String,
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
    },
    /// Ask a running run to stop at its next step (it is then `stopped`, and resumable).
    Stop { run: i64 },
    /// List runs.
    Runs {
        /// Only this experiment's runs.
        #[arg(long)]
        experiment: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One run: its configuration, status, timings and per-epoch metrics.
    Show {
        run: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The test-accuracy table of an experiment over its sweep axes (mean ± std over repeats).
    Compare {
        experiment: String,
        /// Pivot: this axis down the rows (needs --cols).
        #[arg(long, requires = "cols")]
        rows: Option<String>,
        /// Pivot: this axis across the columns (needs --rows).
        #[arg(long, requires = "rows")]
        cols: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write a chart of one metric, one line per run, as PNG or SVG (by the file's extension).
    Export {
        #[arg(long)]
        experiment: String,
        /// Only these runs (comma-separated ids); default all runs of the experiment.
        #[arg(long, value_delimiter = ',')]
        runs: Option<Vec<i64>>,
        /// test_accuracy, test_loss, train_loss, train_accuracy, val_loss, val_accuracy,
        /// train_loss_steps, lr or images_per_sec.
        #[arg(long, default_value = "test_accuracy")]
        metric: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1200)]
        width: u32,
        #[arg(long, default_value_t = 800)]
        height: u32,
    },
    /// Run a read-only SQL query over the results. Ctrl-C stops it (exit 130).
    Query {
        sql: String,
        /// Stop the query after this many seconds (fractions allowed) and exit with 124.
        #[arg(long, value_name = "SECONDS", value_parser = query::parse_timeout)]
        timeout: Option<std::time::Duration>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the devices this build can train on (CPU; CUDA GPUs with a `cuda` build).
    Devices {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Datasets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Measure training and evaluation throughput of one trial's model; prints one JSON line.
    Bench {
        file: PathBuf,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Which trial of the sweep (0-based).
        #[arg(long, default_value_t = 0)]
        trial: usize,
        /// Default: the file's `device` (its first), else cpu.
        #[arg(long)]
        device: Option<String>,
        /// Overrides the trial's `train.precision` (f32, or bf16 on CUDA): compare both
        /// without editing the file.
        #[arg(long)]
        precision: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check headers and record counts of every dataset file found.
    Verify {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// A mistake in what the user asked for (exit code 2), as opposed to a failure while doing it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Exit code for an error: 2 for bad input (files, flags, ids, SQL), 130 for a run the user
/// interrupted, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.is::<crate::runner::Interrupted>() {
        return 130;
    }
    if let Some(stopped) = err.downcast_ref::<query::QueryStopped>() {
        return stopped.exit_code();
    }
    let bad_input = err.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<crate::spec::SpecError>()
            || e.is::<crate::data::DataError>()
            || e.is::<crate::store::StoreError>() && is_input_store_error(e)
            || e.downcast_ref::<crate::plot::PlotError>()
                .is_some_and(|p| p.is_bad_input())
    });
    if bad_input { 2 } else { 1 }
}

fn is_input_store_error(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<crate::store::StoreError>()
        .is_some_and(|s| s.is_bad_input())
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    commands::dispatch(cli)
}
