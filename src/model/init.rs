//! The weight-drawing rules `model.init` names, as burn initializers. burn computes a
//! convolution's fans with its kernel (fan-in = k*k*c_in, fan-out = k*k*c_out) and a linear
//! layer's as its input and output widths, as PyTorch and Keras do.

use burn::module::Initializer;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::backend::Backend;

use crate::spec::Init;

/// burn's `KaimingUniform { gain: 1/sqrt(3) }` draws U(-1/sqrt(fan-in), 1/sqrt(fan-in)):
/// PyTorch's kaiming_uniform with a = sqrt(5), i.e. its default for convolutions and linear
/// layers (weights and biases alike). burn's own default for both, written as burn writes it
/// so that `he_normal`'s classifier draws what it drew before `model.init`.
fn torch_default() -> Initializer {
    Initializer::KaimingUniform {
        gain: 1.0 / 3.0f64.sqrt(),
        fan_out_only: false,
    }
}

/// He's normal rule behind a ReLU: gain sqrt(2).
const HE_GAIN: f64 = std::f64::consts::SQRT_2;

/// How a convolution's weight is drawn under `init` (convolutions here have no bias).
pub fn conv_initializer(init: Init) -> Initializer {
    match init {
        Init::HeNormal => Initializer::KaimingNormal {
            gain: HE_GAIN,
            fan_out_only: false,
        },
        Init::HeNormalFanOut => Initializer::KaimingNormal {
            gain: HE_GAIN,
            fan_out_only: true,
        },
        Init::GlorotUniform => Initializer::XavierUniform { gain: 1.0 },
        Init::TorchDefault => torch_default(),
    }
}

/// The classifier `inputs -> classes` under `init`: PyTorch's default for both tensors under
/// `he_normal` and `torch_default` (what densenet-lab drew before `model.init`), its default
/// weight with a zero bias under `he_normal_fan_out` (the paper's Torch7 code zeroes it),
/// Glorot uniform with a zero bias under `glorot_uniform` (Keras's `Dense`).
pub fn classifier<B: Backend>(
    init: Init,
    inputs: usize,
    classes: usize,
    device: &B::Device,
) -> Linear<B> {
    let (weight, zero_bias) = match init {
        Init::HeNormal | Init::TorchDefault => (torch_default(), false),
        Init::HeNormalFanOut => (torch_default(), true),
        Init::GlorotUniform => (Initializer::XavierUniform { gain: 1.0 }, true),
    };
    let mut linear = LinearConfig::new(inputs, classes)
        .with_initializer(weight)
        .init(device);
    if zero_bias {
        linear.bias = Some(Initializer::Zeros.init([classes], device));
    }
    linear
}
