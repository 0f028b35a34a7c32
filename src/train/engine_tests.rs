//! The two engines side by side through the optimizers and the checkpoints: a few steps of
//! Adam and of SGD (Nesterov, weight decay) agree, and a checkpoint written by one engine
//! resumes in the other.

use tempfile::TempDir;

use super::engine::Engine;
use super::optim::AnyOptimizer;
use super::tests::{Recorder, job, splits, trial};
use super::trainer::train_on;
use super::{EpochMetrics, Outcome, backends::CpuTrain};
use crate::data::batches;
use crate::model::DenseNet;
use crate::rng::SplitMix64;
use crate::spec::{Optimizer, TrialConfig};

fn values(model: &DenseNet<CpuTrain>) -> Vec<f32> {
    let mut out = model
        .stem
        .weight
        .val()
        .into_data()
        .into_vec::<f32>()
        .unwrap();
    out.extend(
        model
            .classifier
            .weight
            .val()
            .into_data()
            .into_vec::<f32>()
            .unwrap(),
    );
    out
}

/// Losses of `steps` steps with `engine`, and the stem and classifier weights after them.
fn run_steps(config: &TrialConfig, mut engine: Engine, steps: usize) -> (Vec<f64>, Vec<f32>) {
    let device = Default::default();
    let data = splits(200, 10);
    let mut model = DenseNet::<CpuTrain>::seeded(&config.model, config.data.dataset, 7, &device);
    let mut optim = AnyOptimizer::<DenseNet<CpuTrain>, CpuTrain>::new(&config.train.optimizer);
    let order: Vec<usize> = (0..data.train.len()).collect();
    let mut losses = Vec::new();
    for (step, indices) in batches(&order, config.train.batch_size)
        .take(steps)
        .enumerate()
    {
        let batch = data.train.batch(indices, &data.norm, None);
        let dropout = SplitMix64::new(100 + step as u64);
        let result = engine.train_step(&model, batch, dropout, &config.train, &device);
        losses.push(result.loss);
        model = optim.step(config.train.optimizer.lr(), model, result.grads);
    }
    (losses, values(&model))
}

#[test]
fn a_few_steps_of_adam_and_of_sgd_agree_between_the_engines() {
    let adam = trial(1, 1e-3, 0.2);
    let mut sgd = trial(1, 0.05, 0.2);
    sgd.train.optimizer = Optimizer::Sgd {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-4,
    };
    for (name, config) in [("adam", adam), ("sgd", sgd)] {
        let executor = Engine::choose(true, &config);
        assert_eq!(executor.name(), "cpu-executor");
        let (fast_losses, fast_weights) = run_steps(&config, executor, 4);
        let (ref_losses, ref_weights) = run_steps(&config, Engine::Burn { cpu_backend: true }, 4);
        for (step, (a, b)) in fast_losses.iter().zip(&ref_losses).enumerate() {
            assert!(
                ((a - b) / b).abs() < 1e-4,
                "{name}: loss of step {step}: {a} against {b}"
            );
        }
        // Adam divides by the gradient's running magnitude, so a weight whose gradient is
        // float noise may take a different step of up to lr; SGD's steps are linear in it.
        let tolerance = match name {
            "adam" => 4.0 * 2.0 * 1e-3,
            _ => 1e-4,
        };
        let worst = fast_weights
            .iter()
            .zip(&ref_weights)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= tolerance,
            "{name}: weights differ by {worst:e} after 4 steps"
        );
        assert_ne!(
            fast_weights,
            values_before(&config),
            "{name}: the steps moved the weights"
        );
    }
}

fn values_before(config: &TrialConfig) -> Vec<f32> {
    values(&DenseNet::<CpuTrain>::seeded(
        &config.model,
        config.data.dataset,
        7,
        &Default::default(),
    ))
}

fn train_with(
    engine: Engine,
    config: &TrialConfig,
    dir: &TempDir,
    resume: Option<usize>,
    rec: &mut Recorder,
) -> Outcome {
    let data = splits(200, 100);
    train_on::<CpuTrain>(
        Default::default(),
        engine,
        &job(config, &data, dir.path(), resume),
        rec,
    )
    .unwrap()
}

#[test]
fn a_checkpoint_written_by_one_engine_resumes_in_the_other() {
    let config = trial(2, 1e-2, 0.2);
    let test_loss = |e: &[EpochMetrics]| e.iter().map(|m| m.test.loss).collect::<Vec<_>>();
    for (first, second) in [(true, false), (false, true)] {
        let engine = |executor: bool| {
            if executor {
                Engine::choose(true, &config)
            } else {
                Engine::Burn { cpu_backend: true }
            }
        };
        let whole_dir = TempDir::new().unwrap();
        let mut whole = Recorder::default();
        train_with(engine(second), &config, &whole_dir, None, &mut whole);

        let dir = TempDir::new().unwrap();
        let mut part = Recorder {
            stop_after_steps: Some(4),
            ..Default::default()
        };
        assert_eq!(
            train_with(engine(first), &config, &dir, None, &mut part),
            Outcome::Stopped { epoch: 2 }
        );
        let mut rest = Recorder::default();
        assert_eq!(
            train_with(engine(second), &config, &dir, Some(1), &mut rest),
            Outcome::Completed
        );
        assert_eq!(rest.epochs.len(), 1);
        assert_eq!(rest.epochs[0].epoch, 2);
        // The two engines agree to float summation order, so the resumed run lands where the
        // uninterrupted one does, to well within what an epoch of training changes.
        let (resumed, straight) = (test_loss(&rest.epochs)[0], test_loss(&whole.epochs)[1]);
        assert!(
            ((resumed - straight) / straight).abs() < 1e-2,
            "test loss after resuming {resumed} against {straight}"
        );
        assert!(
            (test_loss(&whole.epochs)[0] - straight).abs() > 1e-2 * straight,
            "epoch 2 changes the test loss: {:?}",
            test_loss(&whole.epochs)
        );
    }
}
