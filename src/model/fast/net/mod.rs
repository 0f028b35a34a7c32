//! The forward and backward passes over channel-major buffers.
//!
//! A dense block's features live in one `[C_total, N*S*S]` buffer: the block input fills the
//! first rows and each layer writes its k new channels straight after them, so the
//! concatenation costs nothing and every layer reads a contiguous prefix. The backward pass
//! keeps a gradient buffer of the same shape; going through the layers in reverse, a layer's
//! own rows are complete when it is reached, and it adds its input gradient to the prefix.
//! What a step keeps is the features, the bottleneck outputs and the dropout masks; BN-ReLU
//! outputs and im2col matrices are recomputed when the backward pass needs them.

mod backward;

use super::conv::{Window, avg_pool, conv_forward, max_pool, norm_relu_conv_forward};
use super::gemm::{Arith, Mat, matmul};
use super::norm::{ChannelStats, Norm, NormParams, norm_relu};
use super::plan::{HostParams, Plan};
use crate::rng::SplitMix64;

/// Whether a pass trains (batch statistics, dropout from the generator) or evaluates.
pub(super) enum Mode<'a> {
    Train(&'a mut SplitMix64),
    Eval,
}

#[derive(Default)]
struct LayerTape {
    norm_in: Norm,
    /// The bottleneck's output after dropout, `[4k, M]` (empty without a bottleneck).
    mid: Vec<f32>,
    mask_mid: Vec<bool>,
    norm_mid: Norm,
    mask_out: Vec<bool>,
}

#[derive(Default)]
struct TransitionTape {
    norm: Norm,
    mask: Vec<bool>,
}

/// What the forward pass keeps for the backward pass. Buffers are reused across steps.
#[derive(Default)]
struct Tape {
    n: usize,
    /// The input images, channel-major.
    images: Vec<f32>,
    /// The stem convolution's output before its max-pool, when there is one.
    stem_out: Vec<f32>,
    argmax: Vec<u32>,
    features: Vec<Vec<f32>>,
    layers: Vec<Vec<LayerTape>>,
    transitions: Vec<TransitionTape>,
    head_norm: Norm,
    /// Globally pooled head features, `[C, N]`.
    pooled: Vec<f32>,
    logits: Vec<f32>,
}

/// Scratch space, reused across steps.
#[derive(Default)]
struct Scratch {
    activated: Vec<f32>,
    col: Vec<f32>,
    grad_out: Vec<f32>,
    grad_src: Vec<f32>,
    grad_mid: Vec<f32>,
    transition_out: Vec<f32>,
    grad_features: Vec<Vec<f32>>,
    /// The current block's channel statistics in a training pass.
    stats: ChannelStats,
}

/// Runs the network of one [`Plan`] on the host.
pub(super) struct Passes {
    pub plan: Plan,
    /// What the convolutions compute in; the classifier stays f32, as in the burn model.
    pub arith: Arith,
    tape: Tape,
    scratch: Scratch,
}

fn resized(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    v.resize(len, 0.0);
    &mut v[..len]
}

/// The first `len` values of a scratch buffer, grown when it is shorter and never shrunk:
/// one used at several sizes in a pass (`grad_src` holds 4k rows, then a whole prefix) would
/// otherwise clear its regrown part every time. Its values past `len` are stale; every
/// reader takes its sizes from the shapes, not from the buffer's length.
fn grown(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// [`normalize`] of the first channels of a dense block's features, whose statistics
/// `stats` keeps across the block's layers (computed for the channels it lacks).
fn normalize_features(
    params: &mut NormParams,
    stats: &mut ChannelStats,
    x: &[f32],
    m: usize,
    train: bool,
) -> Norm {
    if train {
        stats.extend(x, params.channels(), m);
        params.batch_from(stats, m)
    } else {
        params.running()
    }
}

fn normalize(params: &mut NormParams, x: &[f32], m: usize, train: bool) -> Norm {
    if train {
        params.batch(x, m)
    } else {
        params.running()
    }
}

/// Inverted dropout in place over `[C, N, hw]`; the mask is drawn in the order the burn
/// model draws it (`[N, C, H, W]`, row-major), so both paths drop the same values.
fn dropout(
    x: &mut [f32],
    (c, n, hw): (usize, usize, usize),
    p: f64,
    mode: &mut Mode<'_>,
    mask: &mut Vec<bool>,
) {
    mask.clear();
    let Mode::Train(rng) = mode else { return };
    if p <= 0.0 {
        return;
    }
    mask.resize(c * n * hw, false);
    let threshold = (p * u32::MAX as f64) as u32;
    for b in 0..n {
        for ch in 0..c {
            let row = &mut mask[(ch * n + b) * hw..][..hw];
            for keep in row.iter_mut() {
                *keep = (rng.next_u64() >> 32) as u32 >= threshold;
            }
        }
    }
    apply_mask(x, mask, p);
}

/// Multiplies by the dropout mask (kept values scaled by 1/(1-p)); an empty mask keeps all.
fn apply_mask(x: &mut [f32], mask: &[bool], p: f64) {
    if mask.is_empty() {
        return;
    }
    let scale = (1.0 / (1.0 - p)) as f32;
    for (v, &keep) in x.iter_mut().zip(mask) {
        *v = if keep { *v * scale } else { 0.0 };
    }
}

impl Passes {
    pub fn new(plan: Plan, arith: Arith) -> Self {
        let tape = Tape {
            layers: plan
                .blocks
                .iter()
                .map(|b| (0..b.layers).map(|_| LayerTape::default()).collect())
                .collect(),
            transitions: plan
                .transitions
                .iter()
                .map(|_| TransitionTape::default())
                .collect(),
            features: vec![Vec::new(); plan.blocks.len()],
            ..Tape::default()
        };
        let scratch = Scratch {
            grad_features: vec![Vec::new(); plan.blocks.len()],
            ..Scratch::default()
        };
        Self {
            plan,
            arith,
            tape,
            scratch,
        }
    }

    /// Logits `[N, classes]` for `n` images `[N, C, H, W]`. Training mode normalizes with the
    /// batch statistics and moves `params`' running statistics, as the burn model does.
    pub fn forward(
        &mut self,
        params: &mut HostParams,
        images: &[f32],
        n: usize,
        mut mode: Mode<'_>,
    ) -> &[f32] {
        let (plan, t, s) = (&self.plan, &mut self.tape, &mut self.scratch);
        let arith = self.arith;
        let train = matches!(mode, Mode::Train(_));
        let p = plan.dropout;
        t.n = n;
        let stem = &plan.stem;
        let area_in = stem.conv.size_in * stem.conv.size_in;
        let x = resized(&mut t.images, stem.c_in * n * area_in);
        for b in 0..n {
            for c in 0..stem.c_in {
                x[(c * n + b) * area_in..][..area_in]
                    .copy_from_slice(&images[(b * stem.c_in + c) * area_in..][..area_in]);
            }
        }
        for (buf, block) in t.features.iter_mut().zip(&plan.blocks) {
            resized(buf, block.c_total() * n * block.size * block.size);
        }
        let shape = (stem.c_in, stem.c_out, n);
        let m_stem = n * stem.conv.size_out * stem.conv.size_out;
        match stem.pool {
            Some(pool) => {
                let out = resized(&mut t.stem_out, stem.c_out * m_stem);
                conv_forward(
                    &params.stem,
                    &t.images,
                    shape,
                    stem.conv,
                    &mut s.col,
                    out,
                    arith,
                );
                let pooled = stem.c_out * n * pool.size_out * pool.size_out;
                t.argmax.resize(pooled, 0);
                max_pool(
                    &t.stem_out,
                    stem.c_out,
                    n,
                    pool,
                    &mut t.features[0],
                    &mut t.argmax,
                );
            }
            None => conv_forward(
                &params.stem,
                &t.images,
                shape,
                stem.conv,
                &mut s.col,
                &mut t.features[0],
                arith,
            ),
        }
        for (b, block) in plan.blocks.iter().enumerate() {
            let hw = block.size * block.size;
            let m = n * hw;
            let features = &mut t.features[b];
            s.stats.clear();
            for (l, (lp, lt)) in params.blocks[b]
                .iter_mut()
                .zip(&mut t.layers[b])
                .enumerate()
            {
                let c_in = block.layer_c_in(l);
                let (x, rest) = features.split_at_mut(c_in * m);
                let out = &mut rest[..block.growth * m];
                // The 3x3 convolution's input, before its BN-ReLU: the bottleneck's output or the block's.
                let (src, norm, src_channels) = match (&mut lp.bottleneck, block.bottleneck) {
                    (Some(unit), Some(mid)) => {
                        lt.norm_in = normalize_features(&mut unit.norm, &mut s.stats, x, m, train);
                        let y = resized(&mut lt.mid, mid * m);
                        norm_relu_conv_forward(
                            &unit.weight,
                            x,
                            lt.norm_in.as_map(),
                            (c_in, mid, n),
                            Window::pointwise(block.size),
                            &mut s.activated,
                            &mut s.col,
                            y,
                            arith,
                        );
                        dropout(y, (mid, n, hw), p, &mut mode, &mut lt.mask_mid);
                        lt.norm_mid = normalize(&mut lp.conv.norm, &lt.mid, m, train);
                        (&lt.mid[..], &lt.norm_mid, mid)
                    }
                    _ => {
                        lt.norm_in =
                            normalize_features(&mut lp.conv.norm, &mut s.stats, x, m, train);
                        (&x[..], &lt.norm_in, c_in)
                    }
                };
                norm_relu_conv_forward(
                    &lp.conv.weight,
                    src,
                    norm.as_map(),
                    (src_channels, block.growth, n),
                    block.conv3x3(),
                    &mut s.activated,
                    &mut s.col,
                    out,
                    arith,
                );
                dropout(out, (block.growth, n, hw), p, &mut mode, &mut lt.mask_out);
            }
            if let Some(tp) = plan.transitions.get(b) {
                let (done, next) = t.features.split_at_mut(b + 1);
                let x = &done[b][..tp.c_in * m];
                let unit = &mut params.transitions[b];
                let tt = &mut t.transitions[b];
                tt.norm = normalize_features(&mut unit.norm, &mut s.stats, x, m, train);
                let y = grown(&mut s.transition_out, tp.c_out * m);
                norm_relu_conv_forward(
                    &unit.weight,
                    x,
                    tt.norm.as_map(),
                    (tp.c_in, tp.c_out, n),
                    Window::pointwise(block.size),
                    &mut s.activated,
                    &mut s.col,
                    y,
                    arith,
                );
                dropout(y, (tp.c_out, n, hw), p, &mut mode, &mut tt.mask);
                avg_pool(y, tp.c_out, n, tp.pool, &mut next[0]);
            }
        }
        let (c, hw) = (plan.head_channels(), plan.head_size() * plan.head_size());
        let x = t.features.last().expect("a network has a dense block");
        t.head_norm = normalize_features(&mut params.head_norm, &mut s.stats, x, n * hw, train);
        let z = grown(&mut s.activated, c * n * hw);
        norm_relu(&t.head_norm, x, z, n * hw);
        let pooled = resized(&mut t.pooled, c * n);
        for (p, row) in pooled.iter_mut().zip(z.chunks(hw.max(1))) {
            *p = row.iter().sum::<f32>() / hw.max(1) as f32;
        }
        let logits = resized(&mut t.logits, n * plan.classes);
        matmul(
            logits,
            Mat::new(&t.pooled, c, n).t(),
            Mat::new(&params.classifier_weight, c, plan.classes),
            false,
            Arith::F32,
        );
        for row in logits.chunks_mut(plan.classes) {
            for (v, b) in row.iter_mut().zip(&params.classifier_bias) {
                *v += b;
            }
        }
        &t.logits
    }
}
