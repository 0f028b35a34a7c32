//! Fashion-MNIST: MNIST's layout in its own folder, Debian's location as a fallback, and (when
//! installed) the real set.

use std::path::Path;

use super::tests::{config, write_fake_idx_set};
use super::testutil::real_fashion_dir;
use super::*;
use crate::spec::Dataset;

/// No system-wide copy: what this machine has installed must not matter.
const NO_SYSTEM: &str = "/nonexistent-densenet-lab-system-fashion";

#[test]
fn fashion_mnist_loads_from_its_own_folder_not_mnists() {
    let dir = tempfile::tempdir().unwrap();
    write_fake_idx_set(&dir.path().join("mnist"), 5, 2, 0);
    write_fake_idx_set(&dir.path().join("fashion-mnist"), 12, 4, 100);
    let s = load_or(
        &config(Dataset::FashionMnist),
        dir.path(),
        Path::new(NO_SYSTEM),
    )
    .unwrap();
    assert_eq!((s.train.len(), s.test.len()), (12, 4));
    assert_eq!((s.train.channels(), s.train.size()), (1, 28));
    assert_eq!(s.train.image(7).unwrap(), &[107u8; 784][..]);
    assert_eq!(s.test.labels(), &[0, 1, 2, 3]);
    // MNIST in the same data directory is still MNIST.
    let m = load_or(&config(Dataset::Mnist), dir.path(), Path::new(NO_SYSTEM)).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (5, 2));
}

#[test]
fn fashion_mnist_falls_back_to_the_system_location_and_the_data_dirs_folder_wins() {
    let data = tempfile::tempdir().unwrap();
    let system = tempfile::tempdir().unwrap();
    write_fake_idx_set(system.path(), 9, 3, 50);
    let cfg = config(Dataset::FashionMnist);
    let s = load_or(&cfg, data.path(), system.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (9, 3));
    assert_eq!(s.train.image(0).unwrap(), &[50u8; 784][..]);
    // Other datasets never look there.
    assert!(load_or(&config(Dataset::Mnist), data.path(), system.path()).is_err());
    write_fake_idx_set(&data.path().join("fashion-mnist"), 12, 4, 0);
    let s = load_or(&cfg, data.path(), system.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (12, 4));
}

#[test]
fn missing_fashion_mnist_names_both_paths_and_the_debian_package() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_or(
        &config(Dataset::FashionMnist),
        dir.path(),
        Path::new(NO_SYSTEM),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }), "{err}");
    let msg = err.to_string();
    let plain = dir.path().join("fashion-mnist/train-images-idx3-ubyte");
    assert!(msg.starts_with("fashion-mnist: file not found"), "{msg}");
    assert!(msg.contains(&plain.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("{}.gz", plain.display())), "{msg}");
    assert!(msg.contains("dataset-fashion-mnist"), "{msg}");
    assert!(msg.contains(DEBIAN_FASHION_MNIST_DIR), "{msg}");
}

#[test]
fn real_fashion_mnist_loads_60000_10000_with_6000_and_1000_per_class() {
    let name = "real_fashion_mnist_loads_60000_10000_with_6000_and_1000_per_class";
    let Some(data) = real_fashion_dir(name) else {
        return;
    };
    let s = load(&config(Dataset::FashionMnist), &data).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
    assert_eq!(s.train.class_counts(10), vec![6000; 10]);
    assert_eq!(s.test.class_counts(10), vec![1000; 10]);
    // The widely used Fashion-MNIST statistics (mean 0.2860, std 0.3530).
    assert!((s.norm.mean[0] - 0.2860).abs() < 1e-3, "{:?}", s.norm);
    assert!((s.norm.std[0] - 0.3530).abs() < 1e-3, "{:?}", s.norm);
    // Not MNIST under another name: its first training label is 9 (ankle boot), MNIST's is 5.
    assert_eq!(s.train.labels()[0], 9);
}
