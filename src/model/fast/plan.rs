//! The network's shapes, from the same configuration (and the same `arch` arithmetic) that
//! builds the burn model, and the host copy of its parameters laid out to match.

use super::conv::Window;
use super::norm::NormParams;
use crate::model::arch::transition_channels;
use crate::spec::{Dataset, ModelConfig, Stem};

#[derive(Debug, Clone)]
pub(super) struct StemPlan {
    pub c_in: usize,
    pub c_out: usize,
    pub conv: Window,
    pub pool: Option<Window>,
}

#[derive(Debug, Clone)]
pub(super) struct BlockPlan {
    pub c_in: usize,
    pub growth: usize,
    pub layers: usize,
    /// Channels of the 1x1 bottleneck (4k), if the layers have one.
    pub bottleneck: Option<usize>,
    pub size: usize,
}

impl BlockPlan {
    /// Channels of the block's output: its input and every layer's k new ones.
    pub fn c_total(&self) -> usize {
        self.c_in + self.layers * self.growth
    }
    pub fn layer_c_in(&self, layer: usize) -> usize {
        self.c_in + layer * self.growth
    }
    pub fn conv3x3(&self) -> Window {
        Window::same(3, 1, self.size)
    }
}

#[derive(Debug, Clone)]
pub(super) struct TransitionPlan {
    pub c_in: usize,
    pub c_out: usize,
    pub pool: Window,
}

/// Every shape of one network, for any batch size.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub stem: StemPlan,
    pub blocks: Vec<BlockPlan>,
    pub transitions: Vec<TransitionPlan>,
    pub classes: usize,
    /// Dropout probability after every convolution but the stem's.
    pub dropout: f64,
}

impl Plan {
    pub fn new(model: &ModelConfig, dataset: Dataset) -> Self {
        let k = model.growth_rate;
        let size = dataset.image_size();
        let conv = match model.stem {
            Stem::Imagenet => Window::same(7, 2, size),
            Stem::Cifar => Window::same(3, 1, size),
        };
        let c_out = model.stem_width();
        let pool = model
            .uses_stem_pool()
            .then(|| Window::valid(3, 2, conv.size_out));
        let stem = StemPlan {
            c_in: dataset.channels(),
            c_out,
            conv,
            pool,
        };
        let mut size = pool.map_or(conv.size_out, |p| p.size_out);
        let mut channels = c_out;
        let (mut blocks, mut transitions) = (Vec::new(), Vec::new());
        for (b, &layers) in model.blocks.iter().enumerate() {
            let block = BlockPlan {
                c_in: channels,
                growth: k,
                layers,
                bottleneck: model.bottleneck.then_some(4 * k),
                size,
            };
            channels = block.c_total();
            blocks.push(block);
            if b + 1 < model.blocks.len() {
                let out = transition_channels(model, channels);
                let pool = Window::valid(2, 2, size);
                transitions.push(TransitionPlan {
                    c_in: channels,
                    c_out: out,
                    pool,
                });
                channels = out;
                size = pool.size_out;
            }
        }
        Self {
            stem,
            blocks,
            transitions,
            classes: dataset.num_classes(),
            dropout: model.dropout,
        }
    }

    pub fn head_channels(&self) -> usize {
        self.blocks
            .last()
            .map_or(self.stem.c_out, BlockPlan::c_total)
    }

    pub fn head_size(&self) -> usize {
        self.blocks
            .last()
            .map_or(self.stem.conv.size_out, |b| b.size)
    }
}

/// BN-ReLU-conv: a normalization and the convolution's weights `[C_out, C_in * K * K]`.
#[derive(Debug, Clone)]
pub struct UnitParams {
    pub norm: NormParams,
    pub weight: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct LayerParams {
    pub bottleneck: Option<UnitParams>,
    pub conv: UnitParams,
}

/// The network's parameters and running statistics on the host, in the burn model's layout.
/// The same type holds gradients (their running statistics are left empty).
#[derive(Debug, Clone)]
pub struct HostParams {
    pub stem: Vec<f32>,
    pub blocks: Vec<Vec<LayerParams>>,
    pub transitions: Vec<UnitParams>,
    pub head_norm: NormParams,
    /// `[C, classes]`, as burn's `Linear` stores it.
    pub classifier_weight: Vec<f32>,
    pub classifier_bias: Vec<f32>,
}

fn norm(channels: usize, running: bool) -> NormParams {
    let stats = if running { channels } else { 0 };
    NormParams {
        gamma: vec![0.0; channels],
        beta: vec![0.0; channels],
        running_mean: vec![0.0; stats],
        running_var: vec![0.0; stats],
    }
}

fn unit(c_in: usize, c_out: usize, kernel: usize, running: bool) -> UnitParams {
    UnitParams {
        norm: norm(c_in, running),
        weight: vec![0.0; c_out * c_in * kernel * kernel],
    }
}

impl HostParams {
    /// Zeros of every shape `plan` needs; `running` says whether the running statistics get
    /// room too (parameters) or not (gradients).
    pub(super) fn zeros(plan: &Plan, running: bool) -> Self {
        let stem = &plan.stem;
        let blocks = plan
            .blocks
            .iter()
            .map(|b| {
                (0..b.layers)
                    .map(|l| {
                        let c_in = b.layer_c_in(l);
                        match b.bottleneck {
                            Some(mid) => LayerParams {
                                bottleneck: Some(unit(c_in, mid, 1, running)),
                                conv: unit(mid, b.growth, 3, running),
                            },
                            None => LayerParams {
                                bottleneck: None,
                                conv: unit(c_in, b.growth, 3, running),
                            },
                        }
                    })
                    .collect()
            })
            .collect();
        let transitions = plan
            .transitions
            .iter()
            .map(|t| unit(t.c_in, t.c_out, 1, running))
            .collect();
        let c = plan.head_channels();
        Self {
            stem: vec![0.0; stem.c_out * stem.c_in * stem.conv.kernel * stem.conv.kernel],
            blocks,
            transitions,
            head_norm: norm(c, running),
            classifier_weight: vec![0.0; c * plan.classes],
            classifier_bias: vec![0.0; plan.classes],
        }
    }
}
