//! The GPU recipe through a real cubecl runtime: burn's wgpu backend on adapter `wgpu:0` (in
//! CI Mesa's software Vulkan driver, llvmpipe) against burn's CPU backend. Each check here is
//! one the CUDA backend would face first on a GPU machine: the same kernels, another runtime.
//! Without an adapter these tests skip visibly, or fail where `DENSENET_LAB_REQUIRE` says
//! `wgpu`.

use burn::backend::Flex;
use burn::backend::wgpu::WgpuDevice;
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use std::sync::{Mutex, MutexGuard};

use tempfile::TempDir;

use super::CpuTrain;
use super::wgpu::{WgpuPlain as Wgpu, WgpuTrain};
use crate::model::{DenseNet, ForwardContext};
use crate::rng::SplitMix64;
use crate::spec::{Dataset, ModelConfig, Precision, Stem, Transition, TrialConfig};
use crate::train::tests::{Recorder, job, learnable, splits, train_on_device, trial};
use crate::train::{ComputeDevice, EpochMetrics, Outcome, TrialJob, train_trial};

/// burn's device for `wgpu:0` and the lock that keeps these tests one at a time, or `None`
/// after the visible skip (or failure, if promised). burn-cubecl's random generator is one
/// per process, and training seeds it at every step: two tests training at once would draw
/// each other's dropout masks (a trial has its process to itself).
/// Autotune results go to a folder of the system's temporary directory, not the checkout's
/// `target/` where cubecl would put them from a test's working directory.
pub(super) fn adapter(test: &str) -> Option<(WgpuDevice, MutexGuard<'static, ()>)> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    super::use_tune_cache(&std::env::temp_dir().join("densenet-lab-tests"));
    super::tuning::configure_gpu_runtime();
    match super::wgpu::device(0) {
        Ok(device) => Some((device, guard)),
        Err(e) => {
            crate::preconditions::missing(test, "wgpu", &format!("{e:#}"));
            None
        }
    }
}

/// The model tests' config (no stem pool override, no dropout, default init).
pub(super) fn model(
    k: usize,
    blocks: &[usize],
    stem: Stem,
    bottleneck: bool,
    transition: Transition,
) -> ModelConfig {
    crate::model::tests::config(k, blocks, stem, None, bottleneck, transition)
}

/// Both stems (the 7x7/2 one with its max pool on 28x28, the 3x3 one on 32x32), bottleneck
/// and basic layers, growth and compression transitions.
fn variants() -> Vec<(&'static str, ModelConfig, Dataset)> {
    vec![
        (
            "imagenet stem, bottleneck, growth transition",
            model(4, &[2, 2], Stem::Imagenet, true, Transition::Growth),
            Dataset::Mnist,
        ),
        (
            "imagenet stem, basic, compression transition",
            model(6, &[2, 3], Stem::Imagenet, false, Transition::Compression),
            Dataset::Mnist,
        ),
        (
            "cifar stem, bottleneck, compression transition",
            model(4, &[2, 2, 2], Stem::Cifar, true, Transition::Compression),
            Dataset::Cifar10,
        ),
        (
            "cifar stem, basic, growth transition",
            model(5, &[3, 2], Stem::Cifar, false, Transition::Growth),
            Dataset::Cifar10,
        ),
    ]
}

/// Values uniform in [0, 1) from the test's own generator (the same on both backends).
fn images<B: Backend>(shape: [usize; 4], seed: u64, device: &B::Device) -> Tensor<B, 4> {
    let mut rng = SplitMix64::new(seed);
    let values: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.unit_f64() as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

pub(super) fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

/// Every parameter's gradient, in the module's order (empty where it has none).
struct Gradients<'g, B: AutodiffBackend> {
    grads: &'g B::Gradients,
    found: Vec<Vec<f32>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Gradients<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let grad = param.grad(self.grads).map(values).unwrap_or_default();
        self.found.push(grad);
    }
}

/// What one training-mode forward and backward of the GPU recipe computes.
pub(super) struct Pass {
    pub(super) logits: Vec<f32>,
    pub(super) loss: f64,
    pub(super) gradients: Vec<Vec<f32>>,
    /// The running statistics of the first and the last batch norm after the pass.
    pub(super) running: Vec<Vec<f32>>,
}

fn gpu_recipe_pass<B: AutodiffBackend>(
    config: &ModelConfig,
    dataset: Dataset,
    device: &B::Device,
) -> Pass {
    let net = DenseNet::<B>::seeded(config, dataset, 5, device);
    training_pass(&net, dataset, 11, device).0
}

/// One training-mode forward and backward of `net` on six images drawn from `seed`: what it
/// computed, and the gradients for an optimizer step.
pub(super) fn training_pass<B: AutodiffBackend>(
    net: &DenseNet<B>,
    dataset: Dataset,
    seed: u64,
    device: &B::Device,
) -> (Pass, B::Gradients) {
    let (c, s) = (dataset.channels(), dataset.image_size());
    let x = images::<B>([6, c, s, s], seed, device);
    let labels = TensorData::new(vec![0i64, 3, 5, 7, 9, 1], [6]);
    let y = Tensor::<B, 1, Int>::from_data(labels, device);
    let mut ctx = ForwardContext::gpu_training(Precision::F32);
    let logits = net.forward(x, &mut ctx);
    let loss = CrossEntropyLossConfig::new()
        .init(device)
        .forward(logits.clone(), y);
    let loss_value = values(loss.clone())[0] as f64;
    let grads = loss.backward();
    let mut visitor = Gradients::<B> {
        grads: &grads,
        found: Vec::new(),
    };
    net.visit(&mut visitor);
    let pass = Pass {
        logits: values(logits),
        loss: loss_value,
        gradients: visitor.found,
        running: running_statistics(net),
    };
    (pass, grads)
}

/// The running statistics of the first and the last batch norm.
pub(super) fn running_statistics<B: Backend>(net: &DenseNet<B>) -> Vec<Vec<f32>> {
    let first = &net.blocks[0].layers[0].conv.norm;
    [
        first.running_mean.value(),
        first.running_var.value(),
        net.head_norm.running_mean.value(),
        net.head_norm.running_var.value(),
    ]
    .into_iter()
    .map(values)
    .collect()
}

/// Largest absolute difference over the largest magnitude of `reference`.
pub(super) fn relative_difference(reference: &[f32], other: &[f32]) -> f64 {
    assert_eq!(reference.len(), other.len());
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    let diff = reference
        .iter()
        .zip(other)
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    if scale == 0.0 { diff } else { diff / scale }
}

#[test]
fn the_gpu_recipe_on_wgpu_gives_the_cpu_backends_forward_loss_and_every_gradient() {
    let Some((gpu, _one)) = adapter("the_gpu_recipe_on_wgpu_gives_the_cpu_backends_...") else {
        return;
    };
    for (name, config, dataset) in variants() {
        let reference = gpu_recipe_pass::<CpuTrain>(&config, dataset, &Default::default());
        let on_gpu = gpu_recipe_pass::<WgpuTrain>(&config, dataset, &gpu);
        let loss_diff = (on_gpu.loss - reference.loss).abs() / reference.loss;
        let logits_diff = relative_difference(&reference.logits, &on_gpu.logits);
        assert!(
            loss_diff < 1e-5 && logits_diff < 1e-4,
            "{name}: loss {} against {}, logits off by {logits_diff} of their largest",
            on_gpu.loss,
            reference.loss
        );
        assert_eq!(reference.gradients.len(), on_gpu.gradients.len(), "{name}");
        let mut worst = 0.0f64;
        for (i, (a, b)) in reference
            .gradients
            .iter()
            .zip(&on_gpu.gradients)
            .enumerate()
        {
            assert_eq!(a.is_empty(), b.is_empty(), "{name}: parameter {i}");
            let diff = relative_difference(a, b);
            assert!(
                diff < 1e-3,
                "{name}: gradient of parameter {i} off by {diff} of its largest value"
            );
            worst = worst.max(diff);
        }
        let with_grads = reference.gradients.iter().filter(|g| !g.is_empty()).count();
        assert!(with_grads > 10, "{name}: only {with_grads} gradients");
        for (a, b) in reference.running.iter().zip(&on_gpu.running) {
            let diff = relative_difference(a, b);
            assert!(diff < 1e-4, "{name}: running statistics off by {diff}");
        }
        println!(
            "{name}: loss {loss_diff:.1e}, logits {logits_diff:.1e}, worst of {with_grads} gradients {worst:.1e} (relative)"
        );
    }
}

#[test]
fn device_dropout_zeroes_a_fraction_p_and_scales_the_rest_with_masks_set_by_the_seed() {
    let Some((gpu, _one)) = adapter("device_dropout_zeroes_a_fraction_p_...") else {
        return;
    };
    let p = 0.2;
    let shape = [16, 8, 32, 32];
    let n = shape.iter().product::<usize>() as f64;
    let mask = |seed: u64| -> Vec<f32> {
        <Wgpu as Backend>::seed(&gpu, seed);
        let mut ctx = ForwardContext::gpu_training(Precision::F32);
        values(ctx.dropout(Tensor::<Wgpu, 4>::ones(shape, &gpu), p))
    };
    let first = mask(7);
    let kept = (1.0 / (1.0 - p)) as f32;
    assert!(
        first.iter().all(|v| *v == 0.0 || (v - kept).abs() < 1e-6),
        "a value neither dropped nor scaled by 1/(1-p)"
    );
    let zeros = first.iter().filter(|v| **v == 0.0).count() as f64;
    // Five standard deviations of a binomial fraction.
    let sigma = (p * (1.0 - p) / n).sqrt();
    assert!(
        (zeros / n - p).abs() < 5.0 * sigma,
        "dropped {} of the values, p = {p}",
        zeros / n
    );
    // Each channel its own mask, not one broadcast: channels 0 and 1 disagree about as often
    // as two independent masks do (2p(1-p) = 0.32).
    let plane = 32 * 32;
    let disagree = (0..plane)
        .filter(|i| (first[*i] == 0.0) != (first[plane + i] == 0.0))
        .count() as f64
        / plane as f64;
    assert!(
        (disagree - 0.32).abs() < 0.06,
        "channels disagree on {disagree}"
    );
    assert_eq!(first, mask(7), "the same seed drew another mask");
    assert_ne!(first, mask(8), "another seed drew the same mask");
}

/// Test accuracy per epoch, for the failure message.
fn accuracies(epochs: &[EpochMetrics]) -> Vec<f64> {
    epochs.iter().map(|e| e.test.accuracy).collect()
}

#[test]
fn training_on_wgpu_learns_the_synthetic_task_to_over_95_percent() {
    let Some(_one) = adapter("training_on_wgpu_learns_the_synthetic_task_...") else {
        return;
    };
    let (config, data) = learnable(Precision::F32);
    assert!(config.model.dropout > 0.0, "the recipe trains with dropout");
    let mut rec = Recorder::default();
    let (outcome, _dir) = train_on_device(ComputeDevice::Wgpu(0), &config, &data, &mut rec);
    assert_eq!(outcome, Outcome::Completed);
    let last = rec.epochs.last().unwrap();
    assert!(last.test.accuracy > 0.95, "{:?}", accuracies(&rec.epochs));
    assert!(last.train_loss < rec.steps[0].loss, "loss did not fall");
}

/// (epoch, train loss, test loss, test accuracy) of each epoch.
fn summary(epochs: &[EpochMetrics]) -> Vec<(usize, f64, f64, f64)> {
    epochs
        .iter()
        .map(|e| (e.epoch, e.train_loss, e.test.loss, e.test.accuracy))
        .collect()
}

/// `config` trained for epoch 1 on `first`, halted there, then resumed from that epoch's
/// checkpoint on `second`: the epochs each part logged.
fn trained_across(
    config: &TrialConfig,
    first: ComputeDevice,
    second: ComputeDevice,
) -> (Vec<EpochMetrics>, Vec<EpochMetrics>) {
    let data = splits(200, 100);
    let dir = TempDir::new().unwrap();
    let on = |device, resume| TrialJob {
        device,
        ..job(config, &data, dir.path(), resume)
    };
    let mut before = Recorder {
        halt_after_epoch: Some(1),
        ..Default::default()
    };
    assert_eq!(
        train_trial(&on(first, None), &mut before).unwrap(),
        Outcome::Halted { epoch: 1 }
    );
    let mut after = Recorder::default();
    assert_eq!(
        train_trial(&on(second, Some(1)), &mut after).unwrap(),
        Outcome::Completed
    );
    (before.epochs, after.epochs)
}

#[test]
fn a_checkpoint_written_on_wgpu_resumes_on_the_cpu_and_the_other_way() {
    let Some(_one) = adapter("a_checkpoint_written_on_wgpu_resumes_on_the_cpu_...") else {
        return;
    };
    let (cpu, gpu) = (ComputeDevice::Cpu, ComputeDevice::Wgpu(0));
    let config = trial(2, 2e-3, 0.0);
    let (cpu_first, cpu_second) = trained_across(&config, cpu, cpu);
    for (first, second) in [(gpu, cpu), (cpu, gpu)] {
        let (before, after) = trained_across(&config, first, second);
        assert_eq!(after.len(), 1);
        // The same network, data and steps: only rounding tells the devices apart.
        for (got, want) in summary(&before)
            .into_iter()
            .chain(summary(&after))
            .zip(summary(&cpu_first).into_iter().chain(summary(&cpu_second)))
        {
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * b.abs().max(1.0);
            assert!(
                got.0 == want.0 && close(got.1, want.1) && close(got.2, want.2),
                "{first} then {second}: {got:?}, all on the cpu: {want:?}"
            );
            assert!((got.3 - want.3).abs() <= 0.02, "{got:?} against {want:?}");
        }
    }
}

#[test]
fn a_run_resumed_on_wgpu_logs_what_the_uninterrupted_wgpu_run_logs() {
    let Some(_one) = adapter("a_run_resumed_on_wgpu_logs_what_the_uninterrupted_...") else {
        return;
    };
    let gpu = ComputeDevice::Wgpu(0);
    // With dropout: the device's masks must come back at the same steps.
    let config = trial(2, 2e-3, 0.2);
    let mut whole = Recorder::default();
    let _dir = train_on_device(gpu, &config, &splits(200, 100), &mut whole);
    let (before, after) = trained_across(&config, gpu, gpu);
    let resumed: Vec<_> = summary(&before)
        .into_iter()
        .chain(summary(&after))
        .collect();
    assert_eq!(resumed, summary(&whole.epochs));
}

#[test]
fn bf16_is_refused_with_the_adapters_name_where_it_cannot_compute_it() {
    let Some((gpu, _one)) = adapter("bf16_is_refused_with_the_adapters_name_...") else {
        return;
    };
    if super::computes_in::<Wgpu>(&gpu, Precision::Bf16) {
        let why = "wgpu:0 computes bf16, so there is no refusal to see";
        crate::preconditions::missing("bf16_is_refused_...", "wgpu-without-bf16", why);
        return;
    }
    let support = super::precision_support(ComputeDevice::Wgpu(0)).unwrap();
    assert_eq!(support.accepted, [Precision::F32]);
    let adapter = crate::devices::check_wgpu_device(0).unwrap();
    assert!(
        support.reason.contains(&adapter.name) && support.reason.contains("bf16"),
        "{}",
        support.reason
    );
    // A trial asked to train in bf16 there (`trial` run by hand) fails with a message.
    let (mut config, data) = (trial(1, 1e-3, 0.0), splits(50, 10));
    config.train.precision = Precision::Bf16;
    let dir = TempDir::new().unwrap();
    let job = TrialJob {
        device: ComputeDevice::Wgpu(0),
        ..job(&config, &data, dir.path(), None)
    };
    let err = train_trial(&job, &mut Recorder::default()).unwrap_err();
    assert!(
        err.to_string().contains("\"bf16\" is not computed there"),
        "{err}"
    );
}

#[test]
fn the_same_seed_builds_the_same_network_on_wgpu_and_on_the_cpu() {
    let Some((gpu, _one)) = adapter("the_same_seed_builds_the_same_network_...") else {
        return;
    };
    let config = model(4, &[2, 2], Stem::Imagenet, true, Transition::Growth);
    let on_cpu = DenseNet::<Flex>::seeded(&config, Dataset::Mnist, 3, &Default::default());
    let on_gpu = DenseNet::<WgpuTrain>::seeded(&config, Dataset::Mnist, 3, &gpu).valid();
    assert_eq!(
        values(on_cpu.stem.weight.val()),
        values(on_gpu.stem.weight.val())
    );
    assert_eq!(
        values(on_cpu.classifier.weight.val()),
        values(on_gpu.classifier.weight.val())
    );
}
