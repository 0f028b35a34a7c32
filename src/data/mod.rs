//! Datasets: reading MNIST (IDX) and CIFAR-10 (binary batches) from disk or from the embedded
//! mnist-mini, splitting and normalizing them, and producing standardized (optionally augmented)
//! training batches.
//!
//! Layout under the data directory: `mnist/` and `fashion-mnist/` with the four IDX files each,
//! `cifar10/` with `data_batch_1..5.bin` and `test_batch.bin`; each file raw or gzipped (`NAME`
//! or `NAME.gz`). Fashion-MNIST is also found where Debian's package installs it.

mod batch;
mod bundled;
mod cifar;
mod error;
mod files;
mod idx;
mod imageset;
#[cfg(test)]
mod testutil;
mod verify;

use std::path::{Path, PathBuf};

pub use batch::{AUGMENT_PURPOSE, Batch, EPOCH_PURPOSE, PAD, batches, epoch_order};
pub use bundled::{TEST_COUNT as MNIST_MINI_TEST, TRAIN_COUNT as MNIST_MINI_TRAIN};
pub use error::DataError;
pub use imageset::{ImageSet, Normalization};
pub use verify::{VerifyReport, VerifyStatus, verify};

use crate::spec::{DataConfig, Dataset};

/// The MNIST release's file names (without `.gz`): train images, train labels, test images,
/// test labels. Fashion-MNIST's files have the same names.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The folder that holds a dataset's files: `<data dir>/<name>/`, except that Fashion-MNIST
/// is read from [`DEBIAN_FASHION_MNIST_DIR`] when the data directory has no `fashion-mnist/`
/// (a folder of one's own always wins, so a user can point elsewhere).
pub fn dataset_dir(data_dir: &Path, dataset: Dataset) -> PathBuf {
    dataset_dir_or(data_dir, dataset, Path::new(DEBIAN_FASHION_MNIST_DIR))
}

/// [`dataset_dir`] with the system location for Fashion-MNIST given (tests pass their own).
pub(crate) fn dataset_dir_or(data_dir: &Path, dataset: Dataset, system: &Path) -> PathBuf {
    let own = data_dir.join(dataset.name());
    if dataset == Dataset::FashionMnist && !own.is_dir() && system.is_dir() {
        system.to_path_buf()
    } else {
        own
    }
}

/// The splits of one trial, normalized with statistics of its training split.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: ImageSet,
    /// The last `round(validation_split * n)` training images; `None` when the split is 0.
    pub val: Option<ImageSet>,
    pub test: ImageSet,
    /// Mean/std of the (post-split) training pixels; apply to every split.
    pub norm: Normalization,
}

/// Loads the dataset of `cfg` (from `data_dir`, except mnist-mini which is embedded), keeps the
/// first `train_samples`/`test_samples` images, holds out the validation split, and computes the
/// normalization over what remains for training.
pub fn load(cfg: &DataConfig, data_dir: &Path) -> Result<Splits, DataError> {
    load_or(cfg, data_dir, Path::new(DEBIAN_FASHION_MNIST_DIR))
}

/// [`load`] with the system location for Fashion-MNIST given.
pub(crate) fn load_or(
    cfg: &DataConfig,
    data_dir: &Path,
    system: &Path,
) -> Result<Splits, DataError> {
    let dataset = cfg.dataset;
    let fraction = cfg.validation_split;
    if !(0.0..1.0).contains(&fraction) {
        return Err(DataError::SplitOutOfRange { fraction });
    }
    let (mut train, mut test) = match dataset {
        Dataset::Mnist | Dataset::FashionMnist => {
            let dir = dataset_dir_or(data_dir, dataset, system);
            load_mnist(dataset, |name| {
                files::read_dataset_file(dataset.name(), &dir, name)
            })?
        }
        Dataset::MnistMini => load_mnist(dataset, bundled::read)?,
        Dataset::Cifar10 => load_cifar(dataset, &dataset_dir_or(data_dir, dataset, system))?,
    };
    take_first(
        dataset,
        &mut train,
        cfg.train_samples,
        "train_samples",
        "training",
    )?;
    take_first(dataset, &mut test, cfg.test_samples, "test_samples", "test")?;

    let total = train.len();
    let val = if fraction > 0.0 {
        let n_val = (fraction * total as f64).round() as usize;
        if n_val == 0 || n_val >= total {
            return Err(DataError::BadSplit {
                dataset: dataset.name(),
                fraction,
                total,
                train: total.saturating_sub(n_val),
                val: n_val.min(total),
            });
        }
        Some(train.split_off_last(n_val))
    } else {
        None
    };
    let norm = Normalization::from_images(&train);
    Ok(Splits {
        train,
        val,
        test,
        norm,
    })
}

/// Keeps the first `n` images; asking for more than the file holds (or for none) is an error,
/// because silently training on fewer images than configured would mislabel the results.
fn take_first(
    dataset: Dataset,
    set: &mut ImageSet,
    n: Option<usize>,
    key: &'static str,
    split: &'static str,
) -> Result<(), DataError> {
    let Some(n) = n else { return Ok(()) };
    if n == 0 || n > set.len() {
        return Err(DataError::SampleCount {
            dataset: dataset.name(),
            key,
            split,
            requested: n,
            available: set.len(),
        });
    }
    set.truncate(n);
    Ok(())
}

type Reader<'a> = dyn Fn(&str) -> Result<(PathBuf, Vec<u8>), DataError> + 'a;

/// Reads one MNIST images+labels pair and checks that the counts agree.
fn read_mnist_pair(
    dataset: Dataset,
    read: &Reader<'_>,
    images_name: &str,
    labels_name: &str,
) -> Result<ImageSet, DataError> {
    let size = dataset.image_size();
    let (images_file, bytes) = read(images_name)?;
    let (pixels, images) = idx::parse_images(&images_file, bytes, size)?;
    let (labels_file, bytes) = read(labels_name)?;
    let labels = idx::parse_labels(&labels_file, bytes, dataset.num_classes())?;
    if labels.len() != images {
        return Err(DataError::CountMismatch {
            images_file,
            images,
            labels_file,
            labels: labels.len(),
        });
    }
    // Cannot fail: parse_images checked the size against the header count.
    ImageSet::new(pixels, labels, dataset.channels(), size).ok_or_else(|| DataError::BadHeader {
        file: images_file,
        detail: "pixel count does not match the image count".into(),
    })
}

fn load_mnist(
    dataset: Dataset,
    read: impl Fn(&str) -> Result<(PathBuf, Vec<u8>), DataError>,
) -> Result<(ImageSet, ImageSet), DataError> {
    let [train_images, train_labels, test_images, test_labels] = MNIST_FILES;
    let train = read_mnist_pair(dataset, &read, train_images, train_labels)?;
    let test = read_mnist_pair(dataset, &read, test_images, test_labels)?;
    Ok((train, test))
}

/// Reads one official CIFAR-10 batch file (exactly 10,000 records).
fn read_cifar_file(dataset: Dataset, dir: &Path, name: &str) -> Result<ImageSet, DataError> {
    let (file, bytes) = files::read_dataset_file(dataset.name(), dir, name)?;
    let (pixels, labels) = cifar::parse_batch(
        &file,
        &bytes,
        cifar::RECORDS_PER_FILE,
        dataset.num_classes(),
    )?;
    ImageSet::new(pixels, labels, cifar::CHANNELS, cifar::SIZE).ok_or_else(|| {
        DataError::BadHeader {
            file,
            detail: "pixel count does not match the record count".into(),
        }
    })
}

fn load_cifar(dataset: Dataset, dir: &Path) -> Result<(ImageSet, ImageSet), DataError> {
    let [first, rest @ ..] = cifar::TRAIN_FILES;
    let mut train = read_cifar_file(dataset, dir, first)?;
    for name in rest {
        train.append(read_cifar_file(dataset, dir, name)?);
    }
    let test = read_cifar_file(dataset, dir, cifar::TEST_FILE)?;
    Ok((train, test))
}

#[cfg(test)]
mod fashion_tests;
#[cfg(test)]
mod tests;
