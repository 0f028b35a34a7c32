//! The resolved configuration of one trial: what the model, the data and the trainer are
//! built from. Field names are the experiment file's keys.

use serde::{Deserialize, Serialize};

/// Datasets the trainer knows. `mnist-mini` is bundled in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    Mnist,
    MnistMini,
    /// Zalando's Fashion-MNIST: MNIST's layout and sizes, ten kinds of clothing.
    FashionMnist,
    Cifar10,
}

impl Dataset {
    /// Image side in pixels (all datasets are square).
    pub fn image_size(self) -> usize {
        match self {
            Dataset::Mnist | Dataset::MnistMini | Dataset::FashionMnist => 28,
            Dataset::Cifar10 => 32,
        }
    }
    pub fn channels(self) -> usize {
        match self {
            Dataset::Mnist | Dataset::MnistMini | Dataset::FashionMnist => 1,
            Dataset::Cifar10 => 3,
        }
    }
    /// Images in the official training set (mnist-mini: the first 2,000 of MNIST's).
    pub const fn train_images(self) -> usize {
        match self {
            Dataset::Mnist | Dataset::FashionMnist => 60_000,
            Dataset::MnistMini => 2_000,
            Dataset::Cifar10 => 50_000,
        }
    }

    pub fn num_classes(self) -> usize {
        10
    }
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::MnistMini => "mnist-mini",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Cifar10 => "cifar10",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: Dataset,
    /// CIFAR augmentation: random 32x32 crop of the 4-pixel zero-padded image, horizontal flip.
    #[serde(default)]
    pub augment: bool,
    /// Fraction of the training set held out as a validation split, in [0, 1).
    #[serde(default)]
    pub validation_split: f64,
    /// Use only the first N training images (smoke tests, quick sweeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<usize>,
    /// Use only the first N test images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_samples: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// 7x7 stride-2 conv with `stem_channels` filters (+ 3x3 stride-2 max-pool when
    /// `stem_pool`).
    Imagenet,
    /// One 3x3 conv with `stem_channels` filters.
    Cifar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// Compress to k channels, as the reference TensorFlow code.
    Growth,
    /// Compress to floor(compression * channels), as DenseNet-BC.
    Compression,
}

/// How convolution and classifier weights are drawn. Batch norm starts at scale 1, shift 0
/// under every rule. Fans of a convolution count its kernel: fan-in = k*k*c_in, fan-out =
/// k*k*c_out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Convolutions N(0, 2/fan-in) (torchvision's DenseNet); the classifier as PyTorch's
    /// default. What densenet-lab drew before the key existed.
    #[default]
    HeNormal,
    /// Convolutions N(0, 2/fan-out), the paper's Torch7 code (n = k*k*out_channels); the
    /// classifier's weight as PyTorch's default, its bias zero (as that code).
    HeNormalFanOut,
    /// Convolutions and the classifier U(-a, a), a = sqrt(6/(fan-in + fan-out)); the bias
    /// zero. TensorFlow/Keras's default, so the seed's.
    GlorotUniform,
    /// PyTorch's default: kaiming_uniform with a = sqrt(5), U(-1/sqrt(fan-in), 1/sqrt(fan-in)),
    /// for every weight and the classifier's bias.
    TorchDefault,
}

impl Init {
    pub const ALL: [Init; 4] = [
        Init::HeNormal,
        Init::HeNormalFanOut,
        Init::GlorotUniform,
        Init::TorchDefault,
    ];

    /// The experiment file's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Init::HeNormal => "he_normal",
            Init::HeNormalFanOut => "he_normal_fan_out",
            Init::GlorotUniform => "glorot_uniform",
            Init::TorchDefault => "torch_default",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == Init::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub growth_rate: usize,
    /// Layers per dense block; a transition follows every block but the last.
    pub blocks: Vec<usize>,
    #[serde(default = "default_true")]
    pub bottleneck: bool,
    #[serde(default = "default_transition")]
    pub transition: Transition,
    #[serde(default = "default_compression")]
    pub compression: f64,
    #[serde(default = "default_stem")]
    pub stem: Stem,
    /// Only for the imagenet stem; absent means true there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem_pool: Option<bool>,
    /// Filters of the stem's convolution; absent means 2k (DenseNet-BC and the ImageNet
    /// models). The paper's plain CIFAR networks use 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem_channels: Option<usize>,
    #[serde(default)]
    pub dropout: f64,
    /// How weights are drawn (see [`Init`]).
    #[serde(default)]
    pub init: Init,
}

impl ModelConfig {
    /// Whether the imagenet stem's 3x3 stride-2 max-pool is used.
    pub fn uses_stem_pool(&self) -> bool {
        self.stem == Stem::Imagenet && self.stem_pool.unwrap_or(true)
    }

    /// Channels the stem makes: `stem_channels`, or 2k when it is not set.
    pub fn stem_width(&self) -> usize {
        self.stem_channels
            .unwrap_or_else(|| self.growth_rate.saturating_mul(2))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Optimizer {
    Adam {
        lr: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_eps")]
        eps: f64,
        #[serde(default)]
        weight_decay: f64,
    },
    Sgd {
        lr: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f64,
    },
}

impl Optimizer {
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Adam { lr, .. } | Optimizer::Sgd { lr, .. } => *lr,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    Constant,
    /// Multiply the rate by `factor` at each fraction of the run in `at` (epoch granularity).
    Step {
        at: Vec<f64>,
        factor: f64,
    },
    /// Cosine decay from the base rate to `min_lr` over the run (step granularity).
    Cosine {
        #[serde(default)]
        min_lr: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    #[serde(default)]
    pub seed: u64,
    /// Log train loss and accuracy every N steps.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    /// The float type convolutions compute in.
    #[serde(default)]
    pub precision: Precision,
}

/// What convolutions compute in. Parameters, batch norm, the loss and the optimizer state are
/// f32 in every mode: `bf16` is autocast with f32 master weights, as PyTorch's AMP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Precision {
    #[default]
    F32,
    /// Convolution inputs and weights rounded to bfloat16, products accumulated in f32,
    /// outputs f32: on CUDA through burn's casts, on the CPU by the executor's bf16 kernels.
    Bf16,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::Bf16];

    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
    /// The names of `precisions`, comma-separated: what `devices` lists per device.
    pub fn list(precisions: impl IntoIterator<Item = Precision>) -> String {
        let names: Vec<&str> = precisions.into_iter().map(Precision::name).collect();
        names.join(", ")
    }
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

impl TryFrom<String> for Precision {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            // burn 0.21 gives no switch for TF32: cubek-matmul's `adjust_dtypes` stages f32
            // operands as TF32 in every tensor-core kernel, and autotune picks those kernels
            // where they are faster. A "tf32" mode would run exactly what "f32" runs.
            "tf32" => Err(
                "\"tf32\" is not a separate mode with burn 0.21: on CUDA its f32 \
                 matmuls and convolutions already use TF32 tensor cores wherever its autotuner \
                 finds them faster, and it has no switch to turn that on or off; use \"f32\""
                    .to_string(),
            ),
            other => Err(format!(
                "expected one of \"f32\", \"bf16\", found \"{other}\""
            )),
        }
    }
}

impl From<Precision> for String {
    fn from(p: Precision) -> String {
        p.name().to_string()
    }
}

/// Everything one trial is built from. Serialized to JSON for the store and the hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialConfig {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

fn default_true() -> bool {
    true
}
fn default_transition() -> Transition {
    Transition::Growth
}
fn default_compression() -> f64 {
    0.5
}
fn default_stem() -> Stem {
    Stem::Imagenet
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}
fn default_schedule() -> Schedule {
    Schedule::Constant
}
fn default_log_every() -> usize {
    10
}
