//! The bf16 products against their definition over rounded operands (native kernels and
//! emulation alike), and a bf16 training step against burn's bf16 autocast and against f32.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;

use super::bf16::{self, Bf16Kernels};
use super::plan::Plan;
use super::tests::{
    AD, Variant, assert_close, batch, host_values, naive, tensors, to_vec, variants,
};
use super::{CpuExecutor, bridge};
use crate::model::{DenseNet, ForwardContext};
use crate::rng::SplitMix64;
use crate::spec::Precision;

#[test]
fn rounding_to_bf16_goes_to_the_nearest_value_and_ties_to_even() {
    let ulp = 2.0f32.powi(-7); // spacing of bf16 values in [1, 2)
    assert_eq!(bf16::round(1.0), 1.0);
    assert_eq!(bf16::round(1.0 + 0.49 * ulp), 1.0);
    assert_eq!(bf16::round(1.0 + 0.51 * ulp), 1.0 + ulp);
    // Ties: to the value whose last kept bit is 0.
    assert_eq!(bf16::round(1.0 + 0.5 * ulp), 1.0);
    assert_eq!(bf16::round(1.0 + 1.5 * ulp), 1.0 + 2.0 * ulp);
    assert_eq!(bf16::round(-3.0 - 0.51 * 2.0 * ulp), -3.0 - 2.0 * ulp);
    assert_eq!(bf16::round(f32::INFINITY), f32::INFINITY);
    assert!(bf16::round(f32::NAN).is_nan());
    // Past the largest bf16 value, rounding overflows to infinity.
    assert_eq!(bf16::round(f32::MAX), f32::INFINITY);
}

fn rounded(v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| bf16::round(x)).collect()
}

/// The kernels to check on this CPU: the emulation always, the native ones where present.
fn kernels_here(test: &str) -> Vec<Bf16Kernels> {
    let all = [
        Bf16Kernels::Emulated,
        Bf16Kernels::Avx512Bf16,
        Bf16Kernels::Amx,
    ];
    for missing in all.iter().filter(|k| !k.available()) {
        let why = "this CPU (or its kernel) lacks them: that dispatch level is not checked";
        crate::preconditions::missing(test, missing.name(), why);
    }
    all.into_iter().filter(|k| k.available()).collect()
}

#[test]
fn bf16_products_equal_the_definition_over_rounded_operands_on_every_remainder() {
    let kernels = kernels_here("bf16_products_equal_the_definition_over_rounded_operands");
    if !super::simd::available() {
        return;
    }
    // Rows not a multiple of 12 or 4, columns not of 32 or 16, odd inner lengths (a pair
    // half filled), and DenseNet's shapes: 12 x 432 x pixels, 48 x 12 x pixels.
    for &(m, n, k) in &[
        (1, 1, 1),
        (7, 37, 5),
        (12, 300, 432),
        (13, 1000, 3),
        (48, 517, 71),
        (5, 70, 2100),
        (25, 4100, 12),
        (17, 130, 64),
        (48, 300, 33),
        // An inner length over two of nt_strided's conversion chunks (8,192).
        (3, 20, 17000),
    ] {
        let a = host_values(m * k, 1, 1.0);
        let b = host_values(k * n, 2, 1.0);
        let (ra, rb) = (rounded(&a), rounded(&b));
        let want = naive(m, n, k, |i, t| ra[i * k + t], |t, j| rb[t * n + j]);
        let bt = host_values(n * k, 3, 1.0);
        let rbt = rounded(&bt);
        let want_t = naive(m, n, k, |i, t| ra[i * k + t], |t, j| rbt[j * k + t]);
        for &kernel in &kernels {
            for parallel in [false, true] {
                let what = format!("{kernel:?} {m}x{n}x{k} parallel {parallel}");
                let rows = |t: usize, j0: usize, dst: &mut [f32]| {
                    dst.copy_from_slice(&b[t * n + j0..][..dst.len()])
                };
                let mut c = vec![f32::NAN; m * n];
                bf16::nn_rows(
                    kernel,
                    &mut c,
                    (m, n, k),
                    |i, t| a[i * k + t],
                    rows,
                    false,
                    parallel,
                );
                assert_close(&format!("nn {what}"), &c, &want, 1e-5);
                let mut acc = want.clone();
                bf16::nn_rows(
                    kernel,
                    &mut acc,
                    (m, n, k),
                    |i, t| a[i * k + t],
                    rows,
                    true,
                    parallel,
                );
                let doubled: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
                assert_close(&format!("nn += {what}"), &acc, &doubled, 1e-5);
                let mut c = vec![f32::NAN; m * n];
                bf16::nt_strided(kernel, &mut c, (m, n, k), (&a, k), (&bt, k), parallel);
                assert_close(&format!("nt {what}"), &c, &want_t, 1e-5);
            }
        }
    }
}

/// `|a - b| / |b|` in the L2 norm.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let n: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (d / n.max(1e-30)).sqrt()
}

/// The mean over gradient tensors of [`relative_error`].
fn mean_error(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| relative_error(x, y))
        .sum::<f64>()
        / a.len() as f64
}

/// `max |a - b|` relative to `max |b|`.
fn max_error(a: &[f32], b: &[f32]) -> f64 {
    let scale = b
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs() as f64))
        .max(1e-12);
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs() as f64);
    worst.fold(0.0, f64::max) / scale
}

/// One training step of the executor in `precision`: logits and every gradient tensor.
fn executor_step(v: &Variant, precision: Precision) -> (Vec<f32>, Vec<Vec<f32>>) {
    let device = Default::default();
    let net = DenseNet::<AD>::seeded(&v.model, v.dataset, 5, &device);
    let (images, labels) = batch(v.dataset, 5, 11);
    let mut executor = CpuExecutor::new(&v.model, v.dataset, precision);
    let step = executor.train_step(&net, &images, &labels, &mut SplitMix64::new(21), &device);
    let plan = Plan::new(&v.model, v.dataset);
    (
        step.logits,
        bridge::gradient_values(&net, &step.grads, &plan).0,
    )
}

/// burn's bf16 autocast (the reference model) on the same step.
fn autocast_step(v: &Variant) -> (Vec<f32>, Vec<Vec<f32>>) {
    let device = Default::default();
    let reference = DenseNet::<AD>::seeded(&v.model, v.dataset, 5, &device);
    let (images, labels) = batch(v.dataset, 5, 11);
    let mut ctx = ForwardContext::cpu_training(SplitMix64::new(21), Precision::Bf16);
    let (x, y) = tensors(v.dataset, &images, &labels);
    let logits = reference.forward(x, &mut ctx);
    let loss = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(logits.clone(), y);
    let grads = GradientsParams::from_grads(loss.backward(), &reference);
    let plan = Plan::new(&v.model, v.dataset);
    let grads = bridge::gradient_values(&reference, &grads, &plan).0;
    (to_vec(logits.inner()), grads)
}

/// What tolerance bf16 implies is measured, not assumed: 8 significant bits on every
/// convolution's operands, through batch norm's centering on batches of 5, move these small
/// networks' gradients by 5-50% of their size (relative L2, mean over tensors) in burn's own
/// autocast as in ours. So the executor's bf16 step must differ from its f32 step (rounding
/// happened) by no more than 1.5 times what burn's autocast differs by, on logits and on
/// gradients, for every variant.
#[test]
fn a_bf16_training_step_is_no_further_from_f32_than_burns_bf16_autocast() {
    for v in variants() {
        let (ours, ours_grads) = executor_step(&v, Precision::Bf16);
        let (f32_logits, f32_grads) = executor_step(&v, Precision::F32);
        let (autocast, autocast_grads) = autocast_step(&v);
        let (ours_err, autocast_err) = (
            max_error(&ours, &f32_logits),
            max_error(&autocast, &f32_logits),
        );
        assert!(ours_err > 0.0, "{}: bf16 logits equal f32 ones", v.name);
        assert!(
            ours_err <= 1.5 * autocast_err + 1e-3,
            "{}: logits {ours_err:.2e} from f32, autocast {autocast_err:.2e}",
            v.name
        );
        let (ours_err, autocast_err) = (
            mean_error(&ours_grads, &f32_grads),
            mean_error(&autocast_grads, &f32_grads),
        );
        assert!(ours_err > 0.0, "{}: bf16 gradients equal f32 ones", v.name);
        assert!(
            ours_err <= 1.5 * autocast_err,
            "{}: gradients {ours_err:.3} from f32, autocast {autocast_err:.3}",
            v.name
        );
    }
}
