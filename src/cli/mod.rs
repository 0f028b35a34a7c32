//! The command line: argument definitions (clap) and one function per command.

mod commands;
mod device_args;
mod exit;
mod importance;
mod inspect;
pub mod output;
mod query;
mod slots;
mod slurm;
mod workspace;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use exit::{EXIT_CODES, UsageError, exit_code};
pub use output::Format;

const DEFAULT_DB: &str = "densenet-lab.db";
const DEFAULT_DATA_DIR: &str = "data";

#[derive(Debug, Parser)]
#[command(
    name = "densenet-lab",
    version,
    about = "Run DenseNet hyperparameter sweeps from TOML files; every metric goes to SQLite",
    long_about = "Run DenseNet hyperparameter sweeps from TOML files; every metric goes to SQLite.\n\n\
        Without a command, opens the dashboard on the workspace in the current directory \
        (experiments/, the database, runs/).",
    after_help = exit::HELP_SHORT,
    after_long_help = exit::help_long(),
)]
pub struct Cli {
    /// The results database; a command's own --db wins over this one.
    #[arg(
        long,
        env = "DENSENET_LAB_DB",
        default_value = DEFAULT_DB,
        value_name = "FILE",
        help_heading = "Workspace (the dashboard's, and the default of every command's)"
    )]
    pub db: PathBuf,
    /// Folder with mnist/ and cifar10/ (mnist-mini is built in); a command's own
    /// --data-dir wins over this one.
    #[arg(
        long,
        env = "DENSENET_LAB_DATA",
        default_value = DEFAULT_DATA_DIR,
        value_name = "DIR",
        help_heading = "Workspace (the dashboard's, and the default of every command's)"
    )]
    pub data_dir: PathBuf,
    /// Without a command: the dashboard.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--db` of a command that reads or writes the results.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArg {
    /// The results database [env: DENSENET_LAB_DB] [default: densenet-lab.db].
    #[arg(long, value_name = "FILE", help_heading = "Workspace")]
    pub db: Option<PathBuf>,
}

/// `--data-dir` of a command that reads datasets.
#[derive(Debug, Clone, Default, Args)]
pub struct DataDirArg {
    /// Folder with mnist/ and cifar10/ as raw or gzipped files; mnist-mini is built in
    /// [env: DENSENET_LAB_DATA] [default: data].
    #[arg(long, value_name = "DIR", help_heading = "Workspace")]
    pub data_dir: Option<PathBuf>,
}

/// `--gpu-fusion` of a command that may train on a GPU.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct GpuArgs {
    /// On a GPU, run burn's operation fusion: chains of element-wise ops (batch norm, ReLU,
    /// dropout, the optimizer update) compiled into one kernel each; convolutions are the same
    /// kernels either way, and results must not change. Off by default: burn 0.21 has open
    /// wrong-result reports for fusion (tracel-ai/burn #5122, #5257) and it is not yet measured
    /// faster here on a real GPU; the tests check on llvmpipe that fused and plain training
    /// agree. Ignored on the CPU.
    #[arg(long, env = "DENSENET_LAB_GPU_FUSION", help_heading = "GPU")]
    pub gpu_fusion: bool,
}

impl GpuArgs {
    pub fn options(self) -> crate::train::GpuOptions {
        crate::train::GpuOptions {
            fusion: self.gpu_fusion,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write experiments/NAME.toml from a commented template.
    New {
        /// The experiment's name (letters, digits, '.', '_', '-'); also the file's name.
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
        /// The experiment file (TOML).
        file: PathBuf,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Train every trial of an experiment file that is not done yet, one process per trial;
    /// interrupted, stopped and failed runs resume from their last checkpoint.
    Run {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Trials trained at once, at least 1 (CPU threads are split between them) [default: 1,
        /// or the slot counts of --device].
        #[arg(long, value_parser = at_least_one)]
        jobs: Option<usize>,
        /// `cpu`, or GPUs as `cuda:0,cuda:1` or `wgpu:0` (--jobs slots, taken in turn); with slot
        /// counts, `cuda:0x4,cuda:1x4` trains four trials at once on each GPU (refused when the
        /// largest trial's estimated memory times the slots exceeds a GPU's). Default: the
        /// file's `device`, else cpu.
        #[arg(long)]
        device: Option<String>,
        #[command(flatten)]
        gpu: GpuArgs,
        /// Resume the sweep (the default: kept for scripts that say it).
        #[arg(long)]
        resume: bool,
        /// Checkpoints and trial logs go to RUNS_DIR/<run id>/.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        #[command(flatten)]
        slurm: slurm::SlurmArgs,
        #[command(flatten)]
        store: StoreArg,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Fold the shards that Slurm tasks published under RUNS_DIR/shards/ into the store (one
    /// transaction each; merging twice changes nothing; a torn shard is refused by name).
    Merge {
        /// The runs folder `run --launcher slurm` used.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[command(flatten)]
        store: StoreArg,
    },
    /// One Slurm array task (started by the sbatch script of `run --launcher slurm`).
    #[command(hide = true)]
    SlurmTask {
        /// The run's id in the store.
        run: i64,
        /// `cpu`, `cuda:N` or `wgpu:N`.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// The shared runs folder: shards/, checkpoints.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[command(flatten)]
        gpu: GpuArgs,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Train one run in this process (started by `run`; not for direct use).
    #[command(hide = true)]
    Trial {
        /// The run's id in the store.
        run: i64,
        /// `cpu`, `cuda:N` or `wgpu:N`.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Checkpoints and the trial log go to RUNS_DIR/<run id>/.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[command(flatten)]
        gpu: GpuArgs,
        /// The parent `run` claimed the run for this process and hands the claim over.
        #[arg(long)]
        claimed_by_parent: bool,
        /// Pause at the end of this epoch (an ASHA rung) unless it is the last.
        #[arg(long, value_name = "EPOCH", conflicts_with = "median")]
        pause_at: Option<usize>,
        /// Prune when the best SPLIT.METRIC so far is worse than the finished trials' median.
        #[arg(long, value_name = "SPLIT.METRIC")]
        median: Option<String>,
        /// Epochs the median rule waits before it judges.
        #[arg(long, value_name = "EPOCHS", default_value_t = 1)]
        median_warmup: usize,
        #[command(flatten)]
        store: StoreArg,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Ask a running run to stop at its next step (it is then `stopped`, and resumable).
    Stop {
        /// The run's id (the `id` column of `densenet-lab runs`).
        run: i64,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List runs with status, epochs, best and last test accuracy.
    Runs {
        /// Only this experiment's runs (its `name`); an unknown name is an error.
        #[arg(long)]
        experiment: Option<String>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        store: StoreArg,
    },
    /// One run: its configuration, status, timings and per-epoch metrics.
    Show {
        /// The run's id (the `id` column of `densenet-lab runs`).
        run: i64,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        store: StoreArg,
    },
    /// The test-accuracy table of an experiment over its sweep axes (mean ± std over repeats).
    Compare {
        /// The experiment's name (the `name` in its file, the `experiment` column of `runs`).
        experiment: String,
        /// Pivot: this axis down the rows (needs --cols), e.g. model.growth_rate.
        #[arg(long, requires = "cols", value_name = "AXIS")]
        rows: Option<String>,
        /// Pivot: this axis across the columns (needs --rows).
        #[arg(long, requires = "rows", value_name = "AXIS")]
        cols: Option<String>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Rank an experiment's sweep axes by how much of the metric's variance each explains
    /// (fANOVA over its done trials), with the spread over the forest's trees.
    Importance {
        /// The experiment's name (the `experiment` column of `runs`).
        experiment: String,
        /// SPLIT.NAME, the best over epochs: test.accuracy, val.accuracy, test.loss, ...
        /// [default: val.accuracy where the trials have a validation split, else test.accuracy]
        #[arg(long, value_name = "METRIC")]
        metric: Option<String>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Write a chart of one metric, one line per run, as PNG or SVG (by the file's extension).
    Export {
        /// The experiment's name (the `experiment` column of `runs`).
        #[arg(long)]
        experiment: String,
        /// Only these runs (comma-separated ids); default all runs of the experiment.
        #[arg(long, value_delimiter = ',', value_name = "IDS")]
        runs: Option<Vec<i64>>,
        /// test_accuracy, test_loss, train_loss, train_accuracy, val_loss, val_accuracy,
        /// train_loss_steps, lr or images_per_sec.
        #[arg(long, default_value = "test_accuracy")]
        metric: String,
        /// The chart file to write: `.png` or `.svg`.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Width of the chart in pixels.
        #[arg(long, default_value_t = 1200)]
        width: u32,
        /// Height of the chart in pixels.
        #[arg(long, default_value_t = 800)]
        height: u32,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Run a read-only SQL query over the results (tables: experiments, runs, metrics,
    /// checkpoints; view run_summary). Ctrl-C stops it (exit 130).
    Query {
        /// One SELECT (or WITH ... SELECT) statement; statements that write are refused.
        sql: String,
        /// Stop the query after this many seconds (fractions allowed) and exit with 124.
        #[arg(long, value_name = "SECONDS", value_parser = query::parse_timeout)]
        timeout: Option<std::time::Duration>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List the devices this build can train on (CPU; CUDA GPUs with a `cuda` build, graphics
    /// adapters with a `wgpu` build).
    Devices {
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// The runs folder whose GPU autotune cache (RUNS_DIR/tune-cache/) the table names.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
    },
    /// Datasets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Measure training and evaluation throughput of one trial's model on synthetic data;
    /// prints one JSON line.
    Bench {
        /// The experiment file (TOML) whose trial is timed.
        file: PathBuf,
        /// Images per step.
        #[arg(long, default_value_t = 64, value_parser = at_least_one)]
        batch: usize,
        /// Timed steps of training and of evaluation, after 3 warm-up steps; the figures are
        /// their medians.
        #[arg(long, default_value_t = 20, value_parser = at_least_one)]
        steps: usize,
        /// Which trial of the sweep (0-based, the `trial` column of `check`).
        #[arg(long, default_value_t = 0)]
        trial: usize,
        /// Default: the file's `device` (its first), else cpu.
        #[arg(long)]
        device: Option<String>,
        /// Overrides the trial's `train.precision` (f32, or bf16: the CPU executor's AMX,
        /// AVX512_BF16 or AVX2 kernels, or CUDA): compare both without editing the file.
        #[arg(long)]
        precision: Option<String>,
        /// On a GPU, autotune results go to RUNS_DIR/tune-cache/ (as a `run` here would use them).
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[command(flatten)]
        gpu: GpuArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check headers and record counts of the dataset files; exit code 2 if any named
    /// dataset (default: every one) is missing or broken.
    Verify {
        /// Only these datasets (mnist, mnist-mini, cifar10, fashion-mnist); default all of them.
        datasets: Vec<String>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        data: DataDirArg,
    },
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl Cli {
    /// The store a command uses: its own `--db`, else the one before the command (or
    /// `DENSENET_LAB_DB`, or the default).
    fn db_for(&self, own: &StoreArg) -> PathBuf {
        own.db.clone().unwrap_or_else(|| self.db.clone())
    }

    /// The data folder a command uses, by the same rule as [`Cli::db_for`].
    fn data_dir_for(&self, own: &DataDirArg) -> PathBuf {
        own.data_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.clone())
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    commands::dispatch(cli)
}
