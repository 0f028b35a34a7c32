//! Rough memory and time estimates for `check`, from the configuration alone.

use crate::model::ArchSummary;
use crate::spec::{Optimizer, TrialConfig};

/// Effective training throughput of the CPU backend, in forward GFLOP/s: forward FLOPs per
/// image (as `model::arch` counts them) times training images per second. Measured with
/// `densenet-lab bench FILE --batch 64` on the project's 2-vCPU machine: seed-mnist 4.0 MFLOPs
/// x 241 images/s = 0.96; k=12, 4-4-4 at 28x28, 60 MFLOPs x 35 images/s = 2.1. Small models
/// are dominated by per-op overhead, large ones by convolutions: the estimate is good to
/// about a factor of two.
pub const CPU_TRAIN_GFLOPS: f64 = 1.5;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Weights, gradients, optimizer state and one batch of saved activations (f32).
    pub memory_mib: f64,
    /// Training time on the CPU, all epochs, evaluation excluded.
    pub cpu_minutes: f64,
}

pub fn estimate(config: &TrialConfig, arch: &ArchSummary) -> Estimate {
    let optimizer_copies = match config.train.optimizer {
        Optimizer::Adam { .. } => 2.0,
        Optimizer::Sgd { momentum, .. } if momentum > 0.0 => 1.0,
        Optimizer::Sgd { .. } => 0.0,
    };
    let param_bytes = arch.params as f64 * 4.0 * (2.0 + optimizer_copies);
    let activation_bytes = arch.activations_per_image as f64 * 4.0 * config.train.batch_size as f64;
    let images = config
        .data
        .train_samples
        .unwrap_or(config.data.dataset.train_images()) as f64
        * (1.0 - config.data.validation_split);
    let flops = arch.flops as f64 * images * config.train.epochs as f64;
    Estimate {
        memory_mib: (param_bytes + activation_bytes) / (1024.0 * 1024.0),
        cpu_minutes: flops / (CPU_TRAIN_GFLOPS * 1e9) / 60.0,
    }
}
