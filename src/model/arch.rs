//! Parameter and FLOP counts from the configuration alone, so that `check` can report them
//! before anything is built. The built model's parameter count is tested against these.
//!
//! Conventions (those of PyTorch for the same architecture): convolutions have no bias; batch
//! norm has a weight and a bias (running statistics are buffers, not parameters); the linear head
//! has a bias. FLOPs are those of `torch.utils.flop_counter.FlopCounterMode` for one image:
//! 2 x multiply-accumulates of every convolution and of the linear layer; batch norm, ReLU,
//! pooling and concatenation are not counted.

use crate::spec::{Dataset, ModelConfig, Transition};

/// One stage of the network as `check` and `show` print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageShape {
    pub name: String,
    pub channels_out: usize,
    pub size_out: usize,
}

/// What the configuration builds, counted without building it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchSummary {
    pub params: u64,
    pub flops: u64,
    /// Channels entering the classifier head.
    pub head_channels: usize,
    pub stages: Vec<StageShape>,
    /// Values kept for the backward pass of one image during training (f32 activations): the
    /// basis of the memory estimate.
    pub activations_per_image: u64,
}

/// Channel count a transition compresses `channels` to.
pub fn transition_channels(model: &ModelConfig, channels: usize) -> usize {
    match model.transition {
        Transition::Growth => model.growth_rate,
        Transition::Compression => (model.compression * channels as f64).floor() as usize,
    }
}

/// Output side of a TF 'SAME' convolution.
pub fn same_conv_size(size: usize, stride: usize) -> usize {
    size.div_ceil(stride)
}

/// Output side of a 'VALID' pooling window.
pub fn valid_pool_size(size: usize, kernel: usize, stride: usize) -> usize {
    if size < kernel {
        0
    } else {
        (size - kernel) / stride + 1
    }
}

#[derive(Default)]
struct Counter {
    params: u64,
    flops: u64,
    activations: u64,
}

impl Counter {
    fn conv(&mut self, c_in: usize, c_out: usize, kernel: usize, size_out: usize) {
        let weights = (c_in * c_out * kernel * kernel) as u64;
        self.params += weights;
        self.flops += 2 * weights * (size_out * size_out) as u64;
        self.activations += (c_out * size_out * size_out) as u64;
    }
    /// BN + ReLU over `channels` maps of `size` (two saved tensors).
    fn norm_relu(&mut self, channels: usize, size: usize) {
        self.params += 2 * channels as u64;
        self.activations += 2 * (channels * size * size) as u64;
    }
}

/// Counts for `model` on `dataset`'s images. The spec has already checked that no feature map
/// shrinks to nothing; a zero-size map here only gives zero FLOPs for the stages past it.
pub fn summarize(model: &ModelConfig, dataset: Dataset) -> ArchSummary {
    let k = model.growth_rate;
    let mut c = Counter::default();
    let mut stages = Vec::new();
    let mut size = dataset.image_size();
    let mut channels = model.stem_width();
    match model.stem {
        crate::spec::Stem::Imagenet => {
            size = same_conv_size(size, 2);
            c.conv(dataset.channels(), channels, 7, size);
            if model.uses_stem_pool() {
                size = valid_pool_size(size, 3, 2);
                c.activations += (channels * size * size) as u64;
            }
        }
        crate::spec::Stem::Cifar => c.conv(dataset.channels(), channels, 3, size),
    }
    stages.push(StageShape {
        name: "stem".into(),
        channels_out: channels,
        size_out: size,
    });
    for (b, &layers) in model.blocks.iter().enumerate() {
        for _ in 0..layers {
            let mut c_in = channels;
            if model.bottleneck {
                c.norm_relu(c_in, size);
                c.conv(c_in, 4 * k, 1, size);
                c_in = 4 * k;
            }
            c.norm_relu(c_in, size);
            c.conv(c_in, k, 3, size);
            channels += k;
            // The concatenation is a new tensor of all channels so far.
            c.activations += (channels * size * size) as u64;
        }
        stages.push(StageShape {
            name: format!("block {}", b + 1),
            channels_out: channels,
            size_out: size,
        });
        if b + 1 < model.blocks.len() {
            let out = transition_channels(model, channels);
            c.norm_relu(channels, size);
            c.conv(channels, out, 1, size);
            channels = out;
            size = valid_pool_size(size, 2, 2);
            c.activations += (channels * size * size) as u64;
            stages.push(StageShape {
                name: format!("transition {}", b + 1),
                channels_out: channels,
                size_out: size,
            });
        }
    }
    c.norm_relu(channels, size);
    let classes = dataset.num_classes();
    c.params += (channels * classes + classes) as u64;
    c.flops += 2 * (channels * classes) as u64;
    stages.push(StageShape {
        name: "head".into(),
        channels_out: classes,
        size_out: 1,
    });
    ArchSummary {
        params: c.params,
        flops: c.flops,
        head_channels: channels,
        stages,
        activations_per_image: c.activations,
    }
}
