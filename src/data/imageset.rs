//! In-memory image sets and their normalization. Pixels stay as raw bytes (a quarter of the
//! memory of f32, and exactly the file contents); batches are standardized on the way out.

use serde::{Deserialize, Serialize};

/// Images of one split: `len()` images of `channels` x `size` x `size` bytes each, stored CHW per
/// image and image after image, plus one label per image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    channels: usize,
    size: usize,
}

impl ImageSet {
    /// `None` unless `pixels` holds exactly `labels.len()` images of the given shape.
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>, channels: usize, size: usize) -> Option<Self> {
        let per_image = channels.checked_mul(size)?.checked_mul(size)?;
        (per_image > 0 && labels.len().checked_mul(per_image)? == pixels.len()).then_some(Self {
            pixels,
            labels,
            channels,
            size,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
    /// All pixels, `len() * channels() * size() * size()` bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
    pub fn channels(&self) -> usize {
        self.channels
    }
    pub fn size(&self) -> usize {
        self.size
    }
    /// Bytes per image (C*H*W).
    pub fn image_len(&self) -> usize {
        self.channels * self.size * self.size
    }
    /// The CHW bytes of image `i`, or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let n = self.image_len();
        self.pixels
            .get(i.checked_mul(n)?..i.checked_mul(n)?.checked_add(n)?)
    }
    /// Images per class for labels `0..classes` (labels at or above `classes` are not counted).
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Keeps the first `n` images (all when `n >= len()`).
    pub(crate) fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.pixels.truncate(n * self.image_len());
        self.labels.truncate(n);
    }

    /// Removes the last `n` images (at most all) and returns them as a new set.
    pub(crate) fn split_off_last(&mut self, n: usize) -> ImageSet {
        let keep = self.len() - n.min(self.len());
        ImageSet {
            pixels: self.pixels.split_off(keep * self.image_len()),
            labels: self.labels.split_off(keep),
            channels: self.channels,
            size: self.size,
        }
    }

    /// Appends another set of the same shape (used to join the CIFAR-10 training batches).
    pub(crate) fn append(&mut self, mut other: ImageSet) {
        debug_assert_eq!((self.channels, self.size), (other.channels, other.size));
        self.pixels.append(&mut other.pixels);
        self.labels.append(&mut other.labels);
    }
}

/// Per-channel mean and standard deviation of pixels scaled to [0, 1]; a pixel `p` of channel `c`
/// becomes `(p / 255 - mean[c]) / std[c]`. Serializable so a checkpoint can carry the statistics
/// it was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalization {
    /// Exact statistics over every pixel of `set`, from a 256-bin histogram per channel (one
    /// pass over the bytes, no float accumulation error). A constant channel gets std 1, an
    /// empty set mean 0 and std 1, so standardizing never divides by zero.
    pub fn from_images(set: &ImageSet) -> Self {
        let plane = set.size * set.size;
        let mut hist = vec![[0u64; 256]; set.channels];
        for image in set.pixels.chunks_exact(set.image_len().max(1)) {
            for (h, channel) in hist.iter_mut().zip(image.chunks_exact(plane)) {
                for &p in channel {
                    h[p as usize] += 1;
                }
            }
        }
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for h in &hist {
            let count: u64 = h.iter().sum();
            if count == 0 {
                mean.push(0.0);
                std.push(1.0);
                continue;
            }
            let n = count as f64;
            let value = |p: usize| p as f64 / 255.0;
            let m = h
                .iter()
                .enumerate()
                .map(|(p, &k)| value(p) * k as f64)
                .sum::<f64>()
                / n;
            let var = h
                .iter()
                .enumerate()
                .map(|(p, &k)| (value(p) - m).powi(2) * k as f64)
                .sum::<f64>()
                / n;
            let s = var.sqrt();
            mean.push(m as f32);
            std.push(if s > 1e-6 { s as f32 } else { 1.0 });
        }
        Normalization { mean, std }
    }

    /// Channels described (a hand-edited checkpoint could give unequal lists; use the shorter).
    pub fn channels(&self) -> usize {
        self.mean.len().min(self.std.len())
    }

    /// The standardized value of raw pixel `raw` in `channel`.
    ///
    /// # Panics
    /// When `channel >= self.channels()`.
    pub fn standardize(&self, channel: usize, raw: u8) -> f32 {
        let (m, s) = (self.mean[channel] as f64, self.std[channel] as f64);
        ((raw as f64 / 255.0 - m) / s) as f32
    }

    /// One 256-entry lookup table per channel: standardizing a batch is then one load per pixel.
    pub(crate) fn tables(&self) -> Vec<[f32; 256]> {
        (0..self.channels())
            .map(|c| std::array::from_fn(|p| self.standardize(c, p as u8)))
            .collect()
    }
}
