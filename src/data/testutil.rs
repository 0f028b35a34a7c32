//! Builders for tiny dataset files in tests.

use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) fn gz(raw: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(raw).unwrap();
    enc.finish().unwrap()
}

pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An IDX image file of `n` `size`x`size` images.
pub(crate) fn idx_images(n: u32, size: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [2051, n, size, size] {
        out.extend(v.to_be_bytes());
    }
    out.extend(pixels);
    out
}

pub(crate) fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(2049u32.to_be_bytes());
    out.extend((labels.len() as u32).to_be_bytes());
    out.extend(labels);
    out
}

/// One CIFAR record whose pixel (channel, row, column) is `f(c, y, x)`.
pub(crate) fn cifar_record(label: u8, f: impl Fn(usize, usize, usize) -> u8) -> Vec<u8> {
    let mut out = vec![label];
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                out.push(f(c, y, x));
            }
        }
    }
    out
}

/// The data directory named by DENSENET_LAB_DATA, holding `sub`; `None` after a visible skip
/// when it is unset (see [`crate::preconditions::real_data`]).
pub(crate) fn real_data_dir(test: &str, sub: &str) -> Option<PathBuf> {
    crate::preconditions::real_data(test, sub)
}

/// The real Fashion-MNIST's data folder, or `None` after a visible skip (see
/// [`crate::preconditions::real_fashion`]).
pub(crate) fn real_fashion_dir(test: &str) -> Option<PathBuf> {
    crate::preconditions::real_fashion(test)
}

/// Reads a whole (gzipped) file of the real data set.
pub(crate) fn read_real(dir: &Path, sub: &str, name: &str) -> Vec<u8> {
    let (_, bytes) = crate::data::files::read_dataset_file("test", &dir.join(sub), name).unwrap();
    bytes
}
