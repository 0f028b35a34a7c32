//! Training end to end on small synthetic tasks: it learns, it is deterministic, it stops and
//! reports divergence.

use anyhow::Result;
use tempfile::TempDir;

use std::path::Path;

use super::{
    ComputeDevice, EpochMetrics, Outcome, StepMetrics, TrainObserver, TrialJob, checkpoint_path,
    train_trial,
};
use crate::data::{ImageSet, Normalization, Splits};
use crate::rng::SplitMix64;
use crate::spec::{
    DataConfig, Dataset, ModelConfig, Optimizer, Precision, Schedule, Stem, TrainConfig,
    Transition, TrialConfig,
};

/// 28x28 images whose class is where a bright 6x6 square sits (10 places), over noise.
fn squares(n: usize, seed: u64) -> ImageSet {
    let mut rng = SplitMix64::new(seed);
    let mut pixels = Vec::with_capacity(n * 784);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let class = rng.below(10);
        let (top, left) = (2 + (class / 5) * 13, 1 + (class % 5) * 5);
        for y in 0..28 {
            for x in 0..28 {
                let inside = (top..top + 6).contains(&y) && (left..left + 6).contains(&x);
                let noise = rng.below(80) as u8;
                pixels.push(if inside { 175 + noise } else { noise });
            }
        }
        labels.push(class as u8);
    }
    ImageSet::new(pixels, labels, 1, 28).expect("consistent sizes")
}

pub(super) fn splits(train: usize, test: usize) -> Splits {
    let train = squares(train, 1);
    let norm = Normalization::from_images(&train);
    Splits {
        train,
        val: None,
        test: squares(test, 2),
        norm,
    }
}

pub(super) fn trial(epochs: usize, lr: f64, dropout: f64) -> TrialConfig {
    TrialConfig {
        data: DataConfig {
            dataset: Dataset::Mnist,
            augment: false,
            validation_split: 0.0,
            train_samples: None,
            test_samples: None,
        },
        model: ModelConfig {
            growth_rate: 4,
            blocks: vec![2, 2],
            bottleneck: true,
            transition: Transition::Growth,
            compression: 0.5,
            stem: Stem::Imagenet,
            stem_pool: None,
            stem_channels: None,
            dropout,
            init: Default::default(),
        },
        train: TrainConfig {
            epochs,
            batch_size: 50,
            optimizer: Optimizer::Adam {
                lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            schedule: Schedule::Constant,
            seed: 3,
            log_every: 4,
            precision: Precision::F32,
        },
    }
}

#[derive(Default)]
pub(super) struct Recorder {
    pub steps: Vec<StepMetrics>,
    pub epochs: Vec<EpochMetrics>,
    pub stop_after_steps: Option<usize>,
    pub stop_checks: usize,
    /// Ends training at the end of this epoch ([`Outcome::Halted`]).
    pub halt_after_epoch: Option<usize>,
}

impl TrainObserver for Recorder {
    fn step(&mut self, m: &StepMetrics) -> Result<()> {
        self.steps.push(m.clone());
        Ok(())
    }
    fn epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        self.epochs.push(m.clone());
        Ok(())
    }
    fn stop_requested(&mut self) -> bool {
        self.stop_checks += 1;
        self.stop_after_steps.is_some_and(|n| self.stop_checks > n)
    }
    fn halt_after_epoch(&mut self, epoch: usize) -> Result<bool> {
        Ok(self.halt_after_epoch == Some(epoch))
    }
}

pub(super) fn job<'a>(
    config: &'a TrialConfig,
    data: &'a Splits,
    dir: &'a Path,
    resume: Option<usize>,
) -> TrialJob<'a> {
    TrialJob {
        config,
        data,
        device: ComputeDevice::Cpu,
        gpu: Default::default(),
        checkpoint_dir: dir,
        resume_after_epoch: resume,
    }
}

fn train(config: &TrialConfig, data: &Splits, observer: &mut Recorder) -> (Outcome, TempDir) {
    train_on_device(ComputeDevice::Cpu, config, data, observer)
}

/// Trains from scratch on `device`, checkpointing into a fresh temp dir.
pub(super) fn train_on_device(
    device: ComputeDevice,
    config: &TrialConfig,
    data: &Splits,
    observer: &mut Recorder,
) -> (Outcome, TempDir) {
    let dir = TempDir::new().unwrap();
    let job = TrialJob {
        device,
        ..job(config, data, dir.path(), None)
    };
    let outcome = train_trial(&job, observer).unwrap();
    (outcome, dir)
}

/// The learning tests' recipe: 4 epochs of 40 steps on 1,000 synthetic images.
pub(super) fn learnable(precision: Precision) -> (TrialConfig, Splits) {
    let mut config = trial(4, 3e-3, 0.1);
    config.train.batch_size = 25;
    config.model.growth_rate = 8;
    config.train.precision = precision;
    (config, splits(1000, 300))
}

#[test]
fn learns_a_synthetic_task_to_over_95_percent_test_accuracy() {
    let (config, data) = learnable(Precision::F32);
    let mut rec = Recorder::default();
    let (outcome, dir) = train(&config, &data, &mut rec);
    assert_eq!(outcome, Outcome::Completed);
    let last = rec.epochs.last().unwrap();
    assert!(
        last.test.accuracy > 0.95,
        "test accuracy {:?}",
        rec.epochs
            .iter()
            .map(|e| e.test.accuracy)
            .collect::<Vec<_>>()
    );
    assert!(last.train_loss < rec.steps[0].loss, "loss did not fall");
    // 40 steps an epoch, logged every 4 steps; a checkpoint after every epoch.
    assert_eq!(rec.steps.len(), 40);
    assert_eq!(
        rec.epochs.iter().map(|e| e.step).collect::<Vec<_>>(),
        [40, 80, 120, 160]
    );
    let last_checkpoint = checkpoint_path(dir.path(), 4);
    assert!(
        last_checkpoint.join("model.mpk").exists()
            && last_checkpoint.join("optimizer.mpk").exists()
    );
    assert_eq!(last.checkpoint, last_checkpoint);
    assert!(last.images_per_sec > 0.0 && last.epoch_seconds > 0.0);
}

#[test]
fn learns_the_synthetic_task_with_bf16_convolutions_too() {
    // The autocast path end to end: f32 master weights, Adam state and batch norm, bf16
    // convolutions (on the CPU backend, emulated by rounding; the CLI offers it on CUDA only).
    let (config, data) = learnable(Precision::Bf16);
    let mut rec = Recorder::default();
    let (outcome, _dir) = train(&config, &data, &mut rec);
    assert_eq!(outcome, Outcome::Completed);
    let accuracies: Vec<f64> = rec.epochs.iter().map(|e| e.test.accuracy).collect();
    assert!(accuracies[3] > 0.95, "test accuracy {accuracies:?}");
    assert!(
        rec.epochs[3].train_loss < rec.steps[0].loss,
        "loss did not fall"
    );
}

#[test]
fn the_same_seed_gives_the_same_metrics() {
    let data = splits(200, 100);
    let config = trial(2, 1e-3, 0.2);
    let (mut a, mut b) = (Recorder::default(), Recorder::default());
    train(&config, &data, &mut a);
    train(&config, &data, &mut b);
    let losses = |r: &Recorder| {
        r.steps
            .iter()
            .map(|s| (s.loss, s.accuracy))
            .collect::<Vec<_>>()
    };
    let tests = |r: &Recorder| {
        r.epochs
            .iter()
            .map(|e| (e.train_loss, e.test.loss, e.test.accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(tests(&a), tests(&b));
    // A different seed takes a different path.
    let mut other = config.clone();
    other.train.seed = 4;
    let mut c = Recorder::default();
    train(&other, &data, &mut c);
    assert_ne!(losses(&a), losses(&c));
}

#[test]
fn a_huge_learning_rate_is_reported_as_divergence() {
    let data = splits(200, 50);
    let mut config = trial(3, 1e6, 0.0);
    config.train.optimizer = Optimizer::Sgd {
        lr: 1e6,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
    };
    let mut rec = Recorder::default();
    config.train.log_every = 1;
    let (outcome, _dir) = train(&config, &data, &mut rec);
    // The first step (at the initial weights) is sane; the blow-up right after is caught.
    assert!(
        matches!(outcome, Outcome::Diverged { step: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(rec.steps.len(), 1);
}

#[test]
fn a_stop_request_ends_the_trial_at_the_next_step() {
    let data = splits(200, 50);
    let mut rec = Recorder {
        stop_after_steps: Some(5),
        ..Default::default()
    };
    let (outcome, _dir) = train(&trial(3, 1e-3, 0.0), &data, &mut rec);
    assert_eq!(outcome, Outcome::Stopped { epoch: 2 });
    assert_eq!(rec.epochs.len(), 1);
}

#[test]
fn a_run_resumed_from_a_checkpoint_logs_what_the_uninterrupted_run_logs() {
    let data = splits(200, 100);
    let config = trial(3, 2e-3, 0.2);
    let mut whole = Recorder::default();
    train(&config, &data, &mut whole);

    // Stop during epoch 2 (4 steps an epoch), then resume from the checkpoint of epoch 1.
    let dir = TempDir::new().unwrap();
    let mut first = Recorder {
        stop_after_steps: Some(6),
        ..Default::default()
    };
    let outcome = train_trial(&job(&config, &data, dir.path(), None), &mut first).unwrap();
    assert_eq!(outcome, Outcome::Stopped { epoch: 2 });
    let mut rest = Recorder::default();
    let outcome = train_trial(&job(&config, &data, dir.path(), Some(1)), &mut rest).unwrap();
    assert_eq!(outcome, Outcome::Completed);

    let epochs = |r: &[EpochMetrics]| {
        r.iter()
            .map(|e| {
                (
                    e.epoch,
                    e.step,
                    e.train_loss,
                    e.train_accuracy,
                    e.test.loss,
                    e.test.accuracy,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(epochs(&first.epochs), epochs(&whole.epochs[..1]));
    assert_eq!(epochs(&rest.epochs), epochs(&whole.epochs[1..]));
    let steps = |r: &[StepMetrics]| {
        r.iter()
            .map(|s| (s.step, s.loss, s.accuracy, s.lr))
            .collect::<Vec<_>>()
    };
    assert_eq!(steps(&rest.steps), steps(&whole.steps[1..]));
}
