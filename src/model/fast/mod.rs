//! DenseNet's forward and backward passes written for the CPU, over the burn model's own
//! parameters. burn 0.21's CPU backend spends most of a DenseNet step in generic strided
//! loops, copies of ever-growing concatenations and per-op overhead
//! (`docs/burn-0.21-cpu.md`); this executor keeps every activation channel-major,
//! appends each layer's channels to one buffer per dense block, runs every convolution as
//! one GEMM over the whole batch and recomputes BN-ReLU in the backward pass instead of
//! storing it. The burn model ([`super::DenseNet`]) stays the reference implementation and
//! the GPU path; the tests hold the two to the same logits, loss and gradients.

mod amx;
mod bf16;
#[cfg(test)]
mod bf16_tests;
mod bridge;
mod conv;
#[cfg(test)]
mod conv_tests;
mod gemm;
mod net;
mod norm;
mod plan;
mod simd;
#[cfg(test)]
mod tests;
mod wide;

use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};

use super::DenseNet;
use crate::rng::SplitMix64;
use crate::spec::{Dataset, ModelConfig, Precision};
pub use bf16::Bf16Kernels;
use gemm::Arith;
use net::{Mode, Passes};
use plan::{HostParams, Plan};

/// Loss, accuracy count and gradients of one training step.
pub struct TrainStep {
    /// Mean cross-entropy over the batch.
    pub loss: f64,
    pub correct: i64,
    /// `[N, classes]`, training mode.
    pub logits: Vec<f32>,
    pub grads: GradientsParams,
}

/// Summed loss and accuracy count of a batch in evaluation mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalBatch {
    pub loss_sum: f64,
    pub correct: i64,
}

/// The CPU executor of one network shape; it keeps its buffers between steps.
pub struct CpuExecutor {
    passes: Passes,
    params: HostParams,
}

impl CpuExecutor {
    /// Whether the executor computes what `precision` asks for: f32, and bf16 on the
    /// kernels [`Bf16Kernels::detect`] finds (natively or emulated, so on any CPU).
    pub fn supports(precision: Precision) -> bool {
        matches!(precision, Precision::F32 | Precision::Bf16)
    }

    pub fn new(model: &ModelConfig, dataset: Dataset, precision: Precision) -> Self {
        let plan = Plan::new(model, dataset);
        let params = HostParams::zeros(&plan, true);
        let arith = match precision {
            Precision::F32 => Arith::F32,
            Precision::Bf16 => Arith::Bf16(Bf16Kernels::detect()),
        };
        Self {
            passes: Passes::new(plan, arith),
            params,
        }
    }

    /// Forward and backward of `model` on a batch (`images` `[N, C, H, W]`, `labels` `[N]`),
    /// in training mode: batch statistics (the model's running statistics move as its own
    /// forward pass would move them) and dropout masks drawn from `dropout` in the order the
    /// burn model draws them.
    pub fn train_step<B: AutodiffBackend>(
        &mut self,
        model: &DenseNet<B>,
        images: &[f32],
        labels: &[i64],
        dropout: &mut SplitMix64,
        device: &B::Device,
    ) -> TrainStep {
        bridge::free_dropped_graph_entries::<B>(device);
        bridge::read_params(model, &mut self.params);
        let (n, classes) = (labels.len(), self.passes.plan.classes);
        let logits = self
            .passes
            .forward(&mut self.params, images, n, Mode::Train(dropout));
        let (loss, correct, grad_logits) = cross_entropy(logits, labels, classes);
        let logits = logits.to_vec();
        bridge::write_running(model, &mut self.params, device);
        let mut grads = HostParams::zeros(&self.passes.plan, false);
        self.passes.backward(&self.params, &grad_logits, &mut grads);
        TrainStep {
            loss,
            correct,
            logits,
            grads: bridge::gradients(model, &mut grads, device),
        }
    }

    /// Evaluation mode (running statistics, no dropout) on one batch.
    pub fn eval_batch<B: Backend>(
        &mut self,
        model: &DenseNet<B>,
        images: &[f32],
        labels: &[i64],
    ) -> EvalBatch {
        bridge::read_params(model, &mut self.params);
        let classes = self.passes.plan.classes;
        let logits = self
            .passes
            .forward(&mut self.params, images, labels.len(), Mode::Eval);
        let (loss, correct, _) = cross_entropy(logits, labels, classes);
        EvalBatch {
            loss_sum: loss * labels.len() as f64,
            correct,
        }
    }

    /// Logits `[N, classes]` in evaluation mode (for tests against the burn model).
    pub fn eval_logits<B: Backend>(
        &mut self,
        model: &DenseNet<B>,
        images: &[f32],
        n: usize,
    ) -> Vec<f32> {
        bridge::read_params(model, &mut self.params);
        self.passes
            .forward(&mut self.params, images, n, Mode::Eval)
            .to_vec()
    }
}

/// Mean cross-entropy of `logits` (`[N, classes]`), the number of rows whose first maximum
/// is the label, and the loss's gradient with respect to the logits.
fn cross_entropy(logits: &[f32], labels: &[i64], classes: usize) -> (f64, i64, Vec<f32>) {
    let n = labels.len();
    let mut grad = vec![0.0f32; n * classes];
    let (mut loss, mut correct) = (0.0f64, 0i64);
    for ((row, g), &label) in logits
        .chunks(classes)
        .zip(grad.chunks_mut(classes))
        .zip(labels)
    {
        let label = label as usize;
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
        loss += sum.ln() + (max - row[label]) as f64;
        let first_max = row.iter().position(|&v| v == max).unwrap_or(0);
        correct += i64::from(first_max == label);
        for (gi, &v) in g.iter_mut().zip(row) {
            *gi = (((v - max) as f64).exp() / sum / n as f64) as f32;
        }
        g[label] -= 1.0 / n as f32;
    }
    (loss / n.max(1) as f64, correct, grad)
}
