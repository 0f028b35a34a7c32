//! The building blocks burn 0.21's CPU backend runs slowly when written the obvious way.
//!
//! `nn::BatchNorm` broadcasts `[1,C,1,1]` operands over `[N,C,H,W]`, a stride pattern for which
//! the `flex` backend has no SIMD fast path; here the per-channel scale and shift are first
//! expanded over the batch (`[N,C,1,1]`), folded into one multiply and one add, with the big
//! tensor on the left. Dropout draws its mask on the host from the trial's generator instead of
//! burn's per-element Bernoulli sampler. See `docs/burn-0.21-cpu.md` for the figures.
//! While training on the CPU, 1x1 convolutions are batched matmuls. Convolutions are also where
//! `bf16` autocast happens ([`ForwardContext::conv`]).

use burn::module::{Module, Param, RunningState};
use burn::nn::Linear;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{FloatDType, Tensor, TensorData};
use std::cell::Cell;

use crate::rng::SplitMix64;
use crate::spec::Precision;

const BN_EPSILON: f64 = 1e-5;
/// PyTorch's default: running = (1 - m) * running + m * batch statistic.
const BN_MOMENTUM: f64 = 0.1;

/// Batch normalization over the channels of `[N, C, H, W]`, with running statistics for
/// evaluation. Training mode is taken from the backend: autodiff backends normalize with the
/// batch statistics, inner (`valid()`) backends with the running ones.
#[derive(Module, Debug)]
pub struct BatchNorm2d<B: Backend> {
    pub gamma: Param<Tensor<B, 1>>,
    pub beta: Param<Tensor<B, 1>>,
    pub running_mean: RunningState<Tensor<B, 1>>,
    pub running_var: RunningState<Tensor<B, 1>>,
}

impl<B: Backend> BatchNorm2d<B> {
    pub fn new(channels: usize, device: &B::Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
        }
    }

    pub fn channels(&self) -> usize {
        self.gamma.dims()[0]
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, h, w] = x.dims();
        let (mean, var) = if B::ad_enabled(&x.device()) {
            let per_channel = |t: Tensor<B, 4>| -> Tensor<B, 1> {
                t.reshape([n, c, h * w])
                    .mean_dim(2)
                    .mean_dim(0)
                    .reshape([c])
            };
            let mean = per_channel(x.clone());
            let centered = x.clone() - expand_over_batch(mean.clone(), n);
            let var = per_channel(centered.square());
            self.update_running(mean.clone(), var.clone(), n * h * w);
            (mean, var)
        } else {
            (self.running_mean.value(), self.running_var.value())
        };
        let scale = self.gamma.val() / (var + BN_EPSILON).sqrt();
        let shift = self.beta.val() - mean * scale.clone();
        x * expand_over_batch(scale, n) + expand_over_batch(shift, n)
    }

    fn update_running(&self, mean: Tensor<B, 1>, var: Tensor<B, 1>, count: usize) {
        // PyTorch keeps the unbiased variance in its running estimate.
        let unbiased = if count > 1 {
            count as f64 / (count as f64 - 1.0)
        } else {
            1.0
        };
        let blend = |running: Tensor<B, 1>, batch: Tensor<B, 1>| {
            (running * (1.0 - BN_MOMENTUM) + batch.detach() * BN_MOMENTUM).detach()
        };
        let mean_running = blend(self.running_mean.value_sync(), mean);
        let var_running = blend(self.running_var.value_sync(), var * unbiased);
        self.running_mean.update(mean_running);
        self.running_var.update(var_running);
    }
}

/// `[C]` to `[N, C, 1, 1]`: materialized over the batch so that the broadcast against
/// `[N, C, H, W]` hits the backend's "one scalar per row" fast path.
fn expand_over_batch<B: Backend>(t: Tensor<B, 1>, n: usize) -> Tensor<B, 4> {
    let [c] = t.dims();
    t.reshape([1, c, 1, 1]).repeat_dim(0, n)
}

/// Where dropout masks come from during training.
pub enum DropoutSource {
    /// Drawn on the host from the trial's generator: cheap on the CPU backend, reproducible.
    Host(SplitMix64),
    /// Drawn on the device by the backend (GPU backends: no host-to-device copy per layer).
    Device,
}

/// Per-forward-pass state: whether dropout is active and where its masks come from, what
/// convolutions compute in, and how 1x1 convolutions are expressed.
pub struct ForwardContext {
    pub dropout: Option<DropoutSource>,
    pub precision: Precision,
    /// 1x1 convolutions as one batched matmul, `[C', C] x [N, C, H*W]`. On burn 0.21's CPU
    /// backend this trains faster but evaluates slower (figures and command: README, "The
    /// model"), so it is for CPU training only; untried on CUDA.
    pub pointwise_as_matmul: bool,
    /// When set, every convolution and linear layer adds its FLOPs for one image, counted as
    /// `torch.utils.flop_counter` does, from the shapes it really ran with: the check that
    /// `model::summarize`'s counts are the built model's.
    pub flop_counter: Option<Cell<u64>>,
}

impl ForwardContext {
    /// Evaluation: no dropout.
    pub fn eval(precision: Precision) -> Self {
        Self {
            dropout: None,
            precision,
            pointwise_as_matmul: false,
            flop_counter: None,
        }
    }

    /// Evaluation in f32 that counts FLOPs ([`ForwardContext::counted_flops`]).
    pub fn counting_flops() -> Self {
        Self {
            flop_counter: Some(Cell::new(0)),
            ..Self::eval(Precision::F32)
        }
    }

    /// FLOPs per image of the forward passes so far, when counting.
    pub fn counted_flops(&self) -> Option<u64> {
        self.flop_counter.as_ref().map(Cell::get)
    }

    fn count(&self, flops: usize) {
        if let Some(counter) = &self.flop_counter {
            counter.set(counter.get() + flops as u64);
        }
    }

    /// `linear` applied to `x`, counted: 2 x multiply-accumulates per image.
    pub fn linear<B: Backend>(&self, linear: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let [inputs, outputs] = linear.weight.dims();
        self.count(2 * inputs * outputs);
        linear.forward(x)
    }

    /// Training on the CPU backend: host dropout masks, 1x1 convolutions as matmuls.
    pub fn cpu_training(dropout: SplitMix64, precision: Precision) -> Self {
        Self {
            dropout: Some(DropoutSource::Host(dropout)),
            precision,
            pointwise_as_matmul: true,
            flop_counter: None,
        }
    }

    /// Training on a GPU backend: dropout masks drawn on the device, burn's own convolutions.
    pub fn gpu_training(precision: Precision) -> Self {
        Self {
            dropout: Some(DropoutSource::Device),
            precision,
            pointwise_as_matmul: false,
            flop_counter: None,
        }
    }

    /// `conv` applied to `x`. Under `bf16` the input and a bf16 copy of the weight go in and
    /// the output comes back as f32: the cast is part of the autodiff graph, so gradients
    /// reach the f32 weight (the master copy the optimizer updates) as f32.
    pub fn conv<B: Backend>(&self, conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = self.conv_uncounted(conv, x);
        let [_, c_in_per_group, kh, kw] = conv.weight.dims();
        let [_, c_out, h, w] = y.dims();
        self.count(2 * c_out * c_in_per_group * kh * kw * h * w);
        y
    }

    fn conv_uncounted<B: Backend>(&self, conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self.precision {
            Precision::F32 if self.pointwise_as_matmul && is_pointwise(conv) => {
                let [n, c, h, w] = x.dims();
                let [c_out, ..] = conv.weight.dims();
                let weight = conv.weight.val().reshape([1, c_out, c]);
                let y = weight.matmul(x.reshape([n, c, h * w]));
                let y = match &conv.bias {
                    Some(bias) => y + bias.val().reshape([1, c_out, 1]),
                    None => y,
                };
                y.reshape([n, c_out, h, w])
            }
            Precision::F32 => conv.forward(x),
            Precision::Bf16 => {
                let (x, options) = pad_for(conv, x);
                let weight = conv.weight.val().cast(FloatDType::BF16);
                let bias = conv.bias.as_ref().map(|b| b.val().cast(FloatDType::BF16));
                conv2d(x.cast(FloatDType::BF16), weight, bias, options).cast(FloatDType::F32)
            }
        }
    }

    /// Inverted dropout: zero with probability `p`, scale survivors by 1/(1-p).
    pub fn dropout<B: Backend, const D: usize>(&mut self, x: Tensor<B, D>, p: f64) -> Tensor<B, D> {
        if p <= 0.0 {
            return x;
        }
        let keep_scale = (1.0 / (1.0 - p)) as f32;
        match &mut self.dropout {
            None => x,
            Some(DropoutSource::Host(rng)) => {
                let shape = x.shape();
                let threshold = (p * u32::MAX as f64) as u32;
                let mask: Vec<f32> = (0..shape.num_elements())
                    .map(|_| {
                        if (rng.next_u64() >> 32) as u32 >= threshold {
                            keep_scale
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mask = Tensor::from_data(TensorData::new(mask, shape), &x.device());
                x * mask
            }
            Some(DropoutSource::Device) => {
                let keep = x.random_like(burn::tensor::Distribution::Bernoulli(1.0 - p));
                x * keep * keep_scale
            }
        }
    }
}

/// A 1x1, stride-1, ungrouped convolution: a matmul over the channels at every pixel.
fn is_pointwise<B: Backend>(conv: &Conv2d<B>) -> bool {
    conv.kernel_size == [1, 1] && conv.stride == [1, 1] && conv.groups == 1
}

/// `x` padded as `Conv2d::forward` would pad it, and the options for the rest. burn keeps its
/// padding arithmetic private; TF 'SAME' is the rule the network uses: output ceil(in/stride),
/// the odd row or column of padding at the end. Asymmetric padding is applied here, in f32:
/// burn 0.21 pads by writing into a zero tensor of the backend's default float type, which
/// fails on a bf16 input.
fn pad_for<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> (Tensor<B, 4>, ConvOptions<2>) {
    let [_, _, height, width] = x.dims();
    let same = |size: usize, axis: usize| -> (usize, usize) {
        let (kernel, stride) = (conv.kernel_size[axis], conv.stride[axis]);
        let total = match size.div_ceil(stride) {
            0 => 0,
            out => ((out - 1) * stride + kernel).saturating_sub(size),
        };
        (total / 2, total - total / 2)
    };
    let ((top, bottom), (left, right)) = match conv.padding {
        PaddingConfig2d::Same => (same(height, 0), same(width, 1)),
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
    };
    let options = |padding| ConvOptions::new(conv.stride, padding, conv.dilation, conv.groups);
    if (top, left) == (bottom, right) {
        (x, options([top, left]))
    } else {
        let padded = x.pad((left, right, top, bottom), PadMode::Constant(0.0));
        (padded, options([0, 0]))
    }
}
