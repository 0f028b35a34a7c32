//! The convolution's backward pass against its definition, on the windows that take the
//! shifted path (no im2col: per-tap masking of `dy`, the input gradient read through the
//! flipped kernel), in f32 and on every bf16 level this CPU has.

use super::bf16::{self, Bf16Kernels};
use super::conv::{Window, conv_backward};
use super::gemm::Arith;
use super::tests::assert_close;
use crate::rng::SplitMix64;

/// `(dweight, dx)` of a stride-1 'SAME' convolution by its definition, in f64.
fn reference(
    weight: &[f32],
    x: &[f32],
    dy: &[f32],
    (c_in, c_out, n): (usize, usize, usize),
    w: Window,
) -> (Vec<f32>, Vec<f32>) {
    let (k, s, pad) = (w.kernel as isize, w.size_in as isize, w.pad as isize);
    let at = |c: usize, b: usize, y: isize, x_: isize| ((c * n + b) as isize * s + y) * s + x_;
    let mut dweight = vec![0.0f64; c_out * c_in * (k * k) as usize];
    let mut dx = vec![0.0f64; c_in * n * (s * s) as usize];
    for co in 0..c_out {
        for c in 0..c_in {
            for ky in 0..k {
                for kx in 0..k {
                    let wi = ((co * c_in + c) as isize * k + ky) * k + kx;
                    for b in 0..n {
                        for oy in 0..s {
                            for ox in 0..s {
                                let (iy, ix) = (oy + ky - pad, ox + kx - pad);
                                if !(0..s).contains(&iy) || !(0..s).contains(&ix) {
                                    continue;
                                }
                                let g = dy[at(co, b, oy, ox) as usize] as f64;
                                let xi = at(c, b, iy, ix) as usize;
                                dweight[wi as usize] += g * x[xi] as f64;
                                dx[xi] += g * weight[wi as usize] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    let narrow = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (narrow(dweight), narrow(dx))
}

fn values(len: usize, rng: &mut SplitMix64) -> Vec<f32> {
    (0..len)
        .map(|_| rng.unit_f64() as f32 * 2.0 - 1.0)
        .collect()
}

#[test]
fn shifted_convolution_gradients_equal_the_definition_in_f32_and_bf16() {
    if !super::simd::available() {
        crate::preconditions::missing(
            "shifted_convolution_gradients_equal_the_definition",
            "AVX2 and FMA",
            "the shifted path runs only with the simd kernels",
        );
        return;
    }
    let mut rng = SplitMix64::new(7);
    let mut levels = vec![Arith::F32];
    levels.extend(
        [
            Bf16Kernels::Emulated,
            Bf16Kernels::Avx512Bf16,
            Bf16Kernels::Amx,
        ]
        .into_iter()
        .filter(|k| k.available())
        .map(Arith::Bf16),
    );
    // 3x3 and 5x5 windows, maps from 1x1 (every tap but the centre reads outside) to 9x9,
    // channel counts that fill no tile evenly.
    for &(c_in, c_out, n, size, kernel) in &[
        (5, 3, 2, 9, 3),
        (7, 12, 3, 8, 3),
        (4, 2, 2, 1, 3),
        (3, 5, 2, 6, 5),
        (48, 12, 2, 4, 3),
    ] {
        let w = Window::same(kernel, 1, size);
        let mo = n * size * size;
        let weight = values(c_out * c_in * kernel * kernel, &mut rng);
        let x = values(c_in * mo, &mut rng);
        let dy = values(c_out * mo, &mut rng);
        for &arith in &levels {
            let round = |v: &[f32]| -> Vec<f32> {
                match arith {
                    Arith::F32 => v.to_vec(),
                    Arith::Bf16(_) => v.iter().map(|&x| bf16::round(x)).collect(),
                }
            };
            let (want_dw, want_dx) = reference(
                &round(&weight),
                &round(&x),
                &round(&dy),
                (c_in, c_out, n),
                w,
            );
            let mut dweight = vec![f32::NAN; weight.len()];
            let mut dx = vec![f32::NAN; x.len()];
            conv_backward(
                &weight,
                &x,
                &dy,
                (c_in, c_out, n),
                w,
                &mut Vec::new(),
                &mut dweight,
                Some(&mut dx),
                arith,
            );
            let what = format!("{c_in}->{c_out} {kernel}x{kernel} on {n}x{size}x{size}, {arith:?}");
            assert_close(
                &format!("weight gradient of {what}"),
                &dweight,
                &want_dw,
                1e-5,
            );
            assert_close(&format!("input gradient of {what}"), &dx, &want_dx, 1e-5);
        }
    }
}
