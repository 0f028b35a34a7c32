//! Tests of `load`: layout, sample limits, validation split, normalization, mnist-mini and (when
//! DENSENET_LAB_DATA is set) the real datasets.

use super::testutil::{cifar_record, gz, idx_images, idx_labels, read_real, real_data_dir, write};
use super::*;
use crate::spec::{DataConfig, Dataset};

pub(super) fn config(dataset: Dataset) -> DataConfig {
    DataConfig {
        dataset,
        augment: false,
        validation_split: 0.0,
        train_samples: None,
        test_samples: None,
    }
}

/// A fake MNIST directory with `n_train`/`n_test` images; image i is filled with i and has label
/// i % 10. Train files gzipped, test files raw.
fn fake_mnist(n_train: usize, n_test: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_fake_idx_set(&dir.path().join("mnist"), n_train, n_test, 0);
    dir
}

/// The four IDX files of an MNIST-layout set in `mnist`: image i is filled with `i + offset`
/// and has label i % 10. Train files gzipped, test files raw.
pub(super) fn write_fake_idx_set(mnist: &Path, n_train: usize, n_test: usize, offset: u8) {
    let make = |n: usize| {
        let pixels: Vec<u8> = (0..n)
            .flat_map(|i| [(i as u8).wrapping_add(offset); 784])
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        (idx_images(n as u32, 28, &pixels), idx_labels(&labels))
    };
    let (images, labels) = make(n_train);
    write(mnist, "train-images-idx3-ubyte.gz", &gz(&images));
    write(mnist, "train-labels-idx1-ubyte.gz", &gz(&labels));
    let (images, labels) = make(n_test);
    write(mnist, "t10k-images-idx3-ubyte", &images);
    write(mnist, "t10k-labels-idx1-ubyte", &labels);
}

#[test]
fn loads_mnist_layout_from_data_dir() {
    let dir = fake_mnist(20, 7);
    let s = load(&config(Dataset::Mnist), dir.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (20, 7));
    assert!(s.val.is_none());
    assert_eq!((s.train.channels(), s.train.size()), (1, 28));
    assert_eq!(s.train.image(13).unwrap(), &[13u8; 784][..]);
    assert_eq!(s.test.labels(), &[0, 1, 2, 3, 4, 5, 6]);
}

#[test]
fn missing_dataset_error_names_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&config(Dataset::Cifar10), dir.path()).unwrap_err();
    let msg = err.to_string();
    let plain = dir.path().join("cifar10").join("data_batch_1.bin");
    assert!(msg.contains(&plain.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("{}.gz", plain.display())), "{msg}");
}

#[test]
fn image_label_count_mismatch_names_both_files() {
    let dir = fake_mnist(5, 3);
    write(
        &dir.path().join("mnist"),
        "t10k-labels-idx1-ubyte",
        &idx_labels(&[1, 2]),
    );
    let err = load(&config(Dataset::Mnist), dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("t10k-images-idx3-ubyte") && msg.contains("t10k-labels-idx1-ubyte"));
}

#[test]
fn cifar_batch_with_wrong_record_count_is_truncated_error() {
    let dir = tempfile::tempdir().unwrap();
    let record = cifar_record(3, |c, _, _| c as u8);
    write(&dir.path().join("cifar10"), "data_batch_1.bin", &record);
    let err = load(&config(Dataset::Cifar10), dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 30_730_000,
                found: 3073,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("data_batch_1.bin"));
}

#[test]
fn sample_limits_take_the_first_images_and_reject_too_many() {
    let dir = fake_mnist(20, 7);
    let mut cfg = config(Dataset::Mnist);
    cfg.train_samples = Some(12);
    cfg.test_samples = Some(7);
    let s = load(&cfg, dir.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (12, 7));
    assert_eq!(s.train.image(11).unwrap()[0], 11);

    cfg.test_samples = Some(8);
    let err = load(&cfg, dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::SampleCount {
                requested: 8,
                available: 7,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("mnist") && msg.contains("test_samples") && msg.contains('8'));
    cfg.test_samples = Some(0);
    assert!(load(&cfg, dir.path()).is_err());
}

#[test]
fn validation_split_takes_the_last_rounded_fraction() {
    let dir = fake_mnist(20, 4);
    let mut cfg = config(Dataset::Mnist);
    cfg.validation_split = 0.13; // round(2.6) = 3
    let s = load(&cfg, dir.path()).unwrap();
    let val = s.val.as_ref().unwrap();
    assert_eq!((s.train.len(), val.len()), (17, 3));
    assert_eq!(val.labels(), &[7, 8, 9]);
    assert_eq!(val.image(0).unwrap()[0], 17);

    // After train_samples: the last of the first 10.
    cfg.train_samples = Some(10);
    cfg.validation_split = 0.2;
    let s = load(&cfg, dir.path()).unwrap();
    assert_eq!((s.train.len(), s.val.as_ref().unwrap().len()), (8, 2));
    assert_eq!(s.val.unwrap().labels(), &[8, 9]);

    for (fraction, bad) in [(0.04, "empty val"), (0.96, "empty train")] {
        cfg.validation_split = fraction;
        let err = load(&cfg, dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::BadSplit { total: 10, .. }),
            "{bad}: {err}"
        );
    }
    for fraction in [1.0, -0.1, f64::NAN] {
        cfg.validation_split = fraction;
        let err = load(&cfg, dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::SplitOutOfRange { .. }),
            "{fraction}"
        );
    }
}

#[test]
fn normalization_uses_post_split_train_pixels_only() {
    let dir = fake_mnist(10, 3);
    let mut cfg = config(Dataset::Mnist);
    cfg.validation_split = 0.5;
    let s = load(&cfg, dir.path()).unwrap();
    // Train images 0..5 are filled with 0..5: mean 2/255, population std sqrt(2)/255.
    assert!((s.norm.mean[0] - 2.0 / 255.0).abs() < 1e-7);
    assert!((s.norm.std[0] - 2f32.sqrt() / 255.0).abs() < 1e-7);
}

/// Mean and population std of each channel of a standardized batch.
fn channel_stats(b: &Batch) -> Vec<(f64, f64)> {
    let plane = b.size * b.size;
    (0..b.channels)
        .map(|c| {
            let values: Vec<f64> = b
                .images
                .chunks_exact(b.channels * plane)
                .flat_map(|img| &img[c * plane..(c + 1) * plane])
                .map(|&v| v as f64)
                .collect();
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt())
        })
        .collect()
}

#[test]
fn standardized_train_set_has_zero_mean_unit_std_per_channel() {
    // Three channels with very different statistics.
    let mut rng = crate::rng::SplitMix64::new(5);
    let (n, c, s) = (50, 3, 8);
    let mut pixels = Vec::new();
    for _ in 0..n {
        for ch in 0..c {
            for _ in 0..s * s {
                pixels.push(match ch {
                    0 => rng.below(256) as u8,
                    1 => 200 + rng.below(20) as u8,
                    _ => rng.below(3) as u8 * 40,
                });
            }
        }
    }
    let set = ImageSet::new(pixels, vec![0; n], c, s).unwrap();
    let norm = Normalization::from_images(&set);
    let all: Vec<usize> = (0..n).collect();
    for (mean, std) in channel_stats(&set.batch(&all, &norm, None)) {
        assert!(mean.abs() < 1e-5, "mean {mean}");
        assert!((std - 1.0).abs() < 1e-5, "std {std}");
    }

    let mini = load(&config(Dataset::MnistMini), Path::new("/unused")).unwrap();
    let all: Vec<usize> = (0..mini.train.len()).collect();
    let [(mean, std)] = channel_stats(&mini.train.batch(&all, &mini.norm, None))[..] else {
        panic!("mnist has one channel");
    };
    assert!(
        mean.abs() < 1e-5 && (std - 1.0).abs() < 1e-5,
        "{mean} {std}"
    );
}

#[test]
fn constant_channel_gets_unit_std_instead_of_dividing_by_zero() {
    let set = ImageSet::new(vec![9; 8], vec![0, 0], 1, 2).unwrap();
    let norm = Normalization::from_images(&set);
    assert_eq!(norm.std, vec![1.0]);
    // Only centered (mean is stored as f32, so "zero" is within rounding).
    let images = set.batch(&[0], &norm, None).images;
    assert!(images.iter().all(|v| v.abs() < 1e-6), "{images:?}");
}

#[test]
fn mnist_mini_has_2000_train_and_1000_test_images_and_ignores_data_dir() {
    let s = load(&config(Dataset::MnistMini), Path::new("/does/not/exist")).unwrap();
    assert_eq!(
        (s.train.len(), s.test.len()),
        (MNIST_MINI_TRAIN, MNIST_MINI_TEST)
    );
    assert_eq!((s.train.len(), s.test.len()), (2000, 1000));
    assert_eq!((s.train.channels(), s.train.size()), (1, 28));
    // MNIST's first training label is 5, its first test label 7.
    assert_eq!((s.train.labels()[0], s.test.labels()[0]), (5, 7));
    // Every class occurs.
    assert!(s.train.class_counts(10).iter().all(|&k| k > 100));
    // Sanity of the statistics: MNIST's mean is about 0.13, std about 0.31.
    assert!((s.norm.mean[0] - 0.13).abs() < 0.01 && (s.norm.std[0] - 0.31).abs() < 0.01);
}

/// Labels of the first `n` records of a real IDX label file.
fn real_labels(dir: &Path, name: &str, n: usize) -> Vec<u8> {
    read_real(dir, "mnist", name)[8..8 + n].to_vec()
}

fn histogram(labels: &[u8]) -> Vec<usize> {
    let mut h = vec![0; 10];
    for &l in labels {
        h[l as usize] += 1;
    }
    h
}

#[test]
fn mnist_mini_label_histogram_equals_first_2000_of_real_mnist() {
    let name = "mnist_mini_label_histogram_equals_first_2000_of_real_mnist";
    let Some(dir) = real_data_dir(name, "mnist") else {
        return;
    };
    let mini = load(&config(Dataset::MnistMini), &dir).unwrap();
    let expected = histogram(&real_labels(&dir, "train-labels-idx1-ubyte", 2000));
    assert_eq!(mini.train.class_counts(10), expected);
    let expected = histogram(&real_labels(&dir, "t10k-labels-idx1-ubyte", 1000));
    assert_eq!(mini.test.class_counts(10), expected);
}

#[test]
fn mnist_mini_is_byte_identical_to_the_first_images_of_real_mnist() {
    let name = "mnist_mini_is_byte_identical_to_the_first_images_of_real_mnist";
    let Some(dir) = real_data_dir(name, "mnist") else {
        return;
    };
    let mini = load(&config(Dataset::MnistMini), &dir).unwrap();
    let mut cfg = config(Dataset::Mnist);
    cfg.train_samples = Some(2000);
    cfg.test_samples = Some(1000);
    let real = load(&cfg, &dir).unwrap();
    assert_eq!(mini.train, real.train);
    assert_eq!(mini.test, real.test);
}

#[test]
fn real_mnist_loads_60000_10000_with_readme_class_counts() {
    let Some(dir) = real_data_dir(
        "real_mnist_loads_60000_10000_with_readme_class_counts",
        "mnist",
    ) else {
        return;
    };
    let s = load(&config(Dataset::Mnist), &dir).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
    let train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
    let test = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
    assert_eq!(s.train.class_counts(10), train);
    assert_eq!(s.test.class_counts(10), test);
    // The widely used MNIST statistics.
    assert!((s.norm.mean[0] - 0.1307).abs() < 1e-4, "{:?}", s.norm);
    assert!((s.norm.std[0] - 0.3081).abs() < 1e-4, "{:?}", s.norm);
}

#[test]
fn real_cifar10_loads_50000_10000_with_readme_class_counts() {
    let Some(dir) = real_data_dir(
        "real_cifar10_loads_50000_10000_with_readme_class_counts",
        "cifar10",
    ) else {
        return;
    };
    let s = load(&config(Dataset::Cifar10), &dir).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (50_000, 10_000));
    assert_eq!((s.train.channels(), s.train.size()), (3, 32));
    assert_eq!(s.train.class_counts(10), vec![5000; 10]);
    assert_eq!(s.test.class_counts(10), vec![1000; 10]);
    // data_batch_1 alone, from the README table.
    let mut first = s.train.clone();
    first.truncate(10_000);
    let batch_1 = [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981];
    assert_eq!(first.class_counts(10), batch_1);
    // The widely used CIFAR-10 channel means and stds.
    for (got, want) in s.norm.mean.iter().zip([0.4914, 0.4822, 0.4465]) {
        assert!((got - want).abs() < 1e-3, "{:?}", s.norm);
    }
    for (got, want) in s.norm.std.iter().zip([0.2470, 0.2435, 0.2616]) {
        assert!((got - want).abs() < 1e-3, "{:?}", s.norm);
    }
}
