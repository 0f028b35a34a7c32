//! The CPU executor against the burn model it mirrors (logits, loss, every gradient, the
//! running statistics, for every architecture variant), and against finite differences.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor, TensorData};

use super::net::{Mode, Passes};
use super::plan::{HostParams, Plan};
use super::{CpuExecutor, bridge, cross_entropy};
use crate::model::{DenseNet, ForwardContext};
use crate::rng::SplitMix64;
use crate::spec::{Dataset, ModelConfig, Precision, Stem, Transition};

pub(super) type AD = Autodiff<Flex>;

pub(super) struct Variant {
    pub name: &'static str,
    pub model: ModelConfig,
    pub dataset: Dataset,
}

/// The model tests' configuration, with `dropout`.
pub(super) fn model(
    k: usize,
    blocks: &[usize],
    stem: Stem,
    pool: Option<bool>,
    bottleneck: bool,
    transition: Transition,
    dropout: f64,
) -> ModelConfig {
    ModelConfig {
        dropout,
        init: Default::default(),
        ..crate::model::tests::config(k, blocks, stem, pool, bottleneck, transition)
    }
}

/// Both stems (with and without the max-pool), bottleneck and basic layers, growth and
/// compression transitions, odd map sizes (7 -> 3), one and three input channels, dropout
/// off and on, narrow and wide layers.
pub(super) fn variants() -> Vec<Variant> {
    use Stem::{Cifar, Imagenet};
    use Transition::{Compression, Growth};
    vec![
        Variant {
            name: "seed-like: 7x7/2 + pool, bottleneck, growth, dropout",
            model: model(6, &[2, 2, 3], Imagenet, None, true, Growth, 0.2),
            dataset: Dataset::Mnist,
        },
        Variant {
            name: "7x7/2 without pool, basic, compression",
            model: model(4, &[2, 2], Imagenet, Some(false), false, Compression, 0.0),
            dataset: Dataset::Mnist,
        },
        Variant {
            name: "3x3 stem, bottleneck, compression, cifar, dropout",
            model: model(4, &[2, 2], Cifar, None, true, Compression, 0.2),
            dataset: Dataset::Cifar10,
        },
        Variant {
            name: "3x3 stem, basic, growth, 28 -> 14 -> 7 -> 3",
            model: model(4, &[1, 2, 1, 1], Cifar, None, false, Growth, 0.0),
            dataset: Dataset::Mnist,
        },
        Variant {
            name: "3x3 stem, basic, dropout, cifar",
            model: model(3, &[2, 1], Cifar, None, false, Growth, 0.3),
            dataset: Dataset::Cifar10,
        },
        // A stem narrower than 2k (the paper's plain networks use 16 for any k), on both
        // stems: every later shape follows the stem's width, not the growth rate.
        Variant {
            name: "stem_channels 5 (not 2k = 12), 3x3 stem, basic, compression 1",
            model: ModelConfig {
                stem_channels: Some(5),
                compression: 1.0,
                ..model(6, &[2, 2], Cifar, None, false, Compression, 0.0)
            },
            dataset: Dataset::Cifar10,
        },
        Variant {
            name: "stem_channels 11 (not 2k = 8), 7x7/2 + pool, bottleneck, growth",
            model: ModelConfig {
                stem_channels: Some(11),
                ..model(4, &[2, 1], Imagenet, None, true, Growth, 0.1)
            },
            dataset: Dataset::Mnist,
        },
        // Wide layers (a 128-channel bottleneck, an 80-channel transition): the products
        // with more than 64 output rows take the `gemm` and im2col paths.
        Variant {
            name: "wide: k=32, bottleneck 128, compression to 80",
            model: model(32, &[3, 1], Cifar, None, true, Compression, 0.1),
            dataset: Dataset::Mnist,
        },
    ]
}

pub(super) fn host_values(n: usize, seed: u64, spread: f32) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| spread * (2.0 * rng.unit_f64() as f32 - 1.0))
        .collect()
}

pub(super) fn batch(dataset: Dataset, n: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let size = dataset.image_size();
    let images = host_values(n * dataset.channels() * size * size, seed, 1.5);
    let mut rng = SplitMix64::new(seed + 1);
    let labels = (0..n)
        .map(|_| rng.below(dataset.num_classes()) as i64)
        .collect();
    (images, labels)
}

pub(super) fn tensors(
    dataset: Dataset,
    images: &[f32],
    labels: &[i64],
) -> (Tensor<AD, 4>, Tensor<AD, 1, Int>) {
    let (c, s) = (dataset.channels(), dataset.image_size());
    let device = Default::default();
    (
        Tensor::from_data(
            TensorData::new(images.to_vec(), [labels.len(), c, s, s]),
            &device,
        ),
        Tensor::from_data(TensorData::new(labels.to_vec(), [labels.len()]), &device),
    )
}

pub(super) fn to_vec<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
    t.into_data().into_vec::<f32>().unwrap()
}

/// `|a - b| <= tol * max|b|` over the whole tensor: summation order differs between the two
/// paths, so single values near zero differ by more than `tol` of themselves.
pub(super) fn assert_close(what: &str, a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= tol * scale,
        "{what}: max difference {worst:e} against max |value| {scale:e} (tolerance {tol:e} relative)"
    );
}

/// The tolerance the issue sets: 1e-4 of the tensor's scale.
pub(super) const TOLERANCE: f32 = 1e-4;

#[test]
fn one_training_step_equals_the_burn_model_for_every_variant() {
    let device = Default::default();
    for v in variants() {
        let reference = DenseNet::<AD>::seeded(&v.model, v.dataset, 5, &device);
        let fast_model = DenseNet::<AD>::seeded(&v.model, v.dataset, 5, &device);
        let (images, labels) = batch(v.dataset, 5, 11);

        let mut ctx = ForwardContext::cpu_training(SplitMix64::new(21), Precision::F32);
        let (x, y) = tensors(v.dataset, &images, &labels);
        let logits = reference.forward(x, &mut ctx);
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits.clone(), y);
        let ref_loss = loss.clone().into_scalar();
        let ref_grads = GradientsParams::from_grads(loss.backward(), &reference);

        let mut executor = CpuExecutor::new(&v.model, v.dataset, Precision::F32);
        let step = executor.train_step(
            &fast_model,
            &images,
            &labels,
            &mut SplitMix64::new(21),
            &device,
        );

        assert_close(
            &format!("{}: logits", v.name),
            &step.logits,
            &to_vec(logits.inner()),
            TOLERANCE,
        );
        assert!(
            ((step.loss - ref_loss as f64) / ref_loss as f64).abs() < 1e-5,
            "{}: loss {} against {ref_loss}",
            v.name,
            step.loss
        );
        let plan = Plan::new(&v.model, v.dataset);
        let (fast_g, fast_running) = bridge::gradient_values(&fast_model, &step.grads, &plan);
        let (ref_g, ref_running) = bridge::gradient_values(&reference, &ref_grads, &plan);
        assert_eq!(fast_g.len(), ref_g.len());
        for (i, (a, b)) in fast_g.iter().zip(&ref_g).enumerate() {
            assert!(
                !b.is_empty(),
                "{}: the reference has a gradient for tensor {i}",
                v.name
            );
            assert_close(
                &format!("{}: gradient of tensor {i}", v.name),
                a,
                b,
                TOLERANCE,
            );
        }
        for (i, (a, b)) in fast_running.iter().zip(&ref_running).enumerate() {
            assert_close(
                &format!("{}: running statistic {i}", v.name),
                a,
                b,
                TOLERANCE,
            );
        }

        // Evaluation mode, with the running statistics both steps moved.
        let eval_ref = reference.valid();
        let (x, _) = tensors(v.dataset, &images, &labels);
        let ref_logits = eval_ref.forward(x.inner(), &mut ForwardContext::eval(Precision::F32));
        let fast_logits = executor.eval_logits(&fast_model.valid(), &images, labels.len());
        assert_close(
            &format!("{}: eval logits", v.name),
            &fast_logits,
            &to_vec(ref_logits),
            TOLERANCE,
        );
    }
}

#[test]
fn dropout_masks_come_from_the_generator() {
    // The equivalence test above holds with dropout on only if dropout really acts: another
    // generator must draw other masks and so give another loss.
    let device = Default::default();
    let m = model(4, &[2], Stem::Cifar, None, true, Transition::Growth, 0.5);
    let net = DenseNet::<AD>::seeded(&m, Dataset::Mnist, 2, &device);
    let (images, labels) = batch(Dataset::Mnist, 4, 3);
    let mut executor = CpuExecutor::new(&m, Dataset::Mnist, Precision::F32);
    let a = executor.train_step(&net, &images, &labels, &mut SplitMix64::new(1), &device);
    let b = executor.train_step(&net, &images, &labels, &mut SplitMix64::new(2), &device);
    assert_ne!(a.loss, b.loss, "different masks give different losses");
}

/// Loss of the executor in training mode at `params` (batch statistics; no dropout).
fn loss_at(passes: &mut Passes, params: &HostParams, images: &[f32], labels: &[i64]) -> f64 {
    let mut p = params.clone();
    let mut unused = SplitMix64::new(0);
    let classes = passes.plan.classes;
    let logits = passes.forward(&mut p, images, labels.len(), Mode::Train(&mut unused));
    cross_entropy(logits, labels, classes).0
}

/// Every weight tensor of `h`, in a fixed order, for perturbing them one value at a time.
fn tensors_of(h: &mut HostParams) -> Vec<&mut Vec<f32>> {
    let mut out: Vec<&mut Vec<f32>> = vec![&mut h.stem];
    for layer in h.blocks.iter_mut().flatten() {
        if let Some(u) = &mut layer.bottleneck {
            out.extend([&mut u.weight, &mut u.norm.gamma, &mut u.norm.beta]);
        }
        out.extend([
            &mut layer.conv.weight,
            &mut layer.conv.norm.gamma,
            &mut layer.conv.norm.beta,
        ]);
    }
    for t in &mut h.transitions {
        out.extend([&mut t.weight, &mut t.norm.gamma, &mut t.norm.beta]);
    }
    out.extend([
        &mut h.head_norm.gamma,
        &mut h.head_norm.beta,
        &mut h.classifier_weight,
        &mut h.classifier_bias,
    ]);
    out
}

#[test]
fn gradients_of_the_executor_match_finite_differences() {
    for (m, dataset) in [
        // No max-pool: a perturbation that moves its maximum has no derivative to compare
        // (the pool is checked against burn's gradient above).
        (
            model(
                3,
                &[2, 2],
                Stem::Imagenet,
                Some(false),
                true,
                Transition::Growth,
                0.0,
            ),
            Dataset::Mnist,
        ),
        (
            model(
                3,
                &[2, 1],
                Stem::Cifar,
                None,
                false,
                Transition::Compression,
                0.0,
            ),
            Dataset::Cifar10,
        ),
    ] {
        let plan = Plan::new(&m, dataset);
        let mut params = HostParams::zeros(&plan, true);
        for (i, t) in tensors_of(&mut params).into_iter().enumerate() {
            let len = t.len();
            *t = host_values(len, 100 + i as u64, 0.5)
                .iter()
                .map(|v| v + if len < 64 { 1.0 } else { 0.0 })
                .collect();
        }
        let (images, labels) = batch(dataset, 6, 4);
        let mut passes = Passes::new(plan.clone(), super::gemm::Arith::F32);
        let mut p = params.clone();
        let mut unused = SplitMix64::new(0);
        let logits = passes.forward(&mut p, &images, labels.len(), Mode::Train(&mut unused));
        let (_, _, grad_logits) = cross_entropy(logits, &labels, plan.classes);
        let mut grads = HostParams::zeros(&plan, false);
        passes.backward(&p, &grad_logits, &mut grads);
        let analytic: Vec<Vec<f32>> = tensors_of(&mut grads)
            .into_iter()
            .map(|t| t.clone())
            .collect();

        let h = 5e-3f32;
        let mut checked = 0;
        for (ti, grad) in analytic.iter().enumerate() {
            let len = grad.len();
            for j in [0, len / 2, len - 1] {
                let mut plus = params.clone();
                tensors_of(&mut plus)[ti][j] += h;
                let mut minus = params.clone();
                tensors_of(&mut minus)[ti][j] -= h;
                let numeric = (loss_at(&mut passes, &plus, &images, &labels)
                    - loss_at(&mut passes, &minus, &images, &labels))
                    / (2.0 * h as f64);
                let a = grad[j] as f64;
                assert!(
                    (numeric - a).abs() <= 0.03 * a.abs().max(numeric.abs()) + 2e-3,
                    "tensor {ti} value {j}: analytic {a:e}, numeric {numeric:e}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 30, "checked {checked} values");
    }
}

/// `a * b` by the definition, in f64: the reference for the SIMD kernels.
pub(super) fn naive(
    m: usize,
    n: usize,
    k: usize,
    a: impl Fn(usize, usize) -> f32,
    b: impl Fn(usize, usize) -> f32,
) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|t| a(i, t) as f64 * b(t, j) as f64).sum::<f64>() as f32;
        }
    }
    c
}

#[test]
fn simd_products_equal_the_definition_on_every_remainder() {
    if !super::simd::available() {
        let test = "simd_products_equal_the_definition_on_every_remainder";
        let why = "this CPU has no AVX2/FMA, so the kernels are never used here";
        crate::preconditions::missing(test, "avx2", why);
        return;
    }
    // Shapes with every remainder: rows not a multiple of 6 or 3, columns not of 16 or 4,
    // inner lengths not of 8 or 2048, and the DenseNet shapes themselves.
    for &(m, n, k) in &[
        (1, 1, 1),
        (7, 37, 5),
        (12, 300, 432),
        (13, 1000, 3),
        (48, 517, 70),
        (5, 70, 2100),
    ] {
        let a = host_values(m * k, 1, 1.0);
        let b = host_values(k * n, 2, 1.0);
        let want = naive(m, n, k, |i, t| a[i * k + t], |t, j| b[t * n + j]);
        for parallel in [false, true] {
            let mut c = vec![f32::NAN; m * n];
            super::simd::nn(&mut c, (m, n, k), |i, t| a[i * k + t], &b, false, parallel);
            assert_close(&format!("nn {m}x{n}x{k}"), &c, &want, 1e-5);
            let mut acc = want.clone();
            super::simd::nn(&mut acc, (m, n, k), |i, t| a[i * k + t], &b, true, parallel);
            let doubled: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
            assert_close(&format!("nn += {m}x{n}x{k}"), &acc, &doubled, 1e-5);
            // nt: c = a * bt^T with bt = [n x k].
            let bt = host_values(n * k, 3, 1.0);
            let want_t = naive(m, n, k, |i, t| a[i * k + t], |t, j| bt[j * k + t]);
            let mut c = vec![f32::NAN; m * n];
            super::simd::nt(&mut c, (m, n, k), &a, &bt, parallel);
            assert_close(&format!("nt {m}x{n}x{k}"), &c, &want_t, 1e-5);
        }
    }
}
