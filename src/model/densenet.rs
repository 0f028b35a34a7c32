//! DenseNet as burn modules, built from a [`ModelConfig`] with shapes known only at run time.

use burn::backend::Flex;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::{avg_pool2d, max_pool2d};

use super::arch::transition_channels;
use super::init::{classifier, conv_initializer};
use super::layers::{BatchNorm2d, ForwardContext};
use crate::spec::{Dataset, Init, ModelConfig, Stem};

/// A bias-free convolution with TF 'SAME' padding, drawn by `init`'s rule.
fn conv<B: Backend>(
    init: Init,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    stride: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Same)
        .with_bias(false)
        .with_initializer(conv_initializer(init))
        .init(device)
}

/// BN-ReLU-conv, the pre-activation unit every DenseNet layer is made of.
#[derive(Module, Debug)]
pub struct NormReluConv<B: Backend> {
    pub norm: BatchNorm2d<B>,
    pub conv: Conv2d<B>,
}

impl<B: Backend> NormReluConv<B> {
    fn new(init: Init, c_in: usize, c_out: usize, kernel: usize, device: &B::Device) -> Self {
        Self {
            norm: BatchNorm2d::new(c_in, device),
            conv: conv(init, c_in, c_out, kernel, 1, device),
        }
    }
    fn forward(&self, x: Tensor<B, 4>, ctx: &ForwardContext) -> Tensor<B, 4> {
        ctx.conv(&self.conv, relu(self.norm.forward(x)))
    }
}

/// One dense layer: [BN-ReLU-conv1x1(4k)-dropout-]BN-ReLU-conv3x3(k)-dropout.
#[derive(Module, Debug)]
pub struct DenseLayer<B: Backend> {
    pub bottleneck: Option<NormReluConv<B>>,
    pub conv: NormReluConv<B>,
    pub dropout: f64,
}

impl<B: Backend> DenseLayer<B> {
    fn forward(&self, x: Tensor<B, 4>, ctx: &mut ForwardContext) -> Tensor<B, 4> {
        let x = match &self.bottleneck {
            Some(unit) => {
                let y = unit.forward(x, ctx);
                ctx.dropout(y, self.dropout)
            }
            None => x,
        };
        let y = self.conv.forward(x, ctx);
        ctx.dropout(y, self.dropout)
    }
}

/// BN-ReLU-conv1x1-dropout-avgpool2x2 between dense blocks.
#[derive(Module, Debug)]
pub struct TransitionLayer<B: Backend> {
    pub conv: NormReluConv<B>,
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct DenseBlock<B: Backend> {
    pub layers: Vec<DenseLayer<B>>,
}

impl<B: Backend> DenseBlock<B> {
    /// Each layer sees the concatenation of the block input and all earlier layers' outputs;
    /// the block outputs that concatenation including the last layer (the paper's form).
    fn forward(&self, x: Tensor<B, 4>, ctx: &mut ForwardContext) -> Tensor<B, 4> {
        self.layers.iter().fold(x, |features, layer| {
            let new = layer.forward(features.clone(), ctx);
            Tensor::cat(vec![features, new], 1)
        })
    }
}

#[derive(Module, Debug)]
pub struct DenseNet<B: Backend> {
    pub stem: Conv2d<B>,
    pub stem_pool: bool,
    pub blocks: Vec<DenseBlock<B>>,
    pub transitions: Vec<TransitionLayer<B>>,
    pub head_norm: BatchNorm2d<B>,
    pub classifier: Linear<B>,
}

impl<B: Backend> DenseNet<B> {
    /// Builds the network for `dataset`'s images. Parameters are drawn from the backend's
    /// generator: seed it first for reproducible weights.
    pub fn new(model: &ModelConfig, dataset: Dataset, device: &B::Device) -> Self {
        let (k, init) = (model.growth_rate, model.init);
        let mut channels = model.stem_width();
        let stem = match model.stem {
            Stem::Imagenet => conv(init, dataset.channels(), channels, 7, 2, device),
            Stem::Cifar => conv(init, dataset.channels(), channels, 3, 1, device),
        };
        let mut blocks = Vec::new();
        let mut transitions = Vec::new();
        for (b, &depth) in model.blocks.iter().enumerate() {
            let layers = (0..depth)
                .map(|i| {
                    let c_in = channels + i * k;
                    let (bottleneck, c_mid) = if model.bottleneck {
                        (Some(NormReluConv::new(init, c_in, 4 * k, 1, device)), 4 * k)
                    } else {
                        (None, c_in)
                    };
                    DenseLayer {
                        bottleneck,
                        conv: NormReluConv::new(init, c_mid, k, 3, device),
                        dropout: model.dropout,
                    }
                })
                .collect();
            blocks.push(DenseBlock { layers });
            channels += depth * k;
            if b + 1 < model.blocks.len() {
                let out = transition_channels(model, channels);
                transitions.push(TransitionLayer {
                    conv: NormReluConv::new(init, channels, out, 1, device),
                    dropout: model.dropout,
                });
                channels = out;
            }
        }
        Self {
            stem,
            stem_pool: model.uses_stem_pool(),
            blocks,
            transitions,
            head_norm: BatchNorm2d::new(channels, device),
            classifier: classifier(init, channels, dataset.num_classes(), device),
        }
    }

    /// The network with weights drawn from burn's CPU backend's generator seeded with `seed`,
    /// then copied to `device`: a seed is the same network on every backend (each GPU runtime
    /// has its own generator). That generator is global to the process: trials on other
    /// threads (`--jobs`, tests) would draw from it between our seeding and our
    /// initialization, hence the lock.
    pub fn seeded(model: &ModelConfig, dataset: Dataset, seed: u64, device: &B::Device) -> Self {
        static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = INIT_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let host_device = Default::default();
        Flex::seed(&host_device, seed);
        let host = DenseNet::<Flex>::new(model, dataset, &host_device);
        let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
        let bytes = Recorder::<Flex>::record(&recorder, host.into_record(), ())
            .expect("a DenseNet record serializes to memory");
        let record = Recorder::<B>::load(&recorder, bytes, device)
            .expect("a DenseNet record written here reads back");
        Self::new(model, dataset, device).load_record(record)
    }

    /// Parameters trained by the optimizer. burn's `num_params` also counts batch norm's
    /// running statistics, which PyTorch (and our counts) treat as buffers.
    pub fn trainable_params(&self) -> usize {
        let layer_norms = self.blocks.iter().flat_map(|b| &b.layers).flat_map(|l| {
            l.bottleneck
                .iter()
                .map(|u| &u.norm)
                .chain(std::iter::once(&l.conv.norm))
        });
        let norms = layer_norms
            .chain(self.transitions.iter().map(|t| &t.conv.norm))
            .chain(std::iter::once(&self.head_norm));
        let running: usize = norms.map(|n| 2 * n.channels()).sum();
        self.num_params() - running
    }

    /// Logits `[N, classes]` for images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<B, 4>, ctx: &mut ForwardContext) -> Tensor<B, 2> {
        let mut x = ctx.conv(&self.stem, images);
        if self.stem_pool {
            x = max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], false);
        }
        for (b, block) in self.blocks.iter().enumerate() {
            x = block.forward(x, ctx);
            if let Some(t) = self.transitions.get(b) {
                x = t.conv.forward(x, ctx);
                x = ctx.dropout(x, t.dropout);
                x = avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false);
            }
        }
        let x = relu(self.head_norm.forward(x));
        let [n, c, h, w] = x.dims();
        let pooled = x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]);
        ctx.linear(&self.classifier, pooled)
    }
}
