//! mnist-mini: the first 2,000 training and 1,000 test images of MNIST, compiled into the binary
//! (about 470 KB) so that smoke tests and first runs need no download. The files are made by
//! `scripts/make-mnist-mini.py`; the path is relative to the crate root so it is the same in
//! every crate that includes this module.

use std::path::PathBuf;

use super::DataError;

pub const TRAIN_COUNT: usize = crate::spec::Dataset::MnistMini.train_images();
pub const TEST_COUNT: usize = 1_000;

macro_rules! asset {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/mnist-mini/",
            $name
        ))
    };
}

/// (file name as in the MNIST release, gzipped bytes).
pub(crate) const FILES: [(&str, &[u8]); 4] = [
    (
        "train-images-idx3-ubyte",
        asset!("train-images-idx3-ubyte.gz"),
    ),
    (
        "train-labels-idx1-ubyte",
        asset!("train-labels-idx1-ubyte.gz"),
    ),
    (
        "t10k-images-idx3-ubyte",
        asset!("t10k-images-idx3-ubyte.gz"),
    ),
    (
        "t10k-labels-idx1-ubyte",
        asset!("t10k-labels-idx1-ubyte.gz"),
    ),
];

/// A path-like name for an embedded file, for error messages and verify reports.
pub(crate) fn display_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<embedded mnist-mini>/{name}.gz"))
}

/// The decompressed bytes of one embedded file, by its MNIST name.
pub(crate) fn read(name: &str) -> Result<(PathBuf, Vec<u8>), DataError> {
    let path = display_path(name);
    let bytes = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .ok_or_else(|| DataError::Missing {
            dataset: "mnist-mini",
            plain: display_path(name).with_extension(""),
            gz: path.clone(),
        })?;
    let raw = super::files::gunzip(&path, bytes)?;
    Ok((path, raw))
}
