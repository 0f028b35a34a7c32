//! Element-wise loops compiled twice: for baseline x86-64 (4-lane SSE2, what the crate is
//! built for) and for AVX2 + FMA, picked at run time. Batch norm, its backward pass and the
//! maps applied while product tiles are filled are such loops, and ran on SSE2 before.
//!
//! [`wide_fn!`] wraps a function: its body is an `#[inline(always)]` function, called from a
//! `#[target_feature(enable = "avx2,fma")]` twin when the CPU has both (a closure handed to
//! such a twin is not reliably inlined into it, so the body would stay narrow). Results do
//! not change with the lanes: Rust never contracts `a * b + c` into an FMA nor reorders a
//! sum.

/// Defines `fn $name(...)` that runs its body on AVX2 + FMA where the CPU has them.
macro_rules! wide_fn {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            if super::simd::available() {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                // SAFETY: the CPU has AVX2 and FMA (`simd::available`).
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

pub(super) use wide_fn;
