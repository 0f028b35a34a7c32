//! Training a trial: optimizers, schedules, the epoch loop, evaluation, checkpoints and the
//! `bench` measurement. With `model`, the only place that names burn.

mod backends;
mod bench;
mod engine;
mod optim;
pub mod schedule;
mod trainer;

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;

use backends::BackendTask;

/// Devices are named below the engine (`devices`), so that experiment files can be checked
/// without it.
pub use crate::devices::ComputeDevice;
pub use crate::model::Bf16Kernels;
pub use backends::{
    AUTOTUNE_BUILT, GpuOptions, PrecisionSupport, TUNE_CACHE_DIR, TUNE_CACHE_ENV,
    precision_support, tune_cache_for, use_tune_cache,
};
pub use bench::{BenchReport, bench};
pub use engine::ENGINE_ENV;

use crate::data::Splits;
use crate::spec::TrialConfig;

/// Train loss and accuracy averaged over the last `log_every` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMetrics {
    /// 1-based epoch the step belongs to.
    pub epoch: usize,
    /// Global step count after this step (1-based).
    pub step: u64,
    pub loss: f64,
    pub accuracy: f64,
    pub lr: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalMetrics {
    pub loss: f64,
    pub accuracy: f64,
}

/// Everything measured at the end of an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub step: u64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val: Option<EvalMetrics>,
    pub test: EvalMetrics,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Training throughput (forward, backward, optimizer step; not evaluation).
    pub images_per_sec: f64,
    /// Wall time of the whole epoch, evaluation and checkpoint included.
    pub epoch_seconds: f64,
    pub checkpoint: PathBuf,
}

/// How a trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed,
    /// The loss became NaN or infinite at `step`.
    Diverged {
        epoch: usize,
        step: u64,
        loss: f64,
    },
    /// The observer asked to stop; `epoch` is the one that was running.
    Stopped {
        epoch: usize,
    },
    /// The observer ended training at the end of `epoch`, before the last (an adaptive sweep
    /// pausing or pruning the trial); its checkpoint is that epoch's.
    Halted {
        epoch: usize,
    },
}

/// Receives a trial's metrics as they are measured (the store writer, a test's recorder).
pub trait TrainObserver {
    fn step(&mut self, metrics: &StepMetrics) -> Result<()>;
    fn epoch(&mut self, metrics: &EpochMetrics) -> Result<()>;
    /// Checked before every step: a cooperative stop.
    fn stop_requested(&mut self) -> bool {
        false
    }
    /// Asked after every epoch but the last, once its metrics and checkpoint are recorded:
    /// `true` ends training there.
    fn halt_after_epoch(&mut self, _epoch: usize) -> Result<bool> {
        Ok(false)
    }
}

/// One trial to train: what, on what, and where its checkpoints live.
#[derive(Debug, Clone, Copy)]
pub struct TrialJob<'a> {
    pub config: &'a TrialConfig,
    pub data: &'a Splits,
    pub device: ComputeDevice,
    /// How a GPU backend runs (fusion); ignored on the CPU.
    pub gpu: GpuOptions,
    /// Checkpoints go to `<checkpoint_dir>/epoch-NNNN/` (see [`checkpoint_path`]).
    pub checkpoint_dir: &'a Path,
    /// Continue after this many finished epochs from their checkpoint (None: from scratch).
    pub resume_after_epoch: Option<usize>,
}

/// The folder holding the model and optimizer state saved at the end of `epoch`.
pub fn checkpoint_path(checkpoint_dir: &Path, epoch: usize) -> PathBuf {
    checkpoint_dir.join(format!("epoch-{epoch:04}"))
}

/// Trains a trial to its end, a stop request or divergence, reporting to `observer`.
pub fn train_trial(job: &TrialJob<'_>, observer: &mut dyn TrainObserver) -> Result<Outcome> {
    backends::on_device(job.device, job.gpu, TrainTask { job, observer })
}

/// [`train_trial`] on one backend: the CPU executor where it can, burn's graph elsewhere.
struct TrainTask<'j, 'o> {
    job: &'j TrialJob<'j>,
    observer: &'o mut dyn TrainObserver,
}

impl BackendTask for TrainTask<'_, '_> {
    type Output = Outcome;
    fn run<B: AutodiffBackend>(self, device: B::Device, cpu_backend: bool) -> Result<Outcome> {
        let precision = self.job.config.train.precision;
        if !backends::computes_in::<B>(&device, precision) {
            anyhow::bail!(
                "device {}: train.precision \"{}\" is not computed there; use \"f32\"",
                self.job.device,
                precision.name()
            );
        }
        let engine = engine::Engine::choose(cpu_backend, self.job.config);
        trainer::train_on::<B>(device, engine, self.job, self.observer)
    }
}

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod torch_steps_tests;
