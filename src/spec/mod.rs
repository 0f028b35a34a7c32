//! Experiment files: parsing, validation with located diagnostics, and sweep expansion into
//! trials. Everything that can be wrong with a file is found here, before any training starts.

pub mod config;
mod domain;
mod early_stop;
mod error;
mod geometry;
mod hash;
mod ignored;
mod location;
mod parse;
mod precision;
mod sampled;
mod sweep;
mod template;
mod validate;
mod wording;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use config::*;
pub use domain::{DISTRIBUTIONS, Domain};
pub use early_stop::{DEFAULT_METRIC, EarlyStop, MEDIAN_STARTUP_TRIALS, Objective, StopRule};
pub use error::{Diagnostic, SpecError};
pub use geometry::{GeometryError, feature_map_sizes, stem_output};
pub use hash::{canonical_config_json, trial_hash};
pub use parse::{load_experiment, parse_experiment};
pub use template::{TEMPLATE, render_template};

/// A parsed and validated experiment file.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub name: String,
    pub description: String,
    /// The file's `device` (`cpu`, `cuda:0,cuda:1`, `wgpu:0`); `run --device` wins over it.
    pub device: Option<String>,
    /// Where the file was read from (as given).
    pub path: PathBuf,
    /// The file's text, kept so a run can store exactly what it ran.
    pub source: String,
    /// The config of the file without any sweep override.
    pub base: TrialConfig,
    pub sweep: Sweep,
    /// Located warnings (`file:line:col: key: message`) that do not stop the file from running.
    pub warnings: Vec<String>,
    /// The file's `[slurm]` table (`run --launcher slurm`'s flags win over it).
    pub slurm: SlurmTable,
}

/// What `run --launcher slurm` passes to Slurm for this file; it changes no trial's config.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmTable {
    /// Options for sbatch, each as one argument: `["--partition=gpu", "--gres=gpu:1"]`.
    #[serde(default)]
    pub sbatch_args: Vec<String>,
    /// Tasks of the array that run at once (`--array=0-(n-1)%N`); default: no limit.
    pub array_parallelism: Option<usize>,
}

/// How the base config is varied. No `[sweep]` table is one point, one repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub strategy: Strategy,
    /// Seeds per point.
    pub repeats: usize,
    /// In file order; the first axis varies slowest.
    pub axes: Vec<Axis>,
    /// What TPE optimizes and early stopping judges by (`None`: the sweep judges nothing).
    pub objective: Option<Objective>,
    pub early_stop: Option<EarlyStop>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every combination of axis values.
    Grid,
    /// `samples` points, seeded by `seed`: distinct grid points drawn without replacement when
    /// every axis is a list, else each axis drawn from its domain.
    Random { samples: usize, seed: u64 },
    /// `samples` points proposed one by one by the tree-structured Parzen estimator from the
    /// trials so far; the first `startup` are drawn as `Random`'s are.
    Tpe {
        samples: usize,
        seed: u64,
        startup: usize,
    },
}

/// One swept key and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted config key, e.g. `model.dropout`.
    pub key: String,
    pub domain: Domain,
}

/// One run: a point of the sweep with one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Position in the run order: `point * repeats + repeat`.
    pub index: usize,
    pub repeat: usize,
    /// Axis key -> value, in file order.
    pub overrides: Vec<(String, serde_json::Value)>,
    /// The resolved config; `train.seed` already includes the repeat.
    pub config: TrialConfig,
    /// [`trial_hash`] of `config`.
    pub hash: String,
}
