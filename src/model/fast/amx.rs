//! The bf16 product of [`super::bf16::nn_rows`] on AMX tiles (`tdpbf16ps`: a 16 x 16 f32
//! tile += 16 x 32 bf16 times 32 x 16 bf16, 8,192 multiply-adds an instruction; measured here
//! about 40 times the rate of AVX512_BF16's `vdpbf16ps`). Rust 1.95 has no stable AMX
//! intrinsics, so the five instructions used are inline assembly; Linux hands the tile
//! registers to a process only after `arch_prctl(ARCH_REQ_XCOMP_PERM)`, asked once.

use std::sync::OnceLock;

use super::bf16;
use super::simd::{Out, for_each_column_tile};

/// Whether this CPU has AMX-BF16 and the kernel let this process use the tiles (and the
/// AVX512_BF16 kernels that pack the operands run too).
pub(super) fn available() -> bool {
    static PERMITTED: OnceLock<bool> = OnceLock::new();
    *PERMITTED.get_or_init(|| bf16::native_available() && x86::cpu_has_amx() && x86::permit())
}

/// Rows of a tile (and of the output one block computes).
const TILE_ROWS: usize = 16;
/// Pairs of bf16 values in a tile row (64 bytes).
const TILE_PAIRS: usize = 16;
/// Output columns one block computes: four accumulator tiles of 16.
const BLOCK_COLS: usize = 64;
/// Columns of the output handed to one thread at a time.
const COLUMN_TILE: usize = 256;

/// `c = a * b` (`+=` with `accumulate`) over bf16 operands, as [`bf16::nn_rows`].
pub(super) fn nn_rows(
    c: &mut [f32],
    (m, n, k): (usize, usize, usize),
    a_at: impl Fn(usize, usize) -> f32,
    b_rows: impl Fn(usize, usize, &mut [f32]) + Sync,
    accumulate: bool,
    parallel: bool,
) {
    assert!(available(), "AMX kernels on a CPU or kernel without them");
    assert!(c.len() >= m * n, "operand sizes of a product");
    // Inner dimension in chunks of 16 pairs (one tile row), zero past k.
    let chunks = k.div_ceil(2 * TILE_PAIRS);
    let pairs = chunks * TILE_PAIRS;
    let blocks = m.div_ceil(TILE_ROWS);
    // `a` as tiles: [block][chunk][row][pair], each pair (a[i][2p], a[i][2p + 1]).
    let mut packed = vec![0u32; blocks * chunks * TILE_ROWS * TILE_PAIRS];
    for i in 0..m {
        let (blk, r) = (i / TILE_ROWS, i % TILE_ROWS);
        for p in 0..k.div_ceil(2) {
            let (chunk, q) = (p / TILE_PAIRS, p % TILE_PAIRS);
            let lo = bf16::bits(a_at(i, 2 * p));
            let hi = if 2 * p + 1 < k {
                bf16::bits(a_at(i, 2 * p + 1))
            } else {
                0
            };
            packed[((blk * chunks + chunk) * TILE_ROWS + r) * TILE_PAIRS + q] = bf16::pair(lo, hi);
        }
    }
    let out = Out(c.as_mut_ptr());
    let run = |bufs: &mut (Vec<f32>, Vec<u32>), columns: std::ops::Range<usize>| {
        let (j0, width) = (columns.start, columns.len());
        let padded = width.div_ceil(BLOCK_COLS) * BLOCK_COLS;
        let tile = bf16::pair_tile(&b_rows, (k, pairs), columns, padded, bufs);
        let mut acc = [0.0f32; TILE_ROWS * BLOCK_COLS];
        x86::configure();
        for blk in 0..blocks {
            let rows = TILE_ROWS.min(m - blk * TILE_ROWS);
            let a =
                &packed[blk * chunks * TILE_ROWS * TILE_PAIRS..][..chunks * TILE_ROWS * TILE_PAIRS];
            for jb in (0..width).step_by(BLOCK_COLS) {
                // SAFETY: tiles are configured on this thread; `a` holds `chunks` tiles of
                // 16 x 16 pairs; `tile` holds `pairs` rows of `padded` >= jb + 64 pairs, read
                // 16 rows at a time at stride `padded`; `acc` holds 16 x 64 values.
                unsafe { x86::block(a, chunks, &tile[jb..], padded, &mut acc) };
                let cols = BLOCK_COLS.min(width - jb);
                for (r, from) in acc.chunks(BLOCK_COLS).take(rows).enumerate() {
                    let i = blk * TILE_ROWS + r;
                    // SAFETY: row i < m, columns j0 + jb .. + cols < n: inside `c` (asserted);
                    // tiles have disjoint columns.
                    let to =
                        unsafe { std::slice::from_raw_parts_mut(out.at(i * n + j0 + jb), cols) };
                    if accumulate {
                        to.iter_mut().zip(from).for_each(|(d, s)| *d += s);
                    } else {
                        to.copy_from_slice(&from[..cols]);
                    }
                }
            }
        }
        x86::release();
    };
    for_each_column_tile(n, COLUMN_TILE, parallel, run);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;

    use super::{BLOCK_COLS, TILE_PAIRS, TILE_ROWS};

    /// CPUID leaf 7: AMX-BF16 (EDX bit 22) and AMX-TILE (bit 24).
    pub fn cpu_has_amx() -> bool {
        // CPUID leaf 7 exists on every x86_64 CPU that has AVX512 (checked first).
        let leaf = std::arch::x86_64::__cpuid_count(7, 0);
        leaf.edx >> 22 & 1 == 1 && leaf.edx >> 24 & 1 == 1
    }

    /// `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`: Linux's permission to use the
    /// tile data registers (without it the first tile instruction faults).
    pub fn permit() -> bool {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a system call with integer arguments; it fails cleanly where unsupported.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    }

    /// The palette-1 configuration: tiles 0-3 accumulators (16 rows of 16 f32), 4 the left
    /// operand (16 rows of 32 bf16), 5-7 the right one (16 pair rows of 16 columns).
    #[repr(C, align(64))]
    struct Config([u8; 64]);

    pub fn configure() {
        let mut cfg = Config([0; 64]);
        cfg.0[0] = 1;
        for t in 0..8 {
            cfg.0[16 + 2 * t] = 64; // bytes per row
            cfg.0[48 + t] = 16; // rows
        }
        // SAFETY: `available()` held (the caller asserted it); the config is 64 valid bytes.
        unsafe { asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly)) };
    }

    pub fn release() {
        // SAFETY: AMX is available; releasing tiles has no operands.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }

    /// `acc` (16 x 64, row-major) = `a` (chunks of 16 x 16 pairs) times the four 16-column
    /// tiles of `b` starting at its first column (pair rows `ldb` apart).
    ///
    /// # Safety
    /// Tiles configured by [`configure`] on this thread; `a` holds `chunks * 256` pairs; `b`
    /// holds `chunks * 16` rows of `ldb` pairs with at least 64 from its start.
    pub unsafe fn block(a: &[u32], chunks: usize, b: &[u32], ldb: usize, acc: &mut [f32]) {
        debug_assert!(
            a.len() >= chunks * TILE_ROWS * TILE_PAIRS && acc.len() >= TILE_ROWS * BLOCK_COLS
        );
        let (stride_a, stride_b) = (TILE_PAIRS * 4, ldb * 4);
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
            for chunk in 0..chunks {
                let ap = a.as_ptr().add(chunk * TILE_ROWS * TILE_PAIRS);
                let bp = b.as_ptr().add(chunk * TILE_PAIRS * ldb);
                asm!(
                    "tileloadd tmm4, [{a} + {sa}*1]",
                    "tileloadd tmm5, [{b0} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm5",
                    "tileloadd tmm6, [{b1} + {sb}*1]",
                    "tdpbf16ps tmm1, tmm4, tmm6",
                    "tileloadd tmm7, [{b2} + {sb}*1]",
                    "tdpbf16ps tmm2, tmm4, tmm7",
                    "tileloadd tmm5, [{b3} + {sb}*1]",
                    "tdpbf16ps tmm3, tmm4, tmm5",
                    a = in(reg) ap,
                    sa = in(reg) stride_a,
                    b0 = in(reg) bp,
                    b1 = in(reg) bp.add(16),
                    b2 = in(reg) bp.add(32),
                    b3 = in(reg) bp.add(48),
                    sb = in(reg) stride_b,
                    options(nostack, readonly)
                );
            }
            let cp = acc.as_mut_ptr();
            let sc = BLOCK_COLS * 4;
            asm!(
                "tilestored [{c0} + {sc}*1], tmm0",
                "tilestored [{c1} + {sc}*1], tmm1",
                "tilestored [{c2} + {sc}*1], tmm2",
                "tilestored [{c3} + {sc}*1], tmm3",
                c0 = in(reg) cp,
                c1 = in(reg) cp.add(16),
                c2 = in(reg) cp.add(32),
                c3 = in(reg) cp.add(48),
                sc = in(reg) sc,
                options(nostack)
            );
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    pub fn cpu_has_amx() -> bool {
        false
    }
    pub fn permit() -> bool {
        false
    }
    pub fn configure() {
        unreachable!("available() is false off x86_64")
    }
    pub fn release() {
        unreachable!("available() is false off x86_64")
    }
    pub unsafe fn block(_: &[u32], _: usize, _: &[u32], _: usize, _: &mut [f32]) {
        unreachable!("available() is false off x86_64")
    }
}
