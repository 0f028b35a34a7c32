//! Which implementation computes a step: burn's autodiff graph of the model (the reference,
//! and the only one on a GPU), or the CPU executor over the same parameters (the fast path
//! on the CPU). Optimizers, checkpoints and metrics do not depend on the choice.

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor};

use super::trainer::batch_tensors;
use crate::data::Batch;
use crate::model::{CpuExecutor, DenseNet, ForwardContext};
use crate::rng::SplitMix64;
use crate::spec::{TrainConfig, TrialConfig};

/// `DENSENET_LAB_ENGINE=burn` runs burn's graph on the CPU too (to compare the two, or to
/// step around a suspected executor bug).
pub const ENGINE_ENV: &str = "DENSENET_LAB_ENGINE";

/// Loss and accuracy count of one training step, with the gradients for the optimizer.
pub(crate) struct StepResult {
    pub loss: f64,
    pub correct: i64,
    pub grads: GradientsParams,
}

pub(crate) enum Engine {
    /// burn's ops; `cpu_backend` picks the CPU recipe of [`ForwardContext`].
    Burn {
        cpu_backend: bool,
    },
    Cpu(Box<CpuExecutor>),
}

impl Engine {
    /// The CPU executor on the CPU backend when it computes the trial's precision and
    /// `DENSENET_LAB_ENGINE` does not say `burn`; burn's graph otherwise.
    pub fn choose(cpu_backend: bool, config: &TrialConfig) -> Self {
        let forced_burn = std::env::var(ENGINE_ENV).is_ok_and(|v| v == "burn");
        if cpu_backend && !forced_burn && CpuExecutor::supports(config.train.precision) {
            Engine::Cpu(Box::new(CpuExecutor::new(
                &config.model,
                config.data.dataset,
                config.train.precision,
            )))
        } else {
            Engine::Burn { cpu_backend }
        }
    }

    /// What `bench` reports as the path that ran.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Burn { .. } => "burn",
            Engine::Cpu(_) => "cpu-executor",
        }
    }

    /// Forward and backward of a training batch; `dropout` draws the masks.
    pub fn train_step<B: AutodiffBackend>(
        &mut self,
        model: &DenseNet<B>,
        batch: Batch,
        dropout: SplitMix64,
        train: &TrainConfig,
        device: &B::Device,
    ) -> StepResult {
        match self {
            Engine::Cpu(executor) => {
                let mut dropout = dropout;
                let step =
                    executor.train_step(model, &batch.images, &batch.labels, &mut dropout, device);
                StepResult {
                    loss: step.loss,
                    correct: step.correct,
                    grads: step.grads,
                }
            }
            Engine::Burn { cpu_backend } => {
                let mut ctx = if *cpu_backend {
                    ForwardContext::cpu_training(dropout, train.precision)
                } else {
                    // The device's generator, seeded from the step's stream: the same trial
                    // draws the same masks at the same step, so a resumed run continues as
                    // the uninterrupted one did.
                    let mut dropout = dropout;
                    B::seed(device, dropout.next_u64());
                    ForwardContext::gpu_training(train.precision)
                };
                let (images, labels) = batch_tensors::<B>(batch, device);
                let logits = model.forward(images, &mut ctx);
                let loss =
                    CrossEntropyLoss::new(None, device).forward(logits.clone(), labels.clone());
                let loss_value: f64 = loss.clone().into_scalar().elem();
                let grads = GradientsParams::from_grads(loss.backward(), model);
                StepResult {
                    loss: loss_value,
                    correct: count_correct(logits.detach(), labels),
                    grads,
                }
            }
        }
    }

    /// Summed loss and accuracy count of an evaluation batch (running statistics, no dropout).
    pub fn eval_batch<B: Backend>(
        &mut self,
        model: &DenseNet<B>,
        batch: Batch,
        train: &TrainConfig,
        device: &B::Device,
    ) -> (f64, i64) {
        match self {
            Engine::Cpu(executor) => {
                let out = executor.eval_batch(model, &batch.images, &batch.labels);
                (out.loss_sum, out.correct)
            }
            Engine::Burn { .. } => {
                let n = batch.len;
                let (images, labels) = batch_tensors::<B>(batch, device);
                let logits = model.forward(images, &mut ForwardContext::eval(train.precision));
                let loss: f64 = CrossEntropyLoss::new(None, device)
                    .forward(logits.clone(), labels.clone())
                    .into_scalar()
                    .elem();
                (loss * n as f64, count_correct(logits, labels))
            }
        }
    }
}

fn count_correct<B: Backend>(logits: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> i64 {
    let predicted = logits.argmax(1).flatten::<1>(0, 1);
    predicted.equal(labels).int().sum().into_scalar().elem()
}
