//! `--gpu-fusion` must not change what training computes: burn's fused wgpu backend against
//! the plain one on adapter `wgpu:0` (llvmpipe in CI), step by step over Adam and SGD with
//! momentum, on two variants (both stems, bottleneck and basic layers). Compared at every
//! step: the loss, the logits, every parameter's gradient; after the steps, every weight and
//! the running statistics. Dropout is off: its masks come from the device's generator, which
//! the fused backend may call in another order, and the dropout tests cover masks.

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};

use super::wgpu::{WgpuFusedTrain, WgpuTrain};
use super::wgpu_tests::{
    adapter, model, relative_difference, running_statistics, training_pass, values,
};
use crate::model::DenseNet;
use crate::spec::{Dataset, Optimizer, Stem, Transition};
use crate::train::optim::AnyOptimizer;

const STEPS: usize = 4;

/// What each step computed, and the network after the last.
struct Steps {
    losses: Vec<f64>,
    logits: Vec<Vec<f32>>,
    gradients: Vec<Vec<Vec<f32>>>,
    weights: Vec<Vec<f32>>,
    running: Vec<Vec<f32>>,
}

/// Every parameter's value, in the module's order.
struct Weights(Vec<Vec<f32>>);

impl<B: Backend> ModuleVisitor<B> for Weights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(values(param.val()));
    }
}

fn train_steps<B: AutodiffBackend>(
    config: &crate::spec::ModelConfig,
    dataset: Dataset,
    optimizer: &Optimizer,
    device: &B::Device,
) -> Steps {
    let mut net = DenseNet::<B>::seeded(config, dataset, 5, device);
    let mut optim = AnyOptimizer::<DenseNet<B>, B>::new(optimizer);
    let mut out = Steps {
        losses: Vec::new(),
        logits: Vec::new(),
        gradients: Vec::new(),
        weights: Vec::new(),
        running: Vec::new(),
    };
    for step in 0..STEPS {
        let (pass, grads) = training_pass(&net, dataset, 11 + step as u64, device);
        out.losses.push(pass.loss);
        out.logits.push(pass.logits);
        out.gradients.push(pass.gradients);
        let grads = GradientsParams::from_grads(grads, &net);
        net = optim.step(optimizer.lr(), net, grads);
    }
    let mut weights = Weights(Vec::new());
    net.valid().visit(&mut weights);
    out.weights = weights.0;
    out.running = running_statistics(&net);
    out
}

/// The worst relative difference over pairs of tensors, checked against `limit`.
fn worst(what: &str, plain: &[Vec<f32>], fused: &[Vec<f32>], limit: f64) -> f64 {
    assert_eq!(plain.len(), fused.len(), "{what}: tensor count");
    let mut worst = 0.0f64;
    for (i, (a, b)) in plain.iter().zip(fused).enumerate() {
        assert_eq!(a.is_empty(), b.is_empty(), "{what}: tensor {i}");
        let diff = relative_difference(a, b);
        assert!(
            diff <= limit,
            "{what}: tensor {i} off by {diff} of its largest"
        );
        worst = worst.max(diff);
    }
    worst
}

#[test]
fn fused_and_plain_wgpu_training_compute_the_same_steps_under_adam_and_sgd() {
    let Some((gpu, _one)) = adapter("fused_and_plain_wgpu_training_compute_the_same_steps") else {
        return;
    };
    let variants = [
        (
            "imagenet stem, bottleneck, growth transition",
            model(4, &[2, 2], Stem::Imagenet, true, Transition::Growth),
            Dataset::Mnist,
        ),
        (
            "cifar stem, basic, compression transition",
            model(5, &[3, 2], Stem::Cifar, false, Transition::Compression),
            Dataset::Cifar10,
        ),
    ];
    let optimizers = [
        Optimizer::Adam {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-4,
        },
        Optimizer::Sgd {
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        },
    ];
    for (name, config, dataset) in &variants {
        for optimizer in &optimizers {
            let what = format!("{name}, {optimizer:?}");
            let plain = train_steps::<WgpuTrain>(config, *dataset, optimizer, &gpu);
            let fused = train_steps::<WgpuFusedTrain>(config, *dataset, optimizer, &gpu);
            for (step, (a, b)) in plain.losses.iter().zip(&fused.losses).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                    "{what}: step {step} loss {b} fused, {a} plain"
                );
            }
            // The network moves between steps, so the later steps also check the update.
            let logits = worst(
                &format!("{what}: logits"),
                &plain.logits,
                &fused.logits,
                1e-4,
            );
            let mut gradients = 0.0f64;
            for (step, (a, b)) in plain.gradients.iter().zip(&fused.gradients).enumerate() {
                let with_grads = a.iter().filter(|g| !g.is_empty()).count();
                assert!(with_grads > 10, "{what}: only {with_grads} gradients");
                let label = format!("{what}: step {step} gradients");
                gradients = gradients.max(worst(&label, a, b, 1e-3));
            }
            let weights = worst(
                &format!("{what}: weights"),
                &plain.weights,
                &fused.weights,
                1e-4,
            );
            let running = worst(
                &format!("{what}: running stats"),
                &plain.running,
                &fused.running,
                1e-4,
            );
            println!(
                "{what}: over {STEPS} steps, logits {logits:.1e}, gradients {gradients:.1e}, weights {weights:.1e}, running statistics {running:.1e} (relative)"
            );
        }
    }
}
