//! Training a trial: optimizers, schedules, the epoch loop, evaluation, checkpoints and the
//! `bench` measurement. With `model`, the only place that names burn.

mod bench;
mod device;
mod optim;
pub mod schedule;
mod trainer;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use bench::{BenchReport, bench};
pub use device::ComputeDevice;

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
}

/// Receives a trial's metrics as they are measured (the store writer, a test's recorder).
pub trait TrainObserver {
    fn step(&mut self, metrics: &StepMetrics) -> Result<()>;
    fn epoch(&mut self, metrics: &EpochMetrics) -> Result<()>;
    /// Checked before every step: a cooperative stop.
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// Trains `config` on `data` on `device`, checkpointing into `checkpoint_dir`.
pub fn train_trial(
    config: &TrialConfig,
    data: &Splits,
    device: ComputeDevice,
    checkpoint_dir: &Path,
    observer: &mut dyn TrainObserver,
) -> Result<Outcome> {
    match device {
        ComputeDevice::Cpu => trainer::train_on::<backends::CpuTrain>(
            Default::default(),
            true,
            config,
            data,
            checkpoint_dir,
            observer,
        ),
        ComputeDevice::Cuda(index) => {
            let device = backends::cuda_device(index)?;
            backends::train_cuda(device, config, data, checkpoint_dir, observer)
        }
    }
}

/// The concrete backends; CUDA only with the `cuda` feature.
mod backends {
    use super::*;
    pub type CpuTrain = burn::backend::Autodiff<burn::backend::Flex>;

    #[cfg(feature = "cuda")]
    pub fn cuda_device(index: usize) -> Result<burn::backend::cuda::CudaDevice> {
        Ok(burn::backend::cuda::CudaDevice::new(index))
    }

    #[cfg(feature = "cuda")]
    pub fn train_cuda(
        device: burn::backend::cuda::CudaDevice,
        config: &TrialConfig,
        data: &Splits,
        checkpoint_dir: &Path,
        observer: &mut dyn TrainObserver,
    ) -> Result<Outcome> {
        super::trainer::train_on::<burn::backend::Autodiff<burn::backend::Cuda>>(
            device,
            false,
            config,
            data,
            checkpoint_dir,
            observer,
        )
    }

    #[cfg(not(feature = "cuda"))]
    pub struct NoCuda;

    #[cfg(not(feature = "cuda"))]
    pub fn cuda_device(index: usize) -> Result<NoCuda> {
        anyhow::bail!(
            "device cuda:{index}: this build has no CUDA support; rebuild with `cargo build --release --features cuda`"
        )
    }

    #[cfg(not(feature = "cuda"))]
    pub fn train_cuda(
        _: NoCuda,
        _: &TrialConfig,
        _: &Splits,
        _: &Path,
        _: &mut dyn TrainObserver,
    ) -> Result<Outcome> {
        unreachable!("cuda_device fails first without the cuda feature")
    }
}

#[cfg(test)]
mod tests;
