//! The one error type of the data module. Every variant that comes from a file names that file,
//! so a user can see which download is broken without a debugger.

use std::path::PathBuf;

/// Where else a dataset can come from, for the message of a missing file.
fn install_hint(dataset: &str) -> String {
    if dataset == "fashion-mnist" {
        format!(
            ", or install Debian's dataset-fashion-mnist (read from {} when the data \
             directory has no fashion-mnist/)",
            super::DEBIAN_FASHION_MNIST_DIR
        )
    } else {
        String::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "{dataset}: file not found: looked for {} and {}; point --data-dir (or DENSENET_LAB_DATA) \
         at the folder that holds {dataset}/{}",
        plain.display(),
        gz.display(),
        install_hint(dataset)
    )]
    Missing {
        dataset: &'static str,
        plain: PathBuf,
        gz: PathBuf,
    },

    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: corrupt gzip data: {source}", file.display())]
    CorruptGzip {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: decompresses to more than {limit} bytes; not a dataset file", file.display())]
    TooLarge { file: PathBuf, limit: u64 },

    #[error("{}: bad magic number: expected {expected} ({what}), found {found}", file.display())]
    BadMagic {
        file: PathBuf,
        what: &'static str,
        expected: u32,
        found: u32,
    },

    #[error("{}: bad header: {detail}", file.display())]
    BadHeader { file: PathBuf, detail: String },

    #[error(
        "{}: truncated: expected {expected} bytes ({records} records), found {found}",
        file.display()
    )]
    Truncated {
        file: PathBuf,
        records: u64,
        expected: u64,
        found: u64,
    },

    #[error(
        "{}: too long: expected {expected} bytes ({records} records), found {found}",
        file.display()
    )]
    TrailingData {
        file: PathBuf,
        records: u64,
        expected: u64,
        found: u64,
    },

    #[error(
        "{}: label {label} of record {index} is out of range (expected 0..{classes})",
        file.display()
    )]
    LabelOutOfRange {
        file: PathBuf,
        index: usize,
        label: u8,
        classes: usize,
    },

    #[error(
        "image/label count mismatch: {} holds {images} images but {} holds {labels} labels",
        images_file.display(),
        labels_file.display()
    )]
    CountMismatch {
        images_file: PathBuf,
        images: usize,
        labels_file: PathBuf,
        labels: usize,
    },

    #[error(
        "{}: not the published file: the SHA-256 of its content is {found}, expected {expected}",
        file.display()
    )]
    ChecksumMismatch {
        file: PathBuf,
        expected: &'static str,
        found: String,
    },

    #[error("{}: holds {found} records, expected {expected}", file.display())]
    UnexpectedCount {
        file: PathBuf,
        expected: usize,
        found: usize,
    },

    #[error(
        "{dataset}: {key} = {requested}, but the {split} set holds {available} images \
         (allowed: 1..={available})"
    )]
    SampleCount {
        dataset: &'static str,
        key: &'static str,
        split: &'static str,
        requested: usize,
        available: usize,
    },

    #[error(
        "{dataset}: validation_split = {fraction} of {total} training images leaves {train} \
         for training and {val} for validation; both must be non-empty"
    )]
    BadSplit {
        dataset: &'static str,
        fraction: f64,
        total: usize,
        train: usize,
        val: usize,
    },

    #[error("validation_split = {fraction} is not in [0, 1)")]
    SplitOutOfRange { fraction: f64 },
}
