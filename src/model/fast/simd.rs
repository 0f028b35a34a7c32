//! Matrix-product kernels for the shapes DenseNet has and general GEMMs handle badly: a few
//! output channels (k = 12) against tens of thousands of pixels, e.g. `[12 x 432] x [432 x
//! 50176]`. What they gain end to end is what `scripts/bench-vs-torch.sh` measures (README,
//! "Figures measured here"). AVX2 + FMA, chosen at run time; callers fall back to `gemm` where
//! it is missing.

use rayon::prelude::*;

/// Whether this CPU runs the kernels.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Rows of the output a kernel call computes at once (the accumulators stay in registers).
const ROWS: usize = 6;
/// Columns of the output handed to one thread at a time.
const COLUMN_TILE: usize = 256;

/// A raw output pointer that tasks on other threads write through, each to its own columns
/// or column blocks (the f32 kernels here, the bf16 ones of `bf16` and `amx`).
#[derive(Clone, Copy)]
pub(super) struct Out(pub *mut f32);
// SAFETY: every user dereferences `Out` only on output values its task alone writes (disjoint
// column tiles in [`for_each_column_tile`], disjoint column blocks in the `nt` kernels).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The pointer `offset` values on (a method, so that closures capture the whole `Out`).
    pub fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// Runs `run(scratch, tile, j0..j1)` for every tile of `tile_width` columns of an `n`-column
/// output, on the pool when `parallel` (each task with its own scratch), else in order.
pub(super) fn for_each_column_tile<S: Default + Send>(
    n: usize,
    tile_width: usize,
    parallel: bool,
    run: impl Fn(&mut S, std::ops::Range<usize>) + Sync,
) {
    let tiles = n.div_ceil(tile_width);
    let columns = |t: usize| t * tile_width..((t + 1) * tile_width).min(n);
    if parallel && tiles > 1 {
        (0..tiles)
            .into_par_iter()
            .for_each_init(S::default, |scratch, t| run(scratch, columns(t)));
    } else {
        let mut scratch = S::default();
        (0..tiles).for_each(|t| run(&mut scratch, columns(t)));
    }
}

/// `c = a * b` (`+=` with `accumulate`): `a` is `m x k` given by `a_at(i, kk)`, `b` is
/// row-major `k x n`, `c` row-major `m x n`. Requires [`available`].
pub(super) fn nn(
    c: &mut [f32],
    (m, n, k): (usize, usize, usize),
    a_at: impl Fn(usize, usize) -> f32,
    b: &[f32],
    accumulate: bool,
    parallel: bool,
) {
    assert!(b.len() >= k * n, "operand sizes of a product");
    let rows = |kk: usize, j0: usize, dst: &mut [f32]| {
        dst.copy_from_slice(&b[kk * n + j0..][..dst.len()]);
    };
    nn_rows(c, (m, n, k), a_at, rows, accumulate, parallel);
}

/// [`nn`] with the right operand given by `b_rows(kk, j0, dst)`, which writes row `kk` at
/// columns `j0..j0 + dst.len()` into `dst`: an operand that is never materialized whole
/// (a convolution's im2col matrix, built tile by tile from the shifted input).
pub(super) fn nn_rows(
    c: &mut [f32],
    (m, n, k): (usize, usize, usize),
    a_at: impl Fn(usize, usize) -> f32,
    b_rows: impl Fn(usize, usize, &mut [f32]) + Sync,
    accumulate: bool,
    parallel: bool,
) {
    assert!(available(), "AVX2/FMA kernels on a CPU without them");
    assert!(c.len() >= m * n, "operand sizes of a product");
    // `a` packed per block of ROWS rows as [kk][row], zero rows past `m`.
    let blocks = m.div_ceil(ROWS);
    let mut packed = vec![0.0f32; blocks * k * ROWS];
    for blk in 0..blocks {
        for kk in 0..k {
            for r in 0..ROWS {
                let i = blk * ROWS + r;
                if i < m {
                    packed[(blk * k + kk) * ROWS + r] = a_at(i, kk);
                }
            }
        }
    }
    let out = Out(c.as_mut_ptr());
    let run = |tile_buf: &mut Vec<f32>, columns: std::ops::Range<usize>| {
        let (j0, j1) = (columns.start, columns.end);
        let width = j1 - j0;
        // The tile of `b` gathered into one small buffer ([kk][width], in cache): the kernel
        // then reads k rows a few hundred values apart instead of far apart in memory.
        tile_buf.resize(k * width, 0.0);
        for (kk, row) in tile_buf.chunks_mut(width).enumerate() {
            b_rows(kk, j0, row);
        }
        for blk in 0..blocks {
            let rows = ROWS.min(m - blk * ROWS);
            // SAFETY: the kernel reads `packed[blk]` (k * ROWS values) and the tile (k rows of
            // `width` values), and writes `c` rows blk*ROWS.. +rows at columns j0..j1 (inside
            // m * n, asserted); tiles have disjoint columns, so no two tasks write the same
            // value. `available()` was asserted.
            unsafe {
                x86::nn_block(
                    out.at(blk * ROWS * n + j0),
                    n,
                    rows,
                    packed.as_ptr().add(blk * k * ROWS),
                    tile_buf.as_ptr(),
                    width,
                    k,
                    0,
                    width,
                    accumulate,
                );
            }
        }
    };
    for_each_column_tile(n, COLUMN_TILE, parallel, run);
}

/// Values of the inner dimension taken at a time by [`nt`], so that the rows of `a` it
/// reads stay in cache while every row of `b` passes by once.
const INNER_CHUNK: usize = 2048;

/// `c[i][j] = sum_t a[i][t] * b[j][t]` over rows of length `len` (`c` row-major `m x n`):
/// a product whose inner dimension is the long, contiguous one (weight gradients).
pub(super) fn nt(
    c: &mut [f32],
    (m, n, len): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    parallel: bool,
) {
    nt_strided(c, (m, n, len), (a, len), (b, len), parallel);
}

/// [`nt`] over rows that start `stride` values apart (and hold `len` of them): `a` and `b`
/// are given as (values, stride).
pub(super) fn nt_strided(
    c: &mut [f32],
    (m, n, len): (usize, usize, usize),
    (a, a_stride): (&[f32], usize),
    (b, b_stride): (&[f32], usize),
    parallel: bool,
) {
    assert!(available(), "AVX2/FMA kernels on a CPU without them");
    let holds =
        |v: &[f32], rows: usize, stride: usize| rows == 0 || v.len() >= (rows - 1) * stride + len;
    assert!(
        c.len() >= m * n && holds(a, m, a_stride) && holds(b, n, b_stride),
        "operand sizes of a product"
    );
    c[..m * n].fill(0.0);
    let out = Out(c.as_mut_ptr());
    let (a, b) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let column_blocks = n.div_ceil(4);
    let task = |blocks: std::ops::Range<usize>| {
        let (a, b) = (a as *const f32, b as *const f32);
        for t0 in (0..len).step_by(INNER_CHUNK) {
            let tl = INNER_CHUNK.min(len - t0);
            for cb in blocks.clone() {
                let (j0, cols) = (cb * 4, 4.min(n - cb * 4));
                let mut i = 0;
                // SAFETY (all three calls): rows i.. of `a` and j0.. of `b` hold t0 + tl <= len
                // values at their strides (asserted); the values of `c` written are those of
                // column block `cb`, which belongs to this task alone.
                if cols == 4 {
                    while i + 3 <= m {
                        unsafe {
                            x86::dot_3x4_add(
                                out.at(i * n + j0),
                                n,
                                (a.add(i * a_stride + t0), a_stride),
                                (b.add(j0 * b_stride + t0), b_stride),
                                tl,
                            )
                        };
                        i += 3;
                    }
                }
                for r in i..m {
                    for j in j0..j0 + cols {
                        unsafe {
                            *out.at(r * n + j) +=
                                x86::dot(a.add(r * a_stride + t0), b.add(j * b_stride + t0), tl)
                        };
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
mod x86 {
    use std::arch::x86_64::*;

    /// Rows `0..rows` (at most 6) of `c` at columns `j0..j1` from `a` packed `[k][6]` and `b`.
    ///
    /// # Safety
    /// AVX2 and FMA present; `a` holds `6 * k` values; `b` rows `0..k` of stride `ldb` hold
    /// columns up to `j1`; `c` rows `0..rows` of stride `ldc` hold columns up to `j1`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn nn_block(
        c: *mut f32,
        ldc: usize,
        rows: usize,
        a: *const f32,
        b: *const f32,
        ldb: usize,
        k: usize,
        j0: usize,
        j1: usize,
        accumulate: bool,
    ) {
        unsafe {
            let mut j = j0;
            while j + 16 <= j1 {
                let mut acc = [[_mm256_setzero_ps(); 2]; 6];
                for kk in 0..k {
                    let bp = b.add(kk * ldb + j);
                    let (b0, b1) = (_mm256_loadu_ps(bp), _mm256_loadu_ps(bp.add(8)));
                    let ap = a.add(kk * 6);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = _mm256_broadcast_ss(&*ap.add(r));
                        acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                        acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
                    }
                }
                for (r, acc) in acc.iter().enumerate().take(rows) {
                    let cp = c.add(r * ldc + j);
                    let (mut v0, mut v1) = (acc[0], acc[1]);
                    if accumulate {
                        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cp));
                        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cp.add(8)));
                    }
                    _mm256_storeu_ps(cp, v0);
                    _mm256_storeu_ps(cp.add(8), v1);
                }
                j += 16;
            }
            while j < j1 {
                let mut acc = [0.0f32; 6];
                for kk in 0..k {
                    let bv = *b.add(kk * ldb + j);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        *acc += *a.add(kk * 6 + r) * bv;
                    }
                }
                for (r, &v) in acc.iter().enumerate().take(rows) {
                    let cp = c.add(r * ldc + j);
                    *cp = if accumulate { *cp + v } else { v };
                }
                j += 1;
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// `sum_t a[t] * b[t]` over `len` values.
    ///
    /// # Safety
    /// AVX2 and FMA present; `a` and `b` hold `len` values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: *const f32, b: *const f32, len: usize) -> f32 {
        unsafe {
            let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut t = 0;
            while t + 16 <= len {
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(t)), _mm256_loadu_ps(b.add(t)), s0);
                s1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(a.add(t + 8)),
                    _mm256_loadu_ps(b.add(t + 8)),
                    s1,
                );
                t += 16;
            }
            let mut s = hsum(_mm256_add_ps(s0, s1));
            while t < len {
                s += *a.add(t) * *b.add(t);
                t += 1;
            }
            s
        }
    }

    /// The 3x4 block `c[r][q] += dot(a row r, b row q)` over `len` values, rows `a_stride`
    /// and `b_stride` apart.
    ///
    /// # Safety
    /// AVX2 and FMA present; `a` holds 3 rows and `b` 4 rows of `len` values at their
    /// strides; `c` rows 0..3 of stride `ldc` hold 4 values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_3x4_add(
        c: *mut f32,
        ldc: usize,
        (a, a_stride): (*const f32, usize),
        (b, b_stride): (*const f32, usize),
        len: usize,
    ) {
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 4]; 3];
            let mut t = 0;
            while t + 8 <= len {
                let bv = [0, 1, 2, 3].map(|q| _mm256_loadu_ps(b.add(q * b_stride + t)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = _mm256_loadu_ps(a.add(r * a_stride + t));
                    for q in 0..4 {
                        acc[q] = _mm256_fmadd_ps(av, bv[q], acc[q]);
                    }
                }
                t += 8;
            }
            for (r, acc) in acc.iter().enumerate() {
                for (q, &v) in acc.iter().enumerate() {
                    let mut s = hsum(v);
                    for tt in t..len {
                        s += *a.add(r * a_stride + tt) * *b.add(q * b_stride + tt);
                    }
                    *c.add(r * ldc + q) += s;
                }
            }
        }
    }
}
#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    pub unsafe fn nn_block(
        _: *mut f32,
        _: usize,
        _: usize,
        _: *const f32,
        _: *const f32,
        _: usize,
        _: usize,
        _: usize,
        _: usize,
        _: bool,
    ) {
        unreachable!("available() is false off x86_64")
    }
    pub unsafe fn dot(_: *const f32, _: *const f32, _: usize) -> f32 {
        unreachable!("available() is false off x86_64")
    }
    pub unsafe fn dot_3x4_add(
        _: *mut f32,
        _: usize,
        _: (*const f32, usize),
        _: (*const f32, usize),
        _: usize,
    ) {
        unreachable!("available() is false off x86_64")
    }
}
