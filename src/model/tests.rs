//! The built network against the counts from the configuration, hand-computed values and a
//! published figure; batch norm's statistics; gradients against finite differences.

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::layers::BatchNorm2d;
use super::{DenseNet, ForwardContext, summarize};
use crate::spec::{Dataset, ModelConfig, Precision, Stem, Transition};

type B = Flex;
type AD = Autodiff<Flex>;

/// A model config with the fields the tests vary (no dropout, default init).
pub(crate) fn config(
    k: usize,
    blocks: &[usize],
    stem: Stem,
    pool: Option<bool>,
    bottleneck: bool,
    transition: Transition,
) -> ModelConfig {
    ModelConfig {
        growth_rate: k,
        blocks: blocks.to_vec(),
        bottleneck,
        transition,
        compression: 0.5,
        stem,
        stem_pool: pool,
        stem_channels: None,
        dropout: 0.0,
        init: Default::default(),
    }
}

fn built_params(model: &ModelConfig, dataset: Dataset) -> usize {
    DenseNet::<B>::seeded(model, dataset, 1, &Default::default()).trainable_params()
}

/// Values uniform in `[offset - spread, offset + spread)` from the test's own generator. burn's
/// backend generator is global to the process: drawing from it here, while another test thread
/// is inside `DenseNet::seeded`, would change that test's weights (and did: a finite-difference
/// check then met weights it was not written for).
fn host_random<BK: Backend, const D: usize>(
    shape: [usize; D],
    seed: u64,
    offset: f32,
    spread: f32,
) -> Tensor<BK, D> {
    let mut rng = crate::rng::SplitMix64::new(seed);
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| offset + spread * (2.0 * rng.unit_f64() as f32 - 1.0))
        .collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

#[test]
fn parameter_counts_match_hand_computed_values() {
    // k=12, 4-4-4-4, 7x7/2 stem: stem 1176; blocks 29520 + 3x27120; transitions 1008 + 2x840;
    // head BN 120 + linear 610.
    let g = config(
        12,
        &[4, 4, 4, 4],
        Stem::Imagenet,
        Some(false),
        true,
        Transition::Growth,
    );
    assert_eq!(summarize(&g, Dataset::Mnist).params, 115_474);
    // k=12, 2-2, 3x3 stem, basic layers: 216 + 6600 + 672 + 3960 + 442.
    let basic = config(12, &[2, 2], Stem::Cifar, None, false, Transition::Growth);
    assert_eq!(summarize(&basic, Dataset::Mnist).params, 11_890);
}

#[test]
fn densenet_bc_100_has_the_published_parameter_count() {
    // 769,162 is what the widely used PyTorch DenseNet-BC-100 (k=12) on CIFAR-10 reports
    // (conv without bias, BN weight and bias, linear with bias): the paper's "0.8M".
    let bc = config(
        12,
        &[16, 16, 16],
        Stem::Cifar,
        None,
        true,
        Transition::Compression,
    );
    assert_eq!(summarize(&bc, Dataset::Cifar10).params, 769_162);
    assert_eq!(built_params(&bc, Dataset::Cifar10), 769_162);
}

/// Every stem, pool, layer kind and transition, on both datasets' image sizes.
fn variants() -> Vec<(ModelConfig, Dataset)> {
    vec![
        (
            config(
                12,
                &[4, 4, 32],
                Stem::Imagenet,
                None,
                true,
                Transition::Growth,
            ),
            Dataset::Mnist,
        ),
        (
            config(
                8,
                &[3, 3, 3, 3],
                Stem::Imagenet,
                Some(false),
                false,
                Transition::Compression,
            ),
            Dataset::Mnist,
        ),
        (
            config(6, &[2, 3], Stem::Cifar, None, true, Transition::Compression),
            Dataset::Cifar10,
        ),
        (
            config(5, &[1], Stem::Cifar, None, false, Transition::Growth),
            Dataset::Cifar10,
        ),
        (
            ModelConfig {
                stem_channels: Some(7),
                ..config(
                    4,
                    &[2, 2],
                    Stem::Imagenet,
                    None,
                    true,
                    Transition::Compression,
                )
            },
            Dataset::Mnist,
        ),
        (
            config(
                24,
                &[6, 12, 48, 32],
                Stem::Imagenet,
                Some(false),
                true,
                Transition::Growth,
            ),
            Dataset::Cifar10,
        ),
    ]
}

#[test]
fn built_parameter_count_equals_the_count_from_the_config_for_every_variant() {
    for (model, dataset) in variants() {
        assert_eq!(
            built_params(&model, dataset) as u64,
            summarize(&model, dataset).params,
            "{model:?}"
        );
    }
}

/// FLOPs counted on the built model's forward pass (every convolution and the linear layer,
/// from the shapes they ran with, by `torch.utils.flop_counter`'s rule) equal the count from
/// the configuration alone that `check` prints.
#[test]
fn flops_counted_on_the_built_model_equal_the_count_from_the_config_for_every_variant() {
    let device = Default::default();
    for (model, dataset) in variants() {
        let net = DenseNet::<B>::seeded(&model, dataset, 1, &device);
        let size = dataset.image_size();
        let images = host_random::<B, 4>([1, dataset.channels(), size, size], 3, 0.0, 1.0);
        let mut ctx = ForwardContext::counting_flops();
        let _ = net.forward(images, &mut ctx);
        assert_eq!(
            ctx.counted_flops(),
            Some(summarize(&model, dataset).flops),
            "{model:?} on {dataset:?}"
        );
    }
}

#[test]
fn flops_of_a_small_network_match_a_hand_count() {
    // 3x3 stem 1->8 at 28x28: 2*72*784; one basic layer 8->4 3x3: 2*288*784; linear 12->10.
    let m = config(4, &[1], Stem::Cifar, None, false, Transition::Growth);
    let s = summarize(&m, Dataset::Mnist);
    assert_eq!(s.flops, 112_896 + 451_584 + 240);
    assert_eq!(s.params, 72 + 16 + 288 + 24 + 130);
    // The same with a 3-filter stem: 2*27*784; the layer 3->4: 2*108*784; linear 7->10.
    let narrow = ModelConfig {
        stem_channels: Some(3),
        ..m
    };
    let s = summarize(&narrow, Dataset::Mnist);
    assert_eq!(s.flops, 42_336 + 169_344 + 140);
    assert_eq!(s.params, 27 + 6 + 108 + 14 + 80);
    assert_eq!(s.stages[0].channels_out, 3);
    assert_eq!(s.head_channels, 7);
}

#[test]
fn plain_densenet_40_with_the_papers_16_channel_stem_has_its_published_count() {
    // Table 2's "DenseNet (L=40, k=12) 1.0M": basic layers, theta = 1, a 3x3 stem with 16
    // filters. 1,019,722 is the count of the same network by an independent script (conv
    // without bias, BN weight and bias, linear with bias); with a 2k stem it would be
    // 1,059,298 ("1.1M").
    let mut plain = config(
        12,
        &[12, 12, 12],
        Stem::Cifar,
        None,
        false,
        Transition::Compression,
    );
    plain.compression = 1.0;
    assert_eq!(summarize(&plain, Dataset::Cifar10).params, 1_059_298);
    plain.stem_channels = Some(16);
    assert_eq!(summarize(&plain, Dataset::Cifar10).params, 1_019_722);
    assert_eq!(built_params(&plain, Dataset::Cifar10), 1_019_722);
}

#[test]
fn forward_gives_class_logits_for_each_stem_and_layout() {
    let device = Default::default();
    for (model, dataset) in [
        (
            config(
                4,
                &[2, 2, 2],
                Stem::Imagenet,
                None,
                true,
                Transition::Growth,
            ),
            Dataset::Mnist,
        ),
        (
            config(
                4,
                &[1, 1, 1, 1],
                Stem::Imagenet,
                Some(false),
                false,
                Transition::Compression,
            ),
            Dataset::Mnist,
        ),
        (
            config(4, &[1, 1], Stem::Cifar, None, true, Transition::Compression),
            Dataset::Cifar10,
        ),
    ] {
        let net = DenseNet::<B>::seeded(&model, dataset, 3, &device);
        let side = dataset.image_size();
        let x = host_random::<B, 4>([3, dataset.channels(), side, side], 4, 0.5, 0.5);
        let logits = net.forward(x, &mut ForwardContext::eval(Precision::F32));
        assert_eq!(logits.dims(), [3, 10], "{model:?}");
        assert_eq!(
            net.trainable_params() as u64,
            summarize(&model, dataset).params
        );
    }
}

#[test]
fn batch_norm_normalizes_with_batch_statistics_and_tracks_running_ones() {
    let device = Default::default();
    let bn = BatchNorm2d::<AD>::new(3, &device);
    let x = host_random::<AD, 4>([4, 3, 5, 5], 6, 2.0, 3.0);
    let y = bn.forward(x.clone());
    let flat = |t: Tensor<AD, 4>| t.swap_dims(0, 1).reshape([3, 100]);
    let mean = flat(y.clone())
        .mean_dim(1)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let var = flat(y).var_bias(1).into_data().to_vec::<f32>().unwrap();
    for c in 0..3 {
        assert!(
            mean[c].abs() < 1e-4 && (var[c] - 1.0).abs() < 1e-3,
            "{mean:?} {var:?}"
        );
    }
    // Running statistics moved 10% towards the batch's (unbiased variance, as PyTorch).
    let batch_mean = flat(x.clone())
        .mean_dim(1)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let batch_var = flat(x).var(1).into_data().to_vec::<f32>().unwrap();
    let running_mean = bn
        .running_mean
        .value_sync()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let running_var = bn
        .running_var
        .value_sync()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    for c in 0..3 {
        assert!((running_mean[c] - 0.1 * batch_mean[c]).abs() < 1e-4);
        assert!((running_var[c] - (0.9 + 0.1 * batch_var[c])).abs() < 1e-3);
    }
    // Evaluation (inner backend) normalizes with the running statistics.
    let eval = bn.valid();
    let z = Tensor::<B, 4>::from_data(TensorData::new(vec![1.0f32; 3 * 4], [1, 3, 2, 2]), &device);
    let out = eval.forward(z).into_data().to_vec::<f32>().unwrap();
    let expected = (1.0 - running_mean[0]) / (running_var[0] + 1e-5).sqrt();
    assert!((out[0] - expected).abs() < 1e-4, "{} vs {expected}", out[0]);
}

/// Cross-entropy of a fixed batch through `net`, as f64.
fn loss_of<BK: Backend>(
    net: &DenseNet<BK>,
    x: &Tensor<BK, 4>,
    y: &Tensor<BK, 1, Int>,
) -> Tensor<BK, 1> {
    let logits = net.forward(x.clone(), &mut ForwardContext::eval(Precision::F32));
    CrossEntropyLossConfig::new()
        .init(&x.device())
        .forward(logits, y.clone())
}

fn scalar<BK: Backend>(t: Tensor<BK, 1>) -> f64 {
    t.into_data().to_vec::<f32>().unwrap()[0] as f64
}

/// A copy of the network with one coordinate of one parameter moved by a step.
type Perturb<'a> = &'a dyn Fn(usize, f32) -> DenseNet<AD>;

#[test]
fn gradients_match_finite_differences() {
    let device = Default::default();
    let model = config(3, &[2, 1], Stem::Imagenet, None, true, Transition::Growth);
    let net = DenseNet::<AD>::seeded(&model, Dataset::Mnist, 7, &device);
    let mut rng = crate::rng::SplitMix64::new(11);
    let pixels: Vec<f32> = (0..4 * 784)
        .map(|_| rng.unit_f64() as f32 * 4.0 - 2.0)
        .collect();
    let x = Tensor::<AD, 4>::from_data(TensorData::new(pixels, [4, 1, 28, 28]), &device);
    let y = Tensor::<AD, 1, Int>::from_data(TensorData::new(vec![0i64, 3, 7, 9], [4]), &device);
    let grads = loss_of(&net, &x, &y).backward();

    // (name, analytic gradient, perturbed copies of the network)

    let perturb_classifier = |i: usize, d: f32| {
        let mut n = net.clone();
        let mut w = n
            .classifier
            .weight
            .val()
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        w[i] += d;
        let shape = n.classifier.weight.dims();
        n.classifier.weight =
            Param::from_tensor(Tensor::from_data(TensorData::new(w, shape), &device));
        n
    };
    let perturb_conv = |i: usize, d: f32| {
        let mut n = net.clone();
        let conv = &mut n.blocks[0].layers[1].conv.conv;
        let mut w = conv.weight.val().into_data().to_vec::<f32>().unwrap();
        w[i] += d;
        let shape = conv.weight.dims();
        conv.weight = Param::from_tensor(Tensor::from_data(TensorData::new(w, shape), &device));
        n
    };
    let perturb_gamma = |i: usize, d: f32| {
        let mut n = net.clone();
        let norm = &mut n.head_norm;
        let mut w = norm.gamma.val().into_data().to_vec::<f32>().unwrap();
        w[i] += d;
        let len = w.len();
        norm.gamma = Param::from_tensor(Tensor::from_data(TensorData::new(w, [len]), &device));
        n
    };
    let g_classifier = net
        .classifier
        .weight
        .grad(&grads)
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let g_conv = net.blocks[0].layers[1]
        .conv
        .conv
        .weight
        .grad(&grads)
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let g_gamma = net
        .head_norm
        .gamma
        .grad(&grads)
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();

    // Central differences in f32 at steps h and h/2, combined by Richardson extrapolation
    // (which cancels the O(h^2) error); where the two disagree the coordinate sits on a ReLU or
    // max-pool kink (non-differentiable) and is skipped.
    let numeric = |perturb: Perturb, i: usize, eps: f32| {
        // In training mode (batch statistics), as the analytic gradient was taken.
        let plus = scalar(loss_of(&perturb(i, eps), &x, &y));
        let minus = scalar(loss_of(&perturb(i, -eps), &x, &y));
        (plus - minus) / (2.0 * eps as f64)
    };
    let (mut checked, mut kinks) = (0, 0);
    let cases: [(&str, Perturb, &[f32]); 3] = [
        ("classifier", &perturb_classifier, &g_classifier),
        ("conv", &perturb_conv, &g_conv),
        ("bn gamma", &perturb_gamma, &g_gamma),
    ];
    for (name, perturb, analytic) in cases {
        for i in [
            0,
            analytic.len() / 3,
            analytic.len() / 2,
            analytic.len() - 1,
        ] {
            let (coarse, fine) = (numeric(perturb, i, 1e-2), numeric(perturb, i, 5e-3));
            if (coarse - fine).abs() > 0.2 * coarse.abs().max(fine.abs()) + 2e-4 {
                kinks += 1;
                continue;
            }
            let extrapolated = (4.0 * fine - coarse) / 3.0;
            let a = analytic[i] as f64;
            assert!(
                (a - extrapolated).abs() <= 0.03 * a.abs().max(extrapolated.abs()) + 2e-4,
                "{name}[{i}]: analytic {a}, numeric {extrapolated} (steps: {coarse}, {fine})"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "only {checked} of 12 coordinates checked ({kinks} on kinks)"
    );
}

/// Flattened values of a tensor as f32, whatever float type it holds.
fn values<BK: Backend, const D: usize>(t: Tensor<BK, D>) -> Vec<f32> {
    t.cast(burn::tensor::FloatDType::F32)
        .into_data()
        .to_vec::<f32>()
        .unwrap()
}

/// Cosine similarity and largest absolute difference of two equally long vectors.
fn agreement(a: &[f32], b: &[f32]) -> (f64, f64) {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let max_diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() as f64)
        .fold(0.0, f64::max);
    (dot / (norm(a) * norm(b)), max_diff)
}

#[test]
fn bf16_autocast_rounds_convolutions_but_keeps_geometry_and_f32_gradients() {
    let device = Default::default();
    // The imagenet stem (7x7 stride 2 on 28x28) needs asymmetric SAME padding: the autocast
    // path computes it by hand, so a wrong pad would move every value, not only round it.
    for stem in [Stem::Imagenet, Stem::Cifar] {
        let model = config(4, &[2, 2], stem, None, true, Transition::Growth);
        let net = DenseNet::<AD>::seeded(&model, Dataset::Mnist, 5, &device);
        let x = host_random::<AD, 4>([6, 1, 28, 28], 8, 0.5, 0.5);
        let y = Tensor::<AD, 1, Int>::from_data(
            TensorData::new(vec![0i64, 1, 2, 3, 4, 5], [6]),
            &device,
        );
        let run = |precision: Precision| {
            let mut ctx = ForwardContext::eval(precision);
            let logits = net.forward(x.clone(), &mut ctx);
            let loss = CrossEntropyLossConfig::new()
                .init(&device)
                .forward(logits.clone(), y.clone());
            let grads = loss.backward();
            let stem_grad = net
                .stem
                .weight
                .grad(&grads)
                .expect("stem weight has a gradient");
            let conv_grad = net.blocks[1].layers[0]
                .conv
                .conv
                .weight
                .grad(&grads)
                .unwrap();
            (logits, stem_grad, conv_grad)
        };
        let (logits32, stem32, conv32) = run(Precision::F32);
        let (logits16, stem16, conv16) = run(Precision::Bf16);

        assert_eq!(logits16.dims(), logits32.dims());
        assert_eq!(logits16.dtype(), burn::tensor::DType::F32, "{stem:?}");
        // The master weights' gradients are f32, whatever the convolutions computed in.
        assert_eq!(stem16.dtype(), burn::tensor::DType::F32);
        assert_eq!(conv16.dtype(), burn::tensor::DType::F32);

        let (cos, diff) = agreement(&values(logits16), &values(logits32));
        // bf16 keeps 8 significant bits: the logits move, but only a little.
        assert!(
            diff > 0.0,
            "{stem:?}: bf16 logits equal the f32 ones: no rounding happened"
        );
        assert!(
            cos > 0.999 && diff < 0.1,
            "{stem:?}: cos {cos}, max diff {diff}"
        );
        for (name, g16, g32) in [("stem", stem16, stem32), ("block 2 conv", conv16, conv32)] {
            let (cos, _) = agreement(&values(g16), &values(g32));
            // Every convolution's input, weight and incoming gradient is rounded to 8 bits, and
            // batch norm's centering cancels much of what is left: measured 0.979 to 0.991.
            assert!(cos > 0.95, "{stem:?} {name}: gradient cosine {cos}");
        }
    }
}

#[test]
fn pointwise_convolutions_as_matmuls_give_burns_outputs_and_gradients() {
    let device = Default::default();
    // Bottleneck layers and compression transitions: every 1x1 kind the network has.
    let model = config(4, &[2, 2], Stem::Cifar, None, true, Transition::Compression);
    let net = DenseNet::<AD>::seeded(&model, Dataset::Mnist, 9, &device);
    let x = host_random::<AD, 4>([5, 1, 28, 28], 10, 0.5, 0.5);
    let y = Tensor::<AD, 1, Int>::from_data(TensorData::new(vec![1i64, 2, 3, 4, 5], [5]), &device);
    let run = |as_matmul: bool| {
        let mut ctx = ForwardContext::eval(Precision::F32);
        ctx.pointwise_as_matmul = as_matmul;
        let logits = net.forward(x.clone(), &mut ctx);
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits.clone(), y.clone());
        let grads = loss.backward();
        let bottleneck = &net.blocks[0].layers[1].bottleneck.as_ref().unwrap().conv;
        let transition = &net.transitions[0].conv.conv;
        (
            values(logits),
            values(bottleneck.weight.grad(&grads).unwrap()),
            values(transition.weight.grad(&grads).unwrap()),
        )
    };
    let (conv, matmul) = (run(false), run(true));
    for (name, a, b) in [
        ("logits", &conv.0, &matmul.0),
        ("bottleneck weight gradient", &conv.1, &matmul.1),
        ("transition weight gradient", &conv.2, &matmul.2),
    ] {
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        let (_, diff) = agreement(a, b);
        assert!(
            scale > 0.0 && diff <= 1e-4 * scale as f64,
            "{name}: max difference {diff} at scale {scale}"
        );
    }
}
