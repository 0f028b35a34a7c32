//! Batch normalization fused with the ReLU after it, over channel-major `[C, M]` buffers
//! (`M` = batch x height x width values per channel, contiguous).
//!
//! The forward pass writes `relu(x * scale + shift)` in one sweep; the backward pass
//! recomputes the ReLU mask from `x` instead of keeping the normalized tensor (the
//! memory-efficient DenseNet of Pleiss et al., 2017).

use rayon::prelude::*;

use super::wide::wide_fn;

/// PyTorch's (and the burn model's) epsilon and momentum.
pub(super) const EPSILON: f32 = 1e-5;
const MOMENTUM: f32 = 0.1;

/// Below this many values a sweep runs on the calling thread.
const PARALLEL_MIN_VALUES: usize = 1 << 15;

/// What a normalization needs per channel: the statistics it normalized with and the affine
/// parameters, folded into one scale and shift.
#[derive(Debug, Clone, Default)]
pub(super) struct Norm {
    pub mean: Vec<f32>,
    /// 1 / sqrt(var + eps).
    pub inv_std: Vec<f32>,
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl Norm {
    /// As the map a convolution applies to its input on the fly.
    pub fn as_map(&self) -> super::conv::NormRelu<'_> {
        super::conv::NormRelu {
            scale: &self.scale,
            shift: &self.shift,
        }
    }
}

/// Batch normalization parameters and running statistics of one layer, on the host.
#[derive(Debug, Clone)]
pub struct NormParams {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
}

impl NormParams {
    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// The normalization of evaluation mode: the running statistics.
    pub(super) fn running(&self) -> Norm {
        let inv_std = self
            .running_var
            .iter()
            .map(|v| 1.0 / (v + EPSILON).sqrt())
            .collect();
        self.folded(self.running_mean.clone(), inv_std)
    }

    /// The normalization of training mode: statistics of `x` (`[C, m]`), which also move
    /// the running ones as PyTorch does (unbiased variance, momentum 0.1).
    pub(super) fn batch(&mut self, x: &[f32], m: usize) -> Norm {
        let mut stats = ChannelStats::default();
        stats.extend(x, self.channels(), m);
        self.batch_from(&stats, m)
    }

    /// [`NormParams::batch`] from statistics already computed (the first `C` channels of
    /// `stats`).
    pub(super) fn batch_from(&mut self, stats: &ChannelStats, m: usize) -> Norm {
        let stats = &stats.0[..self.channels()];
        let unbiased = if m > 1 {
            m as f32 / (m as f32 - 1.0)
        } else {
            1.0
        };
        for (ch, &(mean, var)) in stats.iter().enumerate() {
            self.running_mean[ch] = (1.0 - MOMENTUM) * self.running_mean[ch] + MOMENTUM * mean;
            self.running_var[ch] =
                (1.0 - MOMENTUM) * self.running_var[ch] + MOMENTUM * var * unbiased;
        }
        let mean = stats.iter().map(|s| s.0).collect();
        let inv_std = stats.iter().map(|s| 1.0 / (s.1 + EPSILON).sqrt()).collect();
        self.folded(mean, inv_std)
    }

    fn folded(&self, mean: Vec<f32>, inv_std: Vec<f32>) -> Norm {
        let scale: Vec<f32> = self
            .gamma
            .iter()
            .zip(&inv_std)
            .map(|(g, s)| g * s)
            .collect();
        let shift = self
            .beta
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((b, mu), s)| b - mu * s)
            .collect();
        Norm {
            mean,
            inv_std,
            scale,
            shift,
        }
    }
}

/// Batch mean and biased variance of the channels of a `[C, m]` buffer. A dense block's
/// layers all normalize its growing feature buffer, and a channel's statistics are the same
/// for every layer that reads it within one batch: each is computed once, when the channel
/// is made, instead of once per layer (a sixth of BC-100's normalizing work before).
#[derive(Debug, Default)]
pub(super) struct ChannelStats(Vec<(f32, f32)>);

impl ChannelStats {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Statistics of channels `known..channels` of `x` added, where `known` is how many
    /// it holds.
    pub fn extend(&mut self, x: &[f32], channels: usize, m: usize) {
        let known = self.0.len();
        if channels <= known {
            return;
        }
        let x = &x[known * m..channels * m];
        if parallel(x.len()) {
            self.0.par_extend(x.par_chunks(m).map(mean_and_variance));
        } else {
            self.0.extend(x.chunks(m).map(mean_and_variance));
        }
    }
}

fn parallel(values: usize) -> bool {
    values >= PARALLEL_MIN_VALUES && rayon::current_num_threads() > 1
}

wide_fn! {
    /// Mean and biased variance, with f64 accumulation (a channel can hold 10^5 values).
    fn mean_and_variance(row: &[f32]) -> (f32, f32) {
        let n = row.len().max(1) as f64;
        let mean = sum_of(row.len(), |i| row[i]) / n;
        let m = mean as f32;
        let var = sum_of(row.len(), |i| (row[i] - m) * (row[i] - m)) / n;
        (mean as f32, var as f32)
    }
}

wide_fn! {
    /// `dst = relu(src * scale + shift)`: one channel of batch norm and ReLU.
    pub(super) fn relu_affine(src: &[f32], dst: &mut [f32], scale: f32, shift: f32) {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = (v * scale + shift).max(0.0);
        }
    }
}

wide_fn! {
    /// [`relu_affine`] in place.
    pub(super) fn relu_affine_in_place(values: &mut [f32], scale: f32, shift: f32) {
        for v in values {
            *v = (*v * scale + shift).max(0.0);
        }
    }
}

/// `f(0) + ... + f(len - 1)` in f32 lanes of 16 (vectorizable), flushed into f64 every 256
/// terms so that long rows keep their precision.
#[inline(always)]
fn sum_of(len: usize, f: impl Fn(usize) -> f32) -> f64 {
    let mut total = 0.0f64;
    let mut start = 0;
    while start < len {
        let end = (start + 256).min(len);
        let mut lanes = [0.0f32; 16];
        let mut i = start;
        while i + 16 <= end {
            for (l, lane) in lanes.iter_mut().enumerate() {
                *lane += f(i + l);
            }
            i += 16;
        }
        let mut tail = 0.0f32;
        for j in i..end {
            tail += f(j);
        }
        total += lanes.iter().map(|&l| l as f64).sum::<f64>() + tail as f64;
        start = end;
    }
    total
}

/// Two sums of [`sum_of`]'s kind in one sweep.
#[inline(always)]
fn sum2_of(len: usize, f: impl Fn(usize) -> (f32, f32)) -> (f64, f64) {
    let (mut total_a, mut total_b) = (0.0f64, 0.0f64);
    let mut start = 0;
    while start < len {
        let end = (start + 256).min(len);
        let (mut a, mut b) = ([0.0f32; 8], [0.0f32; 8]);
        let mut i = start;
        while i + 8 <= end {
            for l in 0..8 {
                let (x, y) = f(i + l);
                a[l] += x;
                b[l] += y;
            }
            i += 8;
        }
        for j in i..end {
            let (x, y) = f(j);
            a[0] += x;
            b[0] += y;
        }
        total_a += a.iter().map(|&v| v as f64).sum::<f64>();
        total_b += b.iter().map(|&v| v as f64).sum::<f64>();
        start = end;
    }
    (total_a, total_b)
}

/// `out = relu(x * scale + shift)` per channel, over the first `C` rows of `x`.
pub(super) fn norm_relu(norm: &Norm, x: &[f32], out: &mut [f32], m: usize) {
    let c = norm.scale.len();
    let kernel = |(ch, (o, xr)): (usize, (&mut [f32], &[f32]))| {
        relu_affine(xr, o, norm.scale[ch], norm.shift[ch]);
    };
    let (out, x) = (&mut out[..c * m], &x[..c * m]);
    if parallel(c * m) {
        out.par_chunks_mut(m)
            .zip(x.par_chunks(m))
            .enumerate()
            .for_each(kernel);
    } else {
        out.chunks_mut(m)
            .zip(x.chunks(m))
            .enumerate()
            .for_each(kernel);
    }
}

/// One channel's normalization, for [`backward_row`].
#[derive(Clone, Copy)]
struct ChannelNorm {
    scale: f32,
    shift: f32,
    mean: f32,
    inv_std: f32,
    gamma: f32,
}

wide_fn! {
    /// One channel of [`norm_relu_backward`]: `dx` from `x` and `dz`, and the sums
    /// `(dgamma, dbeta)`; `inv_m` is 1 / the values per channel.
    fn backward_row(
        n: ChannelNorm,
        xr: &[f32],
        dzr: &[f32],
        dx: &mut [f32],
        accumulate: bool,
        inv_m: f64,
    ) -> (f32, f32) {
        let live = |v: f32, g: f32| if v * n.scale + n.shift > 0.0 { g } else { 0.0 };
        let len = xr.len().min(dzr.len());
        let (sum_g, sum_gx) = sum2_of(len, |i| {
            let g = live(xr[i], dzr[i]);
            (g, g * (xr[i] - n.mean) * n.inv_std)
        });
        let mean_g = (sum_g * inv_m) as f32;
        let mean_gx = (sum_gx * inv_m) as f32;
        let k = n.gamma * n.inv_std;
        let grad = |v: f32, g: f32| k * (live(v, g) - mean_g - (v - n.mean) * n.inv_std * mean_gx);
        if accumulate {
            for ((d, &v), &g) in dx.iter_mut().zip(xr).zip(dzr) {
                *d += grad(v, g);
            }
        } else {
            for ((d, &v), &g) in dx.iter_mut().zip(xr).zip(dzr) {
                *d = grad(v, g);
            }
        }
        (sum_gx as f32, sum_g as f32)
    }
}

/// One channel of [`norm_relu_backward`]: its index, its rows of `dx`, `x` and `dz`.
type BackwardRow<'a> = (usize, ((&'a mut [f32], &'a [f32]), &'a [f32]));

/// Gradients of `relu(bn(x))` given `dz`, the gradient of its output: `dx` is written (or
/// added to, with `accumulate`), `dgamma` and `dbeta` are written. Training mode: the batch
/// statistics depend on `x`, hence the two mean terms.
#[allow(clippy::too_many_arguments)]
pub(super) fn norm_relu_backward(
    norm: &Norm,
    gamma: &[f32],
    x: &[f32],
    dz: &[f32],
    dx: &mut [f32],
    accumulate: bool,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    m: usize,
) {
    let c = norm.scale.len();
    let inv_m = 1.0 / m.max(1) as f64;
    let kernel = |(ch, ((dx, xr), dzr)): BackwardRow<'_>| {
        let channel = ChannelNorm {
            scale: norm.scale[ch],
            shift: norm.shift[ch],
            mean: norm.mean[ch],
            inv_std: norm.inv_std[ch],
            gamma: gamma[ch],
        };
        backward_row(channel, xr, dzr, dx, accumulate, inv_m)
    };
    let (dx, x, dz) = (&mut dx[..c * m], &x[..c * m], &dz[..c * m]);
    let sums: Vec<(f32, f32)> = if parallel(c * m) {
        dx.par_chunks_mut(m)
            .zip(x.par_chunks(m))
            .zip(dz.par_chunks(m))
            .enumerate()
            .map(kernel)
            .collect()
    } else {
        dx.chunks_mut(m)
            .zip(x.chunks(m))
            .zip(dz.chunks(m))
            .enumerate()
            .map(kernel)
            .collect()
    };
    for (ch, (dg, db)) in sums.into_iter().enumerate() {
        dgamma[ch] = dg;
        dbeta[ch] = db;
    }
}
