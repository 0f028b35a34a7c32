//! Epoch orders and training batches. This runs every step, so a batch is built with one table
//! lookup per pixel (a 256-entry table per channel) and row-slice copies for the crop.

use super::{ImageSet, Normalization};
use crate::rng::SplitMix64;

/// Purpose tag of the epoch shuffle stream: `SplitMix64::derived(seed, &[EPOCH_PURPOSE, epoch])`.
pub const EPOCH_PURPOSE: u64 = 0x4550_4f43_485f_4f52; // "EPOCH_OR"
/// Suggested purpose tag of the augmentation stream, used the same way as `EPOCH_PURPOSE`, so a
/// resumed run can recreate an epoch's augmentation too.
pub const AUGMENT_PURPOSE: u64 = 0x4155_474d_454e_5400; // "AUGMENT\0"
/// Zero padding on each side before the random crop (offsets 0..=2*PAD per axis).
pub const PAD: usize = 4;

/// The visiting order of `n` images in `epoch`: a Fisher-Yates shuffle that depends only on
/// `seed` and `epoch`, so a run resumed at any epoch sees the same order as an uninterrupted one.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    SplitMix64::derived(seed, &[EPOCH_PURPOSE, epoch as u64]).shuffle(&mut order);
    order
}

/// Consecutive batches of `order`; the last, partial batch is kept. A `batch_size` of 0 is
/// treated as 1 rather than panicking.
pub fn batches(order: &[usize], batch_size: usize) -> impl Iterator<Item = &[usize]> {
    order.chunks(batch_size.max(1))
}

/// Standardized images ready for a tensor of shape `[len, channels, size, size]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `len * channels * size * size` values, CHW per image.
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
    pub len: usize,
    pub channels: usize,
    pub size: usize,
}

impl ImageSet {
    /// The images at `indices`, standardized with `norm`. With `augment`, each image is randomly
    /// cropped from its `PAD`-padded version and flipped horizontally with probability 1/2,
    /// drawing per image, in this order: top offset `below(2*PAD+1)`, left offset
    /// `below(2*PAD+1)`, flip `unit_f64() < 0.5`. As torchvision's `RandomCrop(padding=4)`
    /// before `Normalize`, the padding is raw 0 (black), i.e. `norm.standardize(c, 0)`.
    ///
    /// # Panics
    /// When an index is out of range or `norm` has fewer channels than the set: both are
    /// programming errors (indices come from `epoch_order(self.len(), ..)`), not bad data.
    pub fn batch(
        &self,
        indices: &[usize],
        norm: &Normalization,
        mut augment: Option<&mut SplitMix64>,
    ) -> Batch {
        let (channels, size) = (self.channels(), self.size());
        assert!(
            norm.channels() >= channels,
            "normalization has {} channels, images have {channels}",
            norm.channels()
        );
        let tables = norm.tables();
        let per_image = self.image_len();
        let plane = size * size;
        let mut images = vec![0f32; indices.len() * per_image];
        let mut labels = Vec::with_capacity(indices.len());
        for (out, &i) in images.chunks_exact_mut(per_image).zip(indices) {
            let Some(src) = self.image(i) else {
                panic!("image index {i} out of range for a set of {}", self.len());
            };
            labels.push(i64::from(self.labels()[i]));
            match augment.as_deref_mut() {
                None => {
                    let planes = out.chunks_exact_mut(plane).zip(src.chunks_exact(plane));
                    for ((o, s), table) in planes.zip(&tables) {
                        for (o, &p) in o.iter_mut().zip(s) {
                            *o = table[p as usize];
                        }
                    }
                }
                Some(rng) => {
                    let top = rng.below(2 * PAD + 1);
                    let left = rng.below(2 * PAD + 1);
                    let flip = rng.unit_f64() < 0.5;
                    crop_flip(out, src, &tables, size, top, left, flip);
                }
            }
        }
        Batch {
            images,
            labels,
            len: indices.len(),
            channels,
            size,
        }
    }
}

/// Writes the `size`x`size` window at (`top`, `left`) of the `PAD`-padded image `src` into `out`,
/// standardized, mirrored left-right when `flip`. Output pixel (y, x) before the flip is source
/// pixel (top + y - PAD, left + x - PAD), or padding when that lies outside the image.
pub(crate) fn crop_flip(
    out: &mut [f32],
    src: &[u8],
    tables: &[[f32; 256]],
    size: usize,
    top: usize,
    left: usize,
    flip: bool,
) {
    let plane = size * size;
    // Output columns [x_lo, x_hi) come from the image; the rest are padding.
    let x_lo = PAD.saturating_sub(left).min(size);
    let x_hi = (size + PAD).saturating_sub(left).min(size).max(x_lo);
    let sx0 = (left + x_lo).saturating_sub(PAD);
    for ((o_plane, s_plane), table) in out
        .chunks_exact_mut(plane)
        .zip(src.chunks_exact(plane))
        .zip(tables)
    {
        let pad = table[0];
        for (y, o_row) in o_plane.chunks_exact_mut(size).enumerate() {
            let src_row = (top + y)
                .checked_sub(PAD)
                .and_then(|sy| s_plane.get(sy * size..(sy + 1) * size));
            let Some(s_row) = src_row else {
                o_row.fill(pad);
                continue;
            };
            o_row[..x_lo].fill(pad);
            o_row[x_hi..].fill(pad);
            for (o, &p) in o_row[x_lo..x_hi].iter_mut().zip(&s_row[sx0..]) {
                *o = table[p as usize];
            }
            if flip {
                o_row.reverse();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standardization that maps raw `p` to `p - 1`, so raw pixels stay readable and the
    /// padding (raw 0) shows up as -1.
    fn readable_norm(channels: usize) -> Normalization {
        Normalization {
            mean: vec![1.0 / 255.0; channels],
            std: vec![1.0 / 255.0; channels],
        }
    }

    fn rounded(v: &[f32]) -> Vec<i32> {
        v.iter().map(|x| x.round() as i32).collect()
    }

    #[test]
    fn epoch_order_is_a_deterministic_permutation_that_changes_per_epoch() {
        let a = epoch_order(1000, 42, 3);
        assert_eq!(a, epoch_order(1000, 42, 3));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, epoch_order(1000, 42, 4));
        assert_ne!(a, epoch_order(1000, 43, 3));
        assert!(epoch_order(0, 1, 0).is_empty());
    }

    #[test]
    fn batches_keep_the_last_partial_batch() {
        let order: Vec<usize> = (0..10).collect();
        let sizes: Vec<usize> = batches(&order, 4).map(<[usize]>::len).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        assert_eq!(batches(&order, 0).count(), 10);
        let joined: Vec<usize> = batches(&order, 3).flatten().copied().collect();
        assert_eq!(joined, order);
    }

    #[test]
    fn plain_batch_standardizes_through_the_table_in_index_order() {
        let pixels: Vec<u8> = (1..=8).collect(); // two 1x2x2 images
        let set = ImageSet::new(pixels, vec![3, 7], 1, 2).unwrap();
        let b = set.batch(&[1, 0, 1], &readable_norm(1), None);
        assert_eq!((b.len, b.channels, b.size), (3, 1, 2));
        assert_eq!(b.labels, vec![7, 3, 7]);
        assert_eq!(rounded(&b.images), vec![4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
        let norm = Normalization {
            mean: vec![0.5],
            std: vec![0.25],
        };
        let b = set.batch(&[0], &norm, None);
        assert!((b.images[0] - (1.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
    }

    #[test]
    fn crop_offsets_and_flip_place_pixels_as_computed_by_hand() {
        // 3x3 image with raw values 1..=9 (standardized: 0..=8), padding -1.
        let src: Vec<u8> = (1..=9).collect();
        let tables = readable_norm(1).tables();
        let mut out = vec![0f32; 9];
        // Offsets (PAD, PAD) are the identity.
        crop_flip(&mut out, &src, &tables, 3, 4, 4, false);
        assert_eq!(rounded(&out), vec![0, 1, 2, 3, 4, 5, 6, 7, 8]);
        // One row down, one column left: source (y+1, x-1).
        crop_flip(&mut out, &src, &tables, 3, 5, 3, false);
        assert_eq!(rounded(&out), vec![-1, 3, 4, -1, 6, 7, -1, -1, -1]);
        // The same window mirrored.
        crop_flip(&mut out, &src, &tables, 3, 5, 3, true);
        assert_eq!(rounded(&out), vec![4, 3, -1, 7, 6, -1, -1, -1, -1]);
        // Extreme offsets of a 3x3 image with 4 padding are all padding.
        crop_flip(&mut out, &src, &tables, 3, 0, 8, true);
        assert_eq!(rounded(&out), vec![-1; 9]);
        // Top-left corner: source (y-2, x-2).
        crop_flip(&mut out, &src, &tables, 3, 2, 2, false);
        assert_eq!(rounded(&out), vec![-1, -1, -1, -1, -1, -1, -1, -1, 0]);
    }

    /// The crop/flip written the slow, obvious way: build the padded image, cut, mirror.
    fn reference(src: &[u8], c: usize, s: usize, top: usize, left: usize, flip: bool) -> Vec<i32> {
        let p = s + 2 * PAD;
        let mut padded = vec![0i32; c * p * p];
        for ch in 0..c {
            for y in 0..s {
                for x in 0..s {
                    padded[ch * p * p + (y + PAD) * p + x + PAD] =
                        src[ch * s * s + y * s + x] as i32;
                }
            }
        }
        let mut out = Vec::new();
        for ch in 0..c {
            for y in 0..s {
                for x in 0..s {
                    let x = if flip { s - 1 - x } else { x };
                    out.push(padded[ch * p * p + (top + y) * p + left + x] - 1);
                }
            }
        }
        out
    }

    #[test]
    fn augmented_batch_matches_padded_crop_flip_with_documented_draws() {
        let (c, s) = (3, 6);
        let pixels: Vec<u8> = (0..2 * c * s * s).map(|i| (i % 250 + 1) as u8).collect();
        let set = ImageSet::new(pixels, vec![0, 1], c, s).unwrap();
        let norm = readable_norm(c);
        let (mut tops, mut flips) = (std::collections::BTreeSet::new(), [false; 2]);
        for seed in 0..200 {
            let mut rng = SplitMix64::new(seed);
            let mut draws = rng.clone();
            let b = set.batch(&[1, 0], &norm, Some(&mut rng));
            for (k, &i) in [1usize, 0].iter().enumerate() {
                let top = draws.below(9);
                let left = draws.below(9);
                let flip = draws.unit_f64() < 0.5;
                tops.insert(top);
                flips[flip as usize] = true;
                let want = reference(set.image(i).unwrap(), c, s, top, left, flip);
                let got = rounded(&b.images[k * c * s * s..(k + 1) * c * s * s]);
                assert_eq!(
                    got, want,
                    "seed {seed} image {i} top {top} left {left} flip {flip}"
                );
            }
            // The batch consumed exactly the documented draws.
            assert_eq!(rng.next_u64(), draws.next_u64());
        }
        assert_eq!(tops.len(), 9, "all offsets 0..=8 occur");
        assert_eq!(flips, [true, true], "both flip outcomes occur");
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn batch_with_bad_index_panics_with_a_message() {
        let set = ImageSet::new(vec![0; 4], vec![0], 1, 2).unwrap();
        set.batch(&[1], &readable_norm(1), None);
    }
}
