//! The epoch loop, generic over the burn backend.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::{AutodiffModule, Module};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};

use super::engine::Engine;
use super::optim::AnyOptimizer;
use super::schedule::{RunPosition, learning_rate};
use super::{
    EpochMetrics, EvalMetrics, Outcome, StepMetrics, TrainObserver, TrialJob, checkpoint_path,
};
use crate::data::{AUGMENT_PURPOSE, Batch, ImageSet, Normalization, batches, epoch_order};
use crate::model::DenseNet;
use crate::rng::SplitMix64;
use crate::spec::TrainConfig;

/// Purpose of the dropout-mask stream derived from the trial seed (see `SplitMix64::derived`).
const DROPOUT_PURPOSE: u64 = 0x4452_4f50_4f55_5400; // "DROPOUT\0"

/// Images `[N, C, H, W]` and labels `[N]` on the device; the host buffers move, not copy.
pub(crate) fn batch_tensors<B: Backend>(
    batch: Batch,
    device: &B::Device,
) -> (Tensor<B, 4>, Tensor<B, 1, Int>) {
    let shape = [batch.len, batch.channels, batch.size, batch.size];
    let images = Tensor::from_data(TensorData::new(batch.images, shape), device);
    let labels = Tensor::from_data(TensorData::new(batch.labels, [batch.len]), device);
    (images, labels)
}

/// Mean loss and accuracy of `model` over a whole split, in evaluation mode.
pub(crate) fn evaluate<B: Backend>(
    engine: &mut Engine,
    model: &DenseNet<B>,
    set: &ImageSet,
    norm: &Normalization,
    train: &TrainConfig,
    device: &B::Device,
) -> EvalMetrics {
    let order: Vec<usize> = (0..set.len()).collect();
    let (mut loss_sum, mut correct) = (0.0f64, 0i64);
    for indices in batches(&order, train.batch_size) {
        let batch = set.batch(indices, norm, None);
        let (loss, right) = engine.eval_batch(model, batch, train, device);
        loss_sum += loss;
        correct += right;
    }
    let n = set.len().max(1) as f64;
    EvalMetrics {
        loss: loss_sum / n,
        accuracy: correct as f64 / n,
    }
}

/// A NaN or infinite loss, or a cross-entropy above a thousand times that of uniform guessing
/// (ln classes): logits thousands apart. Behind batch norm a far too large learning rate
/// rarely reaches NaN in f32; it swings the loss between 1e6 and 1e18 instead, and
/// training on from there is training on garbage.
pub(crate) fn diverged(loss: f64, classes: usize) -> bool {
    !loss.is_finite() || loss > 1000.0 * (classes as f64).ln()
}

/// Running sums of train loss and accuracy over a window of steps.
#[derive(Default)]
struct Window {
    loss: f64,
    correct: i64,
    seen: usize,
}

impl Window {
    fn add(&mut self, loss: f64, correct: i64, n: usize) {
        self.loss += loss * n as f64;
        self.correct += correct;
        self.seen += n;
    }
    fn means(&self) -> (f64, f64) {
        let n = self.seen.max(1) as f64;
        (self.loss / n, self.correct as f64 / n)
    }
}

/// Trains one trial to completion (or divergence, or a stop request), reporting through
/// `observer` and checkpointing into `checkpoint_dir` at every epoch end, with `engine`
/// computing the steps (see [`Engine::choose`]).
pub(crate) fn train_on<B: AutodiffBackend>(
    device: B::Device,
    mut engine: Engine,
    job: &TrialJob<'_>,
    observer: &mut dyn TrainObserver,
) -> Result<Outcome> {
    let (config, data, checkpoint_dir) = (job.config, job.data, job.checkpoint_dir);
    let seed = config.train.seed;
    let mut model = DenseNet::<B>::seeded(&config.model, config.data.dataset, seed, &device);
    let mut optim = AnyOptimizer::<DenseNet<B>, B>::new(&config.train.optimizer);
    let first_epoch = job.resume_after_epoch.unwrap_or(0);
    if let Some(epoch) = job.resume_after_epoch {
        (model, optim) = load_checkpoint(
            model,
            optim,
            &checkpoint_path(checkpoint_dir, epoch),
            &device,
        )?;
    }
    let train_cfg = &config.train;
    let n_train = data.train.len();
    let steps_per_epoch = n_train.div_ceil(train_cfg.batch_size);
    let total_steps = (steps_per_epoch * train_cfg.epochs) as f64;
    let base_lr = train_cfg.optimizer.lr();
    std::fs::create_dir_all(checkpoint_dir).with_context(|| {
        format!(
            "cannot create checkpoint folder {}",
            checkpoint_dir.display()
        )
    })?;

    // Shuffles, dropout masks and augmentation derive from (seed, epoch, step), so a resumed
    // run continues exactly where the uninterrupted one would be.
    let mut step: u64 = (first_epoch * steps_per_epoch) as u64;
    for epoch in first_epoch..train_cfg.epochs {
        let epoch_start = Instant::now();
        let mut train_seconds = 0.0;
        let order = epoch_order(n_train, seed, epoch);
        let (mut window, mut whole_epoch) = (Window::default(), Window::default());
        let mut lr = base_lr;
        for (b, indices) in batches(&order, train_cfg.batch_size).enumerate() {
            if observer.stop_requested() {
                return Ok(Outcome::Stopped { epoch: epoch + 1 });
            }
            let step_start = Instant::now();
            let position = RunPosition {
                epoch,
                epochs: train_cfg.epochs,
                progress: step as f64 / total_steps,
            };
            lr = learning_rate(&train_cfg.schedule, base_lr, position);
            let mut augment_rng = config
                .data
                .augment
                .then(|| SplitMix64::derived(seed, &[AUGMENT_PURPOSE, epoch as u64, b as u64]));
            let batch = data.train.batch(indices, &data.norm, augment_rng.as_mut());
            let dropout_rng = SplitMix64::derived(seed, &[DROPOUT_PURPOSE, step]);
            let n = batch.len;
            let result = engine.train_step(&model, batch, dropout_rng, train_cfg, &device);
            let loss_value = result.loss;
            step += 1;
            if diverged(loss_value, config.data.dataset.num_classes()) {
                return Ok(Outcome::Diverged {
                    epoch: epoch + 1,
                    step,
                    loss: loss_value,
                });
            }
            model = optim.step(lr, model, result.grads);
            let correct = result.correct;
            train_seconds += step_start.elapsed().as_secs_f64();
            window.add(loss_value, correct, n);
            whole_epoch.add(loss_value, correct, n);
            if step.is_multiple_of(train_cfg.log_every as u64) {
                let (loss, accuracy) = window.means();
                observer.step(&StepMetrics {
                    epoch: epoch + 1,
                    step,
                    loss,
                    accuracy,
                    lr,
                })?;
                window = Window::default();
            }
        }
        let eval_model = model.valid();
        let test = evaluate(
            &mut engine,
            &eval_model,
            &data.test,
            &data.norm,
            train_cfg,
            &device,
        );
        let val = data
            .val
            .as_ref()
            .map(|v| evaluate(&mut engine, &eval_model, v, &data.norm, train_cfg, &device));
        let checkpoint =
            save_checkpoint(&model, &optim, &checkpoint_path(checkpoint_dir, epoch + 1))?;
        let (train_loss, train_accuracy) = whole_epoch.means();
        observer.epoch(&EpochMetrics {
            epoch: epoch + 1,
            step,
            train_loss,
            train_accuracy,
            val,
            test,
            lr,
            images_per_sec: n_train as f64 / train_seconds.max(1e-9),
            epoch_seconds: epoch_start.elapsed().as_secs_f64(),
            checkpoint,
        })?;
        if epoch + 1 < train_cfg.epochs && observer.halt_after_epoch(epoch + 1)? {
            return Ok(Outcome::Halted { epoch: epoch + 1 });
        }
    }
    Ok(Outcome::Completed)
}

/// Writes `model.mpk` and `optimizer.mpk` into a temporary folder and renames it to `dir`,
/// so that a killed trial never leaves a torn checkpoint.
fn save_checkpoint<B: AutodiffBackend>(
    model: &DenseNet<B>,
    optim: &AnyOptimizer<DenseNet<B>, B>,
    dir: &Path,
) -> Result<PathBuf> {
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)
        .with_context(|| format!("cannot create checkpoint folder {}", partial.display()))?;
    model
        .clone()
        .save_file(partial.join("model"), &recorder)
        .with_context(|| format!("cannot write the model checkpoint in {}", partial.display()))?;
    optim
        .save(&partial.join("optimizer"))
        .with_context(|| format!("cannot write the optimizer state in {}", partial.display()))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&partial, dir)
        .with_context(|| format!("cannot move checkpoint into place at {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

type DenseNetOptimizer<B> = AnyOptimizer<DenseNet<B>, B>;

/// The model and optimizer state saved by [`save_checkpoint`].
fn load_checkpoint<B: AutodiffBackend>(
    model: DenseNet<B>,
    optim: DenseNetOptimizer<B>,
    dir: &Path,
    device: &B::Device,
) -> Result<(DenseNet<B>, DenseNetOptimizer<B>)> {
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    let model = model
        .load_file(dir.join("model"), &recorder, device)
        .with_context(|| format!("cannot read the model checkpoint in {}", dir.display()))?;
    let optim = optim
        .load(&dir.join("optimizer"), device)
        .with_context(|| format!("cannot read the optimizer state in {}", dir.display()))?;
    Ok((model, optim))
}
