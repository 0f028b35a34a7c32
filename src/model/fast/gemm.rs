//! Matrix products: DenseNet's thin shapes through the kernels of [`super::simd`], the rest
//! through the `gemm` crate (the one burn-flex itself uses), with transposes expressed as
//! strides so that no operand is copied into a new layout first.

use gemm::Parallelism;

use super::bf16::{self, Bf16Kernels};
use super::simd;

/// What a product computes in: f32, or bf16 operands accumulated in f32 (on the kernels
/// this CPU has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arith {
    F32,
    Bf16(Bf16Kernels),
}

/// A read-only matrix view over a slice: element `(i, j)` at `i * row_stride + j * col_stride`.
#[derive(Clone, Copy)]
pub(super) struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// `rows x cols`, row-major and dense.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(
            data.len() >= rows * cols,
            "matrix {rows}x{cols} over {} values",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Dense and row-major: rows of `cols` contiguous values.
    fn row_major(&self) -> bool {
        self.col_stride == 1 && self.row_stride == self.cols
    }

    /// The transpose, as a view of the same values.
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// Below this many multiply-adds a product runs on the calling thread: splitting it costs
/// more than it saves.
const PARALLEL_MIN_MACS: usize = 1 << 18;

/// `dst = a * b` (or `dst += a * b` when `accumulate`), `dst` row-major `a.rows x b.cols`,
/// in `arith`.
pub(super) fn matmul(dst: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool, arith: Arith) {
    match arith {
        Arith::F32 => matmul_f32(dst, a, b, accumulate),
        Arith::Bf16(kernels) => matmul_bf16(dst, a, b, accumulate, kernels),
    }
}

/// [`matmul`] over bf16 operands: the bf16 kernels where the shape suits them, else the
/// operands rounded into dense copies and multiplied in f32 (the same arithmetic).
fn matmul_bf16(dst: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool, kernels: Bf16Kernels) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    let parallel = m * n * k >= PARALLEL_MIN_MACS && rayon::current_num_threads() > 1;
    if simd::available() && m > 0 && k > 0 {
        if b.row_major() && n >= 64 {
            let rows = |kk: usize, j0: usize, row: &mut [f32]| {
                row.copy_from_slice(&b.data[kk * n + j0..][..row.len()]);
            };
            bf16::nn_rows(
                kernels,
                dst,
                (m, n, k),
                |i, kk| a.at(i, kk),
                rows,
                accumulate,
                parallel,
            );
            return;
        }
        if !accumulate && a.row_major() && b.t().row_major() && k >= 64 {
            bf16::nt_strided(kernels, dst, (m, n, k), (a.data, k), (b.data, k), parallel);
            return;
        }
    }
    let rounded = |v: Mat<'_>| -> Vec<f32> {
        (0..v.rows * v.cols)
            .map(|q| bf16::round(v.at(q / v.cols, q % v.cols)))
            .collect()
    };
    let (ra, rb) = (rounded(a), rounded(b));
    matmul_f32(dst, Mat::new(&ra, m, k), Mat::new(&rb, k, n), accumulate);
}

fn matmul_f32(dst: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert!(
        dst.len() >= m * n,
        "product {m}x{n} into {} values",
        dst.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let threads = rayon::current_num_threads();
    let parallel = m * n * k >= PARALLEL_MIN_MACS && threads > 1;
    if simd::available() {
        // Many columns (pixels) against a left operand of few rows (a convolution's output
        // channels); with many rows (input gradients) `gemm` measures faster.
        if b.row_major() && n >= 64 && m <= 64 {
            simd::nn(
                dst,
                (m, n, k),
                |i, kk| a.at(i, kk),
                b.data,
                accumulate,
                parallel,
            );
            return;
        }
        // A long inner dimension (pixels) over two row-major operands: weight gradients.
        if !accumulate && a.row_major() && b.t().row_major() && k >= 64 {
            simd::nt(dst, (m, n, k), a.data, b.data, parallel);
            return;
        }
    }
    let parallelism = if parallel {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: every index gemm touches is (i, j) with i < rows and j < cols of its operand,
    // at offset i * row_stride + j * col_stride; `Mat` views are built by `new` (dense, its
    // length checked) or `t` (the same offsets with the roles swapped), so all of them lie
    // inside `data`; `dst` holds m x n values (asserted), and it is a `&mut` borrow, so it
    // cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
