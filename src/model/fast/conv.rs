//! Convolution as im2col + GEMM, and the two poolings, over channel-major `[C, N, S, S]`
//! buffers (square maps; one row of `N * S * S` values per channel).

use rayon::prelude::*;

use super::bf16::{self, Bf16Rows};
use super::gemm::{Arith, Mat, matmul};
use super::norm::{relu_affine, relu_affine_in_place};
use super::simd;

/// Below this many values a sweep runs on the calling thread.
const PARALLEL_MIN_VALUES: usize = 1 << 15;

fn parallel(values: usize) -> bool {
    values >= PARALLEL_MIN_VALUES && rayon::current_num_threads() > 1
}

/// A square convolution or pooling window over square maps. `pad` is the padding before the
/// first row and column (TF 'SAME' puts an odd extra one after the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub size_in: usize,
    pub size_out: usize,
}

impl Window {
    /// TF 'SAME': output ceil(in / stride), as `nn::PaddingConfig2d::Same` computes it.
    pub fn same(kernel: usize, stride: usize, size_in: usize) -> Self {
        let size_out = size_in.div_ceil(stride);
        let total = match size_out {
            0 => 0,
            out => ((out - 1) * stride + kernel).saturating_sub(size_in),
        };
        Self {
            kernel,
            stride,
            pad: total / 2,
            size_in,
            size_out,
        }
    }

    /// A 1x1, stride-1 convolution: a plain matrix product over the channels.
    pub fn pointwise(size: usize) -> Self {
        Self {
            kernel: 1,
            stride: 1,
            pad: 0,
            size_in: size,
            size_out: size,
        }
    }

    /// No padding; windows that do not fit are dropped.
    pub fn valid(kernel: usize, stride: usize, size_in: usize) -> Self {
        Self {
            kernel,
            stride,
            pad: 0,
            size_in,
            size_out: super::super::arch::valid_pool_size(size_in, kernel, stride),
        }
    }

    /// Output columns `o` whose input column `o * stride + k - pad` lies inside the map.
    fn inside(&self, k: usize) -> std::ops::Range<usize> {
        let (s, pad) = (self.stride, self.pad);
        let first = pad.saturating_sub(k).div_ceil(s);
        let end = (self.size_in + pad).saturating_sub(k).div_ceil(s);
        let end = end.min(self.size_out);
        first.min(end)..end
    }
}

/// `col[(c * K + ky) * K + kx][b, oy, ox] = x[c][b, oy * S + ky - pad, ox * S + kx - pad]`
/// (zero outside the map): the right operand of a convolution as one GEMM.
fn im2col_general(x: &[f32], channels: usize, n: usize, w: Window, col: &mut [f32]) {
    let (k, si, so) = (w.kernel, w.size_in, w.size_out);
    let mo = n * so * so;
    let fill = |(row, dst): (usize, &mut [f32])| {
        let (c, ky, kx) = (row / (k * k), row / k % k, row % k);
        let cols = w.inside(kx);
        let rows = w.inside(ky);
        for b in 0..n {
            let src = &x[(c * n + b) * si * si..][..si * si];
            for oy in 0..so {
                let out = &mut dst[(b * so + oy) * so..][..so];
                if !rows.contains(&oy) {
                    out.fill(0.0);
                    continue;
                }
                if cols.is_empty() {
                    out.fill(0.0);
                    continue;
                }
                let line = &src[(oy * w.stride + ky - w.pad) * si..][..si];
                out[..cols.start].fill(0.0);
                out[cols.end..].fill(0.0);
                let first = cols.start * w.stride + kx - w.pad;
                if w.stride == 1 {
                    out[cols.clone()].copy_from_slice(&line[first..first + cols.len()]);
                } else {
                    for (i, o) in out[cols.clone()].iter_mut().enumerate() {
                        *o = line[first + i * w.stride];
                    }
                }
            }
        }
    };
    let col = &mut col[..channels * k * k * mo];
    if parallel(col.len()) {
        col.par_chunks_mut(mo).enumerate().for_each(fill);
    } else {
        col.chunks_mut(mo).enumerate().for_each(fill);
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the input value it came from.
fn col2im_add_general(col: &[f32], channels: usize, n: usize, w: Window, dx: &mut [f32]) {
    let (k, si, so) = (w.kernel, w.size_in, w.size_out);
    let mo = n * so * so;
    let gather = |(c, dst): (usize, &mut [f32])| {
        for ky in 0..k {
            let rows = w.inside(ky);
            for kx in 0..k {
                let cols = w.inside(kx);
                if cols.is_empty() {
                    continue;
                }
                let src = &col[((c * k + ky) * k + kx) * mo..][..mo];
                for b in 0..n {
                    for oy in rows.clone() {
                        let iy = oy * w.stride + ky - w.pad;
                        let line = &mut dst[(b * si + iy) * si..][..si];
                        let from = &src[(b * so + oy) * so..][..so];
                        let first = cols.start * w.stride + kx - w.pad;
                        for (i, &g) in from[cols.clone()].iter().enumerate() {
                            line[first + i * w.stride] += g;
                        }
                    }
                }
            }
        }
    };
    let dx = &mut dx[..channels * n * si * si];
    if parallel(dx.len() * k * k) {
        dx.par_chunks_mut(n * si * si).enumerate().for_each(gather);
    } else {
        dx.chunks_mut(n * si * si).enumerate().for_each(gather);
    }
}

/// [`im2col_general`], or for stride-1 'SAME' windows (DenseNet's 3x3 layers) the same
/// matrix built with one contiguous copy per row.
pub(super) fn im2col(x: &[f32], channels: usize, n: usize, w: Window, col: &mut [f32]) {
    if w.is_shift() {
        im2col_shifted(x, channels, n, w, col);
    } else {
        im2col_general(x, channels, n, w, col);
    }
}

/// The adjoint of [`im2col`]; `col` is scratch afterwards.
pub(super) fn col2im_add(col: &mut [f32], channels: usize, n: usize, w: Window, dx: &mut [f32]) {
    if w.is_shift() {
        col2im_add_shifted(col, channels, n, w, dx);
    } else {
        col2im_add_general(col, channels, n, w, dx);
    }
}

impl Window {
    /// Stride 1 with as many outputs as inputs: every tap reads the map shifted by a fixed
    /// offset of the flattened batch, and only the border positions need care.
    fn is_shift(&self) -> bool {
        self.stride == 1 && self.size_in == self.size_out && self.pad < self.kernel
    }

    /// For tap `(ky, kx)`: the offset into the flattened batch, and the rows and columns of
    /// an output map whose input lies outside the map (they read the neighbouring row or
    /// image when shifted, and must be zero instead).
    fn shift(&self, ky: usize, kx: usize) -> isize {
        let s = self.size_in as isize;
        (ky as isize - self.pad as isize) * s + (kx as isize - self.pad as isize)
    }
}

/// Sets to zero, in `row` (`[n, size, size]` flattened), the outputs of tap `(ky, kx)` that
/// fall outside the map.
pub(super) fn zero_border<T: Copy + Default>(
    row: &mut [T],
    n: usize,
    w: Window,
    ky: usize,
    kx: usize,
) {
    let s = w.size_in;
    let (rows, cols) = (w.inside(ky), w.inside(kx));
    for image in row.chunks_mut(s * s).take(n) {
        for (y, line) in image.chunks_mut(s).enumerate() {
            if !rows.contains(&y) {
                line.fill(T::default());
            } else {
                line[..cols.start].fill(T::default());
                line[cols.end..].fill(T::default());
            }
        }
    }
}

/// `dst[q - j0] = src[q + shift]` for `q` in `j0..j0 + dst.len()`, zero where `q + shift`
/// falls outside `src`.
fn copy_shifted(src: &[f32], shift: isize, j0: usize, dst: &mut [f32]) -> std::ops::Range<usize> {
    let j1 = j0 + dst.len();
    let lo = ((-shift).max(0) as usize).clamp(j0, j1);
    let hi = ((src.len() as isize - shift).max(0) as usize).clamp(lo, j1);
    dst[..lo - j0].fill(0.0);
    dst[hi - j0..].fill(0.0);
    let from = (lo as isize + shift) as usize;
    dst[lo - j0..hi - j0].copy_from_slice(&src[from..from + (hi - lo)]);
    lo - j0..hi - j0
}

/// Values `j0..j0 + dst.len()` of row `row` of [`im2col`]'s matrix for a shift window, of
/// `map(x)` when a map is given.
fn shifted_row(
    x: &[f32],
    map: Option<NormRelu<'_>>,
    n: usize,
    w: Window,
    row: usize,
    j0: usize,
    dst: &mut [f32],
) {
    let (k, s) = (w.kernel, w.size_in);
    let area = n * s * s;
    let (c, ky, kx) = (row / (k * k), row / k % k, row % k);
    let j1 = j0 + dst.len();
    let copied = copy_shifted(&x[c * area..][..area], w.shift(ky, kx), j0, dst);
    if let Some(map) = map {
        map.apply_in_place(c, &mut dst[copied]);
    }
    // Border positions of the maps: rows and columns whose input lies outside the map.
    let (rows, cols) = (w.inside(ky), w.inside(kx));
    let mut line_start = j0 / s * s;
    while line_start < j1 {
        let y = line_start / s % s;
        let (l0, l1) = (line_start.max(j0), (line_start + s).min(j1));
        if !rows.contains(&y) {
            dst[l0 - j0..l1 - j0].fill(0.0);
        } else {
            for x in (0..cols.start).chain(cols.end..s) {
                let p = line_start + x;
                if (j0..j1).contains(&p) {
                    dst[p - j0] = 0.0;
                }
            }
        }
        line_start += s;
    }
}

fn im2col_shifted(x: &[f32], channels: usize, n: usize, w: Window, col: &mut [f32]) {
    let k = w.kernel;
    let area = n * w.size_in * w.size_in;
    let fill = |(row, dst): (usize, &mut [f32])| {
        let (c, ky, kx) = (row / (k * k), row / k % k, row % k);
        let src = &x[c * area..][..area];
        let shift = w.shift(ky, kx);
        let by = shift.unsigned_abs().min(area);
        if shift >= 0 {
            dst[..area - by].copy_from_slice(&src[by..]);
            dst[area - by..].fill(0.0);
        } else {
            dst[by..].copy_from_slice(&src[..area - by]);
            dst[..by].fill(0.0);
        }
        zero_border(dst, n, w, ky, kx);
    };
    let col = &mut col[..channels * k * k * area];
    if parallel(col.len()) {
        col.par_chunks_mut(area).enumerate().for_each(fill);
    } else {
        col.chunks_mut(area).enumerate().for_each(fill);
    }
}

fn col2im_add_shifted(col: &mut [f32], channels: usize, n: usize, w: Window, dx: &mut [f32]) {
    let k = w.kernel;
    let area = n * w.size_in * w.size_in;
    let gather = |(dst, taps): (&mut [f32], &mut [f32])| {
        for (tap, src) in taps.chunks_mut(area).enumerate() {
            let (ky, kx) = (tap / k, tap % k);
            zero_border(src, n, w, ky, kx);
            let shift = w.shift(ky, kx);
            let by = shift.unsigned_abs().min(area);
            let (to, from) = if shift >= 0 {
                (&mut dst[by..], &src[..area - by])
            } else {
                (&mut dst[..area - by], &src[by..])
            };
            for (d, &g) in to.iter_mut().zip(from) {
                *d += g;
            }
        }
    };
    let dx = &mut dx[..channels * area];
    let col = &mut col[..channels * k * k * area];
    if parallel(dx.len() * k * k) {
        dx.par_chunks_mut(area)
            .zip(col.par_chunks_mut(k * k * area))
            .for_each(gather);
    } else {
        dx.chunks_mut(area)
            .zip(col.chunks_mut(k * k * area))
            .for_each(gather);
    }
}

/// `relu(x * scale + shift)` per channel: batch norm and ReLU, applied to a convolution's
/// input as the product reads it instead of in a pass of its own.
#[derive(Clone, Copy)]
pub(super) struct NormRelu<'a> {
    pub scale: &'a [f32],
    pub shift: &'a [f32],
}

impl NormRelu<'_> {
    /// `dst = relu(src * scale + shift)` of one channel, in one pass.
    fn apply(&self, channel: usize, src: &[f32], dst: &mut [f32]) {
        relu_affine(src, dst, self.scale[channel], self.shift[channel]);
    }

    fn apply_in_place(&self, channel: usize, values: &mut [f32]) {
        relu_affine_in_place(values, self.scale[channel], self.shift[channel]);
    }
}

/// The product of a 1x1 or shift-window convolution through the kernels of [`simd`], its
/// im2col matrix (of `map(x)` when a map is given) built tile by tile inside the product and
/// never whole; false, with nothing written, where those kernels do not apply.
fn forward_in_tiles(
    weight: &[f32],
    x: &[f32],
    map: Option<NormRelu<'_>>,
    (c_in, c_out, n): (usize, usize, usize),
    w: Window,
    out: &mut [f32],
    arith: Arith,
) -> bool {
    let mo = n * w.size_out * w.size_out;
    let taps = c_in * w.kernel * w.kernel;
    let fits = is_pointwise(w) || w.is_shift();
    // bf16 products beat `gemm`'s f32 ones at any width, so they take wide outputs too.
    let narrow = c_out <= 64 || matches!(arith, Arith::Bf16(_));
    if !(fits && simd::available() && narrow && mo >= 64) {
        return false;
    }
    let rows = |row: usize, j0: usize, dst: &mut [f32]| {
        if is_pointwise(w) {
            let src = &x[row * mo + j0..][..dst.len()];
            match map {
                Some(map) => map.apply(row, src, dst),
                None => dst.copy_from_slice(src),
            }
        } else {
            shifted_row(x, map, n, w, row, j0, dst);
        }
    };
    let weight_at = |i: usize, kk: usize| weight[i * taps + kk];
    let dims = (c_out, mo, taps);
    match arith {
        Arith::F32 => simd::nn_rows(out, dims, weight_at, rows, false, parallel(mo * taps)),
        Arith::Bf16(kernels) => {
            let parallel = parallel(mo * taps);
            bf16::nn_rows(kernels, out, dims, weight_at, rows, false, parallel);
        }
    }
    true
}

/// [`conv_forward`] of `map(x)`: fused into the product where the kernels of [`simd`] run,
/// else `map(x)` written into `mapped` first.
#[allow(clippy::too_many_arguments)]
pub(super) fn norm_relu_conv_forward(
    weight: &[f32],
    x: &[f32],
    map: NormRelu<'_>,
    (c_in, c_out, n): (usize, usize, usize),
    w: Window,
    mapped: &mut Vec<f32>,
    col: &mut Vec<f32>,
    out: &mut [f32],
    arith: Arith,
) {
    if forward_in_tiles(weight, x, Some(map), (c_in, c_out, n), w, out, arith) {
        return;
    }
    let area = n * w.size_in * w.size_in;
    mapped.resize(c_in * area, 0.0);
    for (c, (dst, src)) in mapped.chunks_mut(area).zip(x.chunks(area)).enumerate() {
        map.apply(c, src, dst);
    }
    conv_forward(weight, mapped, (c_in, c_out, n), w, col, out, arith);
}

/// A convolution's weights `[C_out, C_in * K * K]` applied to `x` (`[C_in, N, S, S]`):
/// `out` (`[C_out, N, So, So]`). 1x1 stride-1 convolutions skip im2col.
pub(super) fn conv_forward(
    weight: &[f32],
    x: &[f32],
    (c_in, c_out, n): (usize, usize, usize),
    w: Window,
    col: &mut Vec<f32>,
    out: &mut [f32],
    arith: Arith,
) {
    let mo = n * w.size_out * w.size_out;
    let taps = c_in * w.kernel * w.kernel;
    if !is_pointwise(w) && forward_in_tiles(weight, x, None, (c_in, c_out, n), w, out, arith) {
        return;
    }
    let rhs = if is_pointwise(w) {
        Mat::new(x, c_in, mo)
    } else {
        col.resize(taps * mo, 0.0);
        im2col(x, c_in, n, w, col);
        Mat::new(col, taps, mo)
    };
    matmul(out, Mat::new(weight, c_out, taps), rhs, false, arith);
}

/// Gradients of [`conv_forward`] given `dy` (`[C_out, N, So, So]`): the weight gradient is
/// written, and the input gradient into `dx` when it is wanted (overwritten, so that callers
/// need not clear a buffer of every input channel first).
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_backward(
    weight: &[f32],
    x: &[f32],
    dy: &[f32],
    (c_in, c_out, n): (usize, usize, usize),
    w: Window,
    col: &mut Vec<f32>,
    dweight: &mut [f32],
    dx: Option<&mut [f32]>,
    arith: Arith,
) {
    let mo = n * w.size_out * w.size_out;
    let taps = c_in * w.kernel * w.kernel;
    if w.is_shift()
        && w.kernel == 2 * w.pad + 1
        && !is_pointwise(w)
        && simd::available()
        && c_in <= 64
    {
        shifted_backward(
            weight,
            x,
            dy,
            (c_in, c_out, n),
            w,
            col,
            (dweight, dx),
            arith,
        );
        return;
    }
    let dy = Mat::new(dy, c_out, mo);
    let weight = Mat::new(weight, c_out, taps);
    if is_pointwise(w) {
        matmul(dweight, dy, Mat::new(x, c_in, mo).t(), false, arith);
        if let Some(dx) = dx {
            matmul(dx, weight.t(), dy, false, arith);
        }
        return;
    }
    col.resize(taps * mo, 0.0);
    im2col(x, c_in, n, w, col);
    matmul(dweight, dy, Mat::new(col, taps, mo).t(), false, arith);
    if let Some(dx) = dx {
        matmul(col, weight.t(), dy, false, arith);
        dx[..c_in * n * w.size_in * w.size_in].fill(0.0);
        col2im_add(col, c_in, n, w, dx);
    }
}

/// [`conv_backward`] for a shift window without im2col. With `md[tap]`, the output gradient
/// zeroed where the tap reads outside the map, the weight gradient of a tap is
/// `md[tap] * shift(x)^T`; one tap's `md` is built at a time. The input gradient is the
/// convolution of `dy` with the flipped kernel over the same window (`kernel = 2 * pad + 1`,
/// so tap `K*K - 1 - t` shifts by the opposite of tap `t` and zeroes exactly the positions
/// `md[t]` would have zeroed), its rows read shifted in place like the forward pass's.
#[allow(clippy::too_many_arguments)]
fn shifted_backward(
    weight: &[f32],
    x: &[f32],
    dy: &[f32],
    (c_in, c_out, n): (usize, usize, usize),
    w: Window,
    scratch: &mut Vec<f32>,
    (dweight, dx): (&mut [f32], Option<&mut [f32]>),
    arith: Arith,
) {
    let (k, mo) = (w.kernel, n * w.size_out * w.size_out);
    let (kk2, taps) = (k * k, c_in * k * k);
    let parallel_fill = parallel(c_out * mo);
    // The native kernels read bf16: the input and the output gradient are converted once
    // for the nine taps, and each tap masks the converted gradient.
    let mut native = match arith {
        Arith::Bf16(kernels) if kernels.native() => Some((
            Bf16Rows::convert(&x[..c_in * mo], mo),
            Bf16Rows::convert(&dy[..c_out * mo], mo),
            Bf16Rows::zeroed(c_out, mo),
        )),
        _ => None,
    };
    // The f32 masked rows of one tap (the native kernels mask their bf16 copy instead).
    let masked_len = if native.is_some() { 0 } else { c_out * mo };
    scratch.resize(masked_len + c_out * c_in, 0.0);
    let (masked, tap_grad) = scratch.split_at_mut(masked_len);
    for tap in 0..kk2 {
        let (ky, kx) = (tap / k, tap % k);
        let shift = w.shift(ky, kx);
        // Outputs p whose input p + shift lies in the buffer; the others are masked anyway.
        let lo = (-shift).max(0) as usize;
        let hi = (mo as isize - shift.max(0)).max(lo as isize) as usize;
        if hi > lo {
            let b_at = (lo as isize + shift) as usize;
            let dims = (c_out, c_in, hi - lo);
            let parallel = parallel(c_out * c_in * (hi - lo));
            match (&mut native, arith) {
                (Some((xb, dyb, mb)), _) => {
                    mb.fill_rows(parallel_fill, |co, row| {
                        row.copy_from_slice(dyb.row(co));
                        zero_border(row, n, w, ky, kx);
                    });
                    bf16::nt_native(tap_grad, dims, (mb, lo), (xb, b_at), parallel)
                }
                (None, arith) => {
                    let fill = |(co, row): (usize, &mut [f32])| {
                        row.copy_from_slice(&dy[co * mo..][..mo]);
                        zero_border(row, n, w, ky, kx);
                    };
                    if parallel_fill {
                        masked.par_chunks_mut(mo).enumerate().for_each(fill);
                    } else {
                        masked.chunks_mut(mo).enumerate().for_each(fill);
                    }
                    let (a, b) = (&masked[lo..], &x[b_at..]);
                    match arith {
                        Arith::Bf16(kernels) => {
                            bf16::nt_strided(kernels, tap_grad, dims, (a, mo), (b, mo), parallel)
                        }
                        Arith::F32 => simd::nt_strided(tap_grad, dims, (a, mo), (b, mo), parallel),
                    }
                }
            }
        } else {
            tap_grad.fill(0.0);
        }
        for co in 0..c_out {
            for c in 0..c_in {
                dweight[co * taps + c * kk2 + tap] = tap_grad[co * c_in + c];
            }
        }
    }
    if let Some(dx) = dx {
        let rows = |r: usize, j0: usize, dst: &mut [f32]| {
            let (tap, co) = (r / c_out, r % c_out);
            shifted_row(dy, None, n, w, co * kk2 + (kk2 - 1 - tap), j0, dst);
        };
        let weight_at = |c: usize, r: usize| {
            let (tap, co) = (r / c_out, r % c_out);
            weight[co * taps + c * kk2 + tap]
        };
        let (dims, parallel) = ((c_in, mo, kk2 * c_out), parallel(mo * kk2 * c_out));
        match arith {
            Arith::F32 => simd::nn_rows(dx, dims, weight_at, rows, false, parallel),
            Arith::Bf16(kernels) => {
                bf16::nn_rows(kernels, dx, dims, weight_at, rows, false, parallel)
            }
        }
    }
}

fn is_pointwise(w: Window) -> bool {
    w.kernel == 1 && w.stride == 1 && w.pad == 0
}

/// Max pooling; `argmax` receives, for every output, the index of its input within the
/// channel's row (the first maximum, as PyTorch and burn take it).
pub(super) fn max_pool(
    x: &[f32],
    channels: usize,
    n: usize,
    w: Window,
    out: &mut [f32],
    argmax: &mut [u32],
) {
    let (si, so) = (w.size_in, w.size_out);
    let (row_in, row_out) = (n * si * si, n * so * so);
    for c in 0..channels {
        let src = &x[c * row_in..][..row_in];
        let dst = &mut out[c * row_out..][..row_out];
        let arg = &mut argmax[c * row_out..][..row_out];
        for b in 0..n {
            for oy in 0..so {
                for ox in 0..so {
                    let mut best = (f32::NEG_INFINITY, 0usize);
                    for ky in 0..w.kernel {
                        for kx in 0..w.kernel {
                            let i = (b * si + oy * w.stride + ky) * si + ox * w.stride + kx;
                            if src[i] > best.0 {
                                best = (src[i], i);
                            }
                        }
                    }
                    let o = (b * so + oy) * so + ox;
                    dst[o] = best.0;
                    arg[o] = best.1 as u32;
                }
            }
        }
    }
}

/// The gradient of [`max_pool`]: `dx` is overwritten.
pub(super) fn max_pool_backward(
    dy: &[f32],
    argmax: &[u32],
    channels: usize,
    n: usize,
    w: Window,
    dx: &mut [f32],
) {
    let (row_in, row_out) = (n * w.size_in * w.size_in, n * w.size_out * w.size_out);
    dx[..channels * row_in].fill(0.0);
    for c in 0..channels {
        let dst = &mut dx[c * row_in..][..row_in];
        for (&g, &i) in dy[c * row_out..][..row_out]
            .iter()
            .zip(&argmax[c * row_out..][..row_out])
        {
            dst[i as usize] += g;
        }
    }
}

/// 2x2 average pooling, stride 2, an odd last row or column dropped.
pub(super) fn avg_pool(x: &[f32], channels: usize, n: usize, w: Window, out: &mut [f32]) {
    let (si, so) = (w.size_in, w.size_out);
    for cb in 0..channels * n {
        let src = &x[cb * si * si..][..si * si];
        let dst = &mut out[cb * so * so..][..so * so];
        for oy in 0..so {
            let (top, bottom) = (&src[2 * oy * si..][..si], &src[(2 * oy + 1) * si..][..si]);
            for ox in 0..so {
                let s = top[2 * ox] + top[2 * ox + 1] + bottom[2 * ox] + bottom[2 * ox + 1];
                dst[oy * so + ox] = 0.25 * s;
            }
        }
    }
}

/// The gradient of [`avg_pool`]: `dx` is overwritten.
pub(super) fn avg_pool_backward(dy: &[f32], channels: usize, n: usize, w: Window, dx: &mut [f32]) {
    let (si, so) = (w.size_in, w.size_out);
    dx[..channels * n * si * si].fill(0.0);
    for cb in 0..channels * n {
        let src = &dy[cb * so * so..][..so * so];
        let dst = &mut dx[cb * si * si..][..si * si];
        for oy in 0..so {
            for ox in 0..so {
                let g = 0.25 * src[oy * so + ox];
                for (dy_, dx_) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    dst[(2 * oy + dy_) * si + 2 * ox + dx_] += g;
                }
            }
        }
    }
}
