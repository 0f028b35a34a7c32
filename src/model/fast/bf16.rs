//! The products of `train.precision = "bf16"`: operands rounded to bfloat16 (round to
//! nearest even, as `torch.autocast` and burn's cast round), products accumulated in f32.
//! Where the CPU has AVX512_BF16 the operands are packed as bf16 pairs and multiplied by
//! `vdpbf16ps` (32 multiply-adds an instruction against the 8 of an AVX2 FMA); elsewhere
//! they are rounded in place and the f32 kernels of [`super::simd`] run on them, which is
//! the same arithmetic (a bf16 x bf16 product is exact in f32) at f32 speed. The tests hold
//! the native kernels to that emulation.

use rayon::prelude::*;

use super::simd;

/// The bf16 product kernels this CPU runs, picked at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bf16Kernels {
    /// AMX-BF16 tiles for the products of many columns ([`super::amx`]), AVX512_BF16 for
    /// the weight gradients and the packing.
    Amx,
    /// AVX512_BF16 (`vdpbf16ps`) with AVX512F/BW for packing.
    Avx512Bf16,
    /// Operands rounded to bf16 in f32 registers, AVX2 FMAs (or `gemm`) accumulating.
    Emulated,
}

impl Bf16Kernels {
    /// The best this CPU has; [`KERNELS_ENV`] (`avx512_bf16`, `emulated`) caps it, to
    /// compare the kernels on one machine.
    pub fn detect() -> Self {
        let cap = std::env::var(KERNELS_ENV).unwrap_or_default();
        let order = [Self::Amx, Self::Avx512Bf16, Self::Emulated];
        let start = order.iter().position(|k| k.name() == cap).unwrap_or(0);
        order[start..]
            .iter()
            .copied()
            .find(|k| k.available())
            .unwrap_or(Self::Emulated)
    }

    /// Whether this CPU (and its kernel, for AMX) runs them.
    pub fn available(self) -> bool {
        match self {
            Self::Amx => super::amx::available(),
            Self::Avx512Bf16 => native_available(),
            Self::Emulated => true,
        }
    }

    /// The name `devices` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Amx => "amx_bf16",
            Self::Avx512Bf16 => "avx512_bf16",
            Self::Emulated => "emulated",
        }
    }

    /// Whether the operands are converted to bf16 (rather than rounded in f32).
    pub(super) fn native(self) -> bool {
        self != Self::Emulated
    }
}

/// Caps the bf16 kernels [`Bf16Kernels::detect`] picks.
pub const KERNELS_ENV: &str = "DENSENET_LAB_BF16_KERNELS";

/// Whether the native kernels can run here.
pub(super) fn native_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x` rounded to the nearest bf16 (ties to even), as an f32.
pub(super) fn round(x: f32) -> f32 {
    f32::from_bits(u32::from(bits(x)) << 16)
}

/// The bf16 nearest `x` (ties to even); NaN stays NaN.
pub(super) fn bits(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    (b.wrapping_add(0x7FFF + ((b >> 16) & 1)) >> 16) as u16
}

pub(super) fn round_slice(values: &mut [f32]) {
    for v in values {
        *v = round(*v);
    }
}

/// [`simd::nn_rows`] in bf16: `c = a * b` (`+=` with `accumulate`) over bf16 operands.
pub(super) fn nn_rows(
    kernels: Bf16Kernels,
    c: &mut [f32],
    (m, n, k): (usize, usize, usize),
    a_at: impl Fn(usize, usize) -> f32,
    b_rows: impl Fn(usize, usize, &mut [f32]) + Sync,
    accumulate: bool,
    parallel: bool,
) {
    match kernels {
        Bf16Kernels::Amx => super::amx::nn_rows(c, (m, n, k), a_at, b_rows, accumulate, parallel),
        Bf16Kernels::Avx512Bf16 => {
            native::nn_rows(c, (m, n, k), a_at, b_rows, accumulate, parallel)
        }
        Bf16Kernels::Emulated => {
            let rounded_rows = |kk: usize, j0: usize, dst: &mut [f32]| {
                b_rows(kk, j0, dst);
                round_slice(dst);
            };
            let rounded_a = |i: usize, kk: usize| round(a_at(i, kk));
            simd::nn_rows(c, (m, n, k), rounded_a, rounded_rows, accumulate, parallel);
        }
    }
}

/// Rows of bf16 values, ready for [`nt_strided`]: `rows` rows `stride` apart in `src`, each
/// `len` long, converted once (a 3x3 convolution's weight gradient reads the same input
/// shifted nine times).
pub(super) struct Bf16Rows {
    values: Vec<u16>,
    stride: usize,
}

impl Bf16Rows {
    /// Every value of `src` converted, rows kept `stride` apart.
    pub fn convert(src: &[f32], stride: usize) -> Self {
        let mut values = vec![0u16; src.len()];
        let chunk = 1 << 14;
        values
            .par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(dst, src)| native::convert(src, dst));
        Self { values, stride }
    }

    /// `rows` rows of `len` zeros, to be refilled by [`Bf16Rows::fill_rows`].
    pub fn zeroed(rows: usize, len: usize) -> Self {
        Self {
            values: vec![0; rows * len],
            stride: len,
        }
    }

    /// Row `r`.
    pub fn row(&self, r: usize) -> &[u16] {
        &self.values[r * self.stride..][..self.stride]
    }

    /// Every row rewritten by `fill(r, row)`, in parallel when asked.
    pub fn fill_rows(&mut self, parallel: bool, fill: impl Fn(usize, &mut [u16]) + Sync + Send) {
        let stride = self.stride.max(1);
        if parallel {
            self.values
                .par_chunks_mut(stride)
                .enumerate()
                .for_each(|(r, row)| fill(r, row));
        } else {
            for (r, row) in self.values.chunks_mut(stride).enumerate() {
                fill(r, row);
            }
        }
    }

    /// `rows`, each `len` long, converted into rows `len` apart.
    pub fn gather(rows: &[&[f32]], len: usize) -> Self {
        let mut values = vec![0u16; rows.len() * len];
        values
            .par_chunks_mut(len.max(1))
            .zip(rows.par_iter())
            .for_each(|(dst, src)| native::convert(src, dst));
        Self {
            values,
            stride: len,
        }
    }
}

/// [`simd::nt_strided`] in bf16 on the native kernels: `c[i][j] = sum_t a[i][t] * b[j][t]`
/// over `len` values, rows of `a` starting at `a_at + i * a.stride`, of `b` likewise.
pub(super) fn nt_native(
    c: &mut [f32],
    (m, n, len): (usize, usize, usize),
    (a, a_at): (&Bf16Rows, usize),
    (b, b_at): (&Bf16Rows, usize),
    parallel: bool,
) {
    let holds = |r: &Bf16Rows, at: usize, rows: usize| {
        rows == 0 || r.values.len() >= at + (rows - 1) * r.stride + len
    };
    assert!(
        c.len() >= m * n && holds(a, a_at, m) && holds(b, b_at, n),
        "operand sizes of a product"
    );
    native::nt(
        c,
        (m, n, len),
        (&a.values[a_at..], a.stride),
        (&b.values[b_at..], b.stride),
        parallel,
    );
}

/// Values `range` of `count` rows `stride` apart.
fn chunk_rows(
    v: &[f32],
    count: usize,
    stride: usize,
    range: std::ops::Range<usize>,
) -> Vec<&[f32]> {
    (0..count)
        .map(|r| &v[r * stride..][range.clone()])
        .collect()
}

/// Values of the inner dimension [`nt_strided`] converts at a time: converting a 1x1
/// convolution's whole input at once would add its size to the step's peak memory.
const CONVERT_CHUNK: usize = 8192;

/// [`simd::nt_strided`] in bf16, with either kernels: rows `stride` apart, `len` long.
pub(super) fn nt_strided(
    kernels: Bf16Kernels,
    c: &mut [f32],
    (m, n, len): (usize, usize, usize),
    (a, a_stride): (&[f32], usize),
    (b, b_stride): (&[f32], usize),
    parallel: bool,
) {
    c[..m * n].fill(0.0);
    let mut part = vec![0.0f32; m * n];
    for t0 in (0..len).step_by(CONVERT_CHUNK) {
        let tl = CONVERT_CHUNK.min(len - t0);
        let (a_rows, b_rows) = (
            chunk_rows(a, m, a_stride, t0..t0 + tl),
            chunk_rows(b, n, b_stride, t0..t0 + tl),
        );
        if kernels.native() {
            let (a, b) = (Bf16Rows::gather(&a_rows, tl), Bf16Rows::gather(&b_rows, tl));
            nt_native(&mut part, (m, n, tl), (&a, 0), (&b, 0), parallel);
        } else {
            let rounded = |rows: &[&[f32]]| -> Vec<f32> {
                rows.iter()
                    .flat_map(|r| r.iter().map(|&x| round(x)))
                    .collect()
            };
            let (a, b) = (rounded(&a_rows), rounded(&b_rows));
            simd::nt_strided(&mut part, (m, n, tl), (&a, tl), (&b, tl), parallel);
        }
        for (sum, &p) in c.iter_mut().zip(&part) {
            *sum += p;
        }
    }
}

/// `(lo, hi)` as one 32-bit lane: the pair layout of `vdpbf16ps` and `tdpbf16ps`.
pub(super) fn pair(lo: u16, hi: u16) -> u32 {
    u32::from(lo) | u32::from(hi) << 16
}

/// Rows `2p` and `2p + 1` of `src` (`2 * pairs` rows of `width`) into row `p` of `dst`
/// (`pairs` rows of `padded` pairs, zero past `width`). Requires [`native_available`].
pub(super) fn interleave(src: &[f32], width: usize, pairs: usize, dst: &mut [u32], padded: usize) {
    assert!(
        native_available(),
        "AVX512_BF16 kernels on a CPU without them"
    );
    assert!(src.len() >= 2 * pairs * width && dst.len() >= pairs * padded);
    assert!(padded.is_multiple_of(16) && padded >= width);
    // SAFETY: features and sizes asserted.
    unsafe { native::x86::interleave(src.as_ptr(), width, pairs, dst.as_mut_ptr(), padded) }
}

/// Columns `columns` of the right operand's rows `0..k` (`b_rows` as in [`nn_rows`], zero
/// rows up to `2 * pairs`) gathered into `bufs.0` and packed by [`interleave`] into `bufs.1`
/// (`pairs` rows of `padded` pairs), which is returned.
pub(super) fn pair_tile<'a>(
    b_rows: &impl Fn(usize, usize, &mut [f32]),
    (k, pairs): (usize, usize),
    columns: std::ops::Range<usize>,
    padded: usize,
    (tile_f32, tile): &'a mut (Vec<f32>, Vec<u32>),
) -> &'a [u32] {
    let (j0, width) = (columns.start, columns.len());
    tile_f32.resize(2 * pairs * width, 0.0);
    for (kk, row) in tile_f32.chunks_mut(width).enumerate() {
        if kk < k {
            b_rows(kk, j0, row);
        } else {
            row.fill(0.0);
        }
    }
    tile.resize(pairs * padded, 0);
    interleave(tile_f32, width, pairs, tile, padded);
    tile
}

/// The AVX512_BF16 kernels; every entry point asserts [`native_available`].
mod native {
    use rayon::prelude::*;

    use super::super::simd::{Out, for_each_column_tile};

    /// Rows of the output one kernel call keeps in registers (24 accumulators of 32).
    const ROWS: usize = 12;
    /// Columns of the output handed to one thread at a time.
    const COLUMN_TILE: usize = 256;

    /// `dst[i] = bf16(src[i])`.
    pub fn convert(src: &[f32], dst: &mut [u16]) {
        assert!(super::native_available() && dst.len() >= src.len());
        // SAFETY: features asserted; `x86::convert` reads `src.len()` values and writes as
        // many into `dst`, which holds them.
        unsafe { x86::convert(src.as_ptr(), dst.as_mut_ptr(), src.len()) }
    }

    /// See [`super::nn_rows`].
    pub fn nn_rows(
        c: &mut [f32],
        (m, n, k): (usize, usize, usize),
        a_at: impl Fn(usize, usize) -> f32,
        b_rows: impl Fn(usize, usize, &mut [f32]) + Sync,
        accumulate: bool,
        parallel: bool,
    ) {
        assert!(
            super::native_available(),
            "AVX512_BF16 kernels on a CPU without them"
        );
        assert!(c.len() >= m * n, "operand sizes of a product");
        let pairs = k.div_ceil(2);
        let blocks = m.div_ceil(ROWS);
        // `a` packed per block of ROWS rows as [pair][row] of (a[i][2p], a[i][2p + 1]).
        let mut packed = vec![0u32; blocks * pairs * ROWS];
        let a_bits = |i: usize, kk: usize| if kk < k { super::bits(a_at(i, kk)) } else { 0 };
        for blk in 0..blocks {
            for p in 0..pairs {
                for r in 0..ROWS.min(m - blk * ROWS) {
                    let i = blk * ROWS + r;
                    packed[(blk * pairs + p) * ROWS + r] =
                        super::pair(a_bits(i, 2 * p), a_bits(i, 2 * p + 1));
                }
            }
        }
        let out = Out(c.as_mut_ptr());
        let run = |bufs: &mut (Vec<f32>, Vec<u32>), columns: std::ops::Range<usize>| {
            let (j0, width) = (columns.start, columns.len());
            let padded = width.div_ceil(32) * 32;
            let tile = super::pair_tile(&b_rows, (k, pairs), columns, padded, bufs);
            for blk in 0..blocks {
                let rows = ROWS.min(m - blk * ROWS);
                // SAFETY: the kernel reads `packed[blk]` (pairs * ROWS values) and `tile`
                // (pairs rows of `padded` values), and writes `c` rows blk*ROWS.. +rows at
                // columns j0..j1 (inside m * n, asserted); tiles have disjoint columns.
                unsafe {
                    x86::nn_block(
                        out.at(blk * ROWS * n + j0),
                        n,
                        rows,
                        packed.as_ptr().add(blk * pairs * ROWS),
                        tile.as_ptr(),
                        padded,
                        pairs,
                        width,
                        accumulate,
                    );
                }
            }
        };
        for_each_column_tile(n, COLUMN_TILE, parallel, run);
    }

    /// Values of the inner dimension taken at a time, so that the rows of `a` stay in cache.
    const INNER_CHUNK: usize = 4096;

    /// `c[i][j] = sum_t a[i][t] * b[j][t]`: rows `stride` apart, `len` long.
    pub fn nt(
        c: &mut [f32],
        (m, n, len): (usize, usize, usize),
        (a, a_stride): (&[u16], usize),
        (b, b_stride): (&[u16], usize),
        parallel: bool,
    ) {
        assert!(
            super::native_available(),
            "AVX512_BF16 kernels on a CPU without them"
        );
        c[..m * n].fill(0.0);
        let out = Out(c.as_mut_ptr());
        let (a, b) = (a.as_ptr() as usize, b.as_ptr() as usize);
        let column_blocks = n.div_ceil(4);
        let task = |blocks: std::ops::Range<usize>| {
            let (a, b) = (a as *const u16, b as *const u16);
            for t0 in (0..len).step_by(INNER_CHUNK) {
                let tl = INNER_CHUNK.min(len - t0);
                for cb in blocks.clone() {
                    let (j0, cols) = (cb * 4, 4.min(n - cb * 4));
                    let mut i = 0;
                    // SAFETY: rows i.. of `a` and j0.. of `b` hold t0 + tl <= len values at
                    // their strides (checked by the caller); the values of `c` written are
                    // those of column block `cb`, which belongs to this task alone.
                    unsafe {
                        if cols == 4 {
                            while i + 4 <= m {
                                x86::dot_4x4_add(
                                    out.at(i * n + j0),
                                    n,
                                    (a.add(i * a_stride + t0), a_stride),
                                    (b.add(j0 * b_stride + t0), b_stride),
                                    tl,
                                );
                                i += 4;
                            }
                        }
                        for r in i..m {
                            for j in j0..j0 + cols {
                                *out.at(r * n + j) += x86::dot(
                                    a.add(r * a_stride + t0),
                                    b.add(j * b_stride + t0),
                                    tl,
                                );
                            }
                        }
                    }
                }
            }
        };
        let threads = if parallel {
            rayon::current_num_threads().min(column_blocks)
        } else {
            1
        };
        if threads > 1 {
            let per = column_blocks.div_ceil(threads);
            (0..threads)
                .into_par_iter()
                .for_each(|t| task(t * per..((t + 1) * per).min(column_blocks)));
        } else {
            task(0..column_blocks);
        }
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) mod x86 {
        use std::arch::x86_64::*;

        /// # Safety
        /// AVX512F/BW/VL and AVX512_BF16 present; `src` and `dst` hold `len` values.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
        pub unsafe fn convert(src: *const f32, dst: *mut u16, len: usize) {
            unsafe {
                let mut i = 0;
                while i < len {
                    let rest = (len - i).min(16);
                    let mask: __mmask16 = if rest == 16 { !0 } else { (1u16 << rest) - 1 };
                    let v = _mm512_maskz_loadu_ps(mask, src.add(i));
                    let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
                    _mm256_mask_storeu_epi16(dst.add(i) as *mut i16, mask, h);
                    i += 16;
                }
            }
        }

        /// Two f32 rows `2p` and `2p + 1` of `src` (rows of `width`) into row `p` of `dst`
        /// (rows of `padded` pairs, zero past `width`): lane j = (bf16 src[2p][j], bf16
        /// src[2p + 1][j]), the operand layout of `vdpbf16ps`.
        ///
        /// # Safety
        /// Features as [`convert`]; `src` holds `2 * pairs * width` values, `dst`
        /// `pairs * padded`, `padded` a multiple of 16 at least `width`.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
        pub unsafe fn interleave(
            src: *const f32,
            width: usize,
            pairs: usize,
            dst: *mut u32,
            padded: usize,
        ) {
            unsafe {
                for p in 0..pairs {
                    let (lo, hi) = (src.add(2 * p * width), src.add((2 * p + 1) * width));
                    let row = dst.add(p * padded);
                    let mut j = 0;
                    while j < padded {
                        let rest = width.saturating_sub(j).min(16);
                        let mask: __mmask16 = if rest == 16 {
                            !0
                        } else {
                            ((1u32 << rest) - 1) as u16
                        };
                        let l: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(
                            _mm512_maskz_loadu_ps(mask, lo.add(j)),
                        ));
                        let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(
                            _mm512_maskz_loadu_ps(mask, hi.add(j)),
                        ));
                        let v = _mm512_or_si512(
                            _mm512_cvtepu16_epi32(l),
                            _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16),
                        );
                        _mm512_storeu_si512(row.add(j) as *mut __m512i, v);
                        j += 16;
                    }
                }
            }
        }

        /// Rows `0..rows` (at most 12) of `c` at columns `0..width` from `a` packed
        /// `[pair][12]` and the interleaved tile `b` (`pairs` rows of `ldb` pairs).
        ///
        /// # Safety
        /// Features as [`convert`]; `a` holds `12 * pairs` values; `b` rows hold `ldb >=
        /// width` (rounded up to 32) values; `c` rows `0..rows` of stride `ldc` hold `width`.
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
        pub unsafe fn nn_block(
            c: *mut f32,
            ldc: usize,
            rows: usize,
            a: *const u32,
            b: *const u32,
            ldb: usize,
            pairs: usize,
            width: usize,
            accumulate: bool,
        ) {
            unsafe {
                let mut j = 0;
                while j < width {
                    let mut acc = [[_mm512_setzero_ps(); 2]; 12];
                    for p in 0..pairs {
                        let bp = b.add(p * ldb + j);
                        let b0: __m512bh =
                            std::mem::transmute(_mm512_loadu_si512(bp as *const __m512i));
                        let b1: __m512bh =
                            std::mem::transmute(_mm512_loadu_si512(bp.add(16) as *const __m512i));
                        let ap = a.add(p * 12);
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let av: __m512bh =
                                std::mem::transmute(_mm512_set1_epi32(*ap.add(r) as i32));
                            acc[0] = _mm512_dpbf16_ps(acc[0], av, b0);
                            acc[1] = _mm512_dpbf16_ps(acc[1], av, b1);
                        }
                    }
                    let rest = width - j;
                    let masks = [0usize, 16].map(|o| {
                        let r = rest.saturating_sub(o).min(16);
                        if r == 16 {
                            !0u16
                        } else {
                            ((1u32 << r) - 1) as u16
                        }
                    });
                    for (r, acc) in acc.iter().enumerate().take(rows) {
                        let cp = c.add(r * ldc + j);
                        for (h, (&v, &mask)) in acc.iter().zip(&masks).enumerate() {
                            let p = cp.add(16 * h);
                            let v = if accumulate {
                                _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, p))
                            } else {
                                v
                            };
                            _mm512_mask_storeu_ps(p, mask, v);
                        }
                    }
                    j += 32;
                }
            }
        }

        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
        unsafe fn load(p: *const u16, rest: usize) -> __m512bh {
            unsafe {
                let mask: __mmask32 = if rest >= 32 { !0 } else { (1u32 << rest) - 1 };
                std::mem::transmute(_mm512_maskz_loadu_epi16(mask, p as *const i16))
            }
        }

        /// `sum_t a[t] * b[t]` over `len` values.
        ///
        /// # Safety
        /// Features as [`convert`]; `a` and `b` hold `len` values.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
        pub unsafe fn dot(a: *const u16, b: *const u16, len: usize) -> f32 {
            unsafe {
                let mut s = _mm512_setzero_ps();
                let mut t = 0;
                while t < len {
                    let rest = len - t;
                    s = _mm512_dpbf16_ps(s, load(a.add(t), rest), load(b.add(t), rest));
                    t += 32;
                }
                _mm512_reduce_add_ps(s)
            }
        }

        /// The 4x4 block `c[r][q] += dot(a row r, b row q)` over `len` values.
        ///
        /// # Safety
        /// Features as [`convert`]; `a` holds 4 rows and `b` 4 rows of `len` values at
        /// their strides; `c` rows 0..4 of stride `ldc` hold 4 values.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
        pub unsafe fn dot_4x4_add(
            c: *mut f32,
            ldc: usize,
            (a, a_stride): (*const u16, usize),
            (b, b_stride): (*const u16, usize),
            len: usize,
        ) {
            unsafe {
                let mut acc = [[_mm512_setzero_ps(); 4]; 4];
                let mut t = 0;
                while t < len {
                    let rest = len - t;
                    let bv = [0, 1, 2, 3].map(|q| load(b.add(q * b_stride + t), rest));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = load(a.add(r * a_stride + t), rest);
                        for q in 0..4 {
                            acc[q] = _mm512_dpbf16_ps(acc[q], av, bv[q]);
                        }
                    }
                    t += 32;
                }
                for (r, acc) in acc.iter().enumerate() {
                    for (q, &v) in acc.iter().enumerate() {
                        *c.add(r * ldc + q) += _mm512_reduce_add_ps(v);
                    }
                }
            }
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) mod x86 {
        pub unsafe fn convert(_: *const f32, _: *mut u16, _: usize) {
            unreachable!("native_available() is false off x86_64")
        }
        pub unsafe fn interleave(_: *const f32, _: usize, _: usize, _: *mut u32, _: usize) {
            unreachable!("native_available() is false off x86_64")
        }
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn nn_block(
            _: *mut f32,
            _: usize,
            _: usize,
            _: *const u32,
            _: *const u32,
            _: usize,
            _: usize,
            _: usize,
            _: bool,
        ) {
            unreachable!("native_available() is false off x86_64")
        }
        pub unsafe fn dot(_: *const u16, _: *const u16, _: usize) -> f32 {
            unreachable!("native_available() is false off x86_64")
        }
        pub unsafe fn dot_4x4_add(
            _: *mut f32,
            _: usize,
            (_, _): (*const u16, usize),
            (_, _): (*const u16, usize),
            _: usize,
        ) {
            unreachable!("native_available() is false off x86_64")
        }
    }
}
