//! `verify`: checks every dataset file that is present (header, size, record count, labels) so
//! a user can find a broken download before a sweep fails on it hours later.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{DEBIAN_FASHION_MNIST_DIR, DataError, MNIST_FILES, bundled, cifar, files, idx};
use crate::spec::Dataset;

const MNIST_COUNTS: [usize; 4] = [60_000, 60_000, 10_000, 10_000];
/// SHA-256 of each decompressed Fashion-MNIST file, in [`MNIST_FILES`] order. Taken from
/// Debian's dataset-fashion-mnist, whose decompressed files have the MD5s Zalando publishes
/// (f4a8712d..., 9018921c..., 8181f547..., 15d48437...). Over the content, not the .gz: gzip
/// wrappers differ between copies (Debian's drop the stored file name).
const FASHION_SHA256: [&str; 4] = [
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
];
const MNIST_MINI_COUNTS: [usize; 4] = [
    bundled::TRAIN_COUNT,
    bundled::TRAIN_COUNT,
    bundled::TEST_COUNT,
    bundled::TEST_COUNT,
];
const CLASSES: usize = 10;

#[derive(Debug)]
pub enum VerifyStatus {
    Ok,
    /// The file is there in neither form (`NAME`, `NAME.gz`); `file` is the plain name.
    MissingFile,
    /// The whole dataset directory is absent; `file` is the directory.
    MissingDir,
    Invalid(DataError),
}

/// The outcome for one file (or one absent dataset directory).
#[derive(Debug)]
pub struct VerifyReport {
    /// "mnist", "fashion-mnist", "cifar10" or "mnist-mini".
    pub dataset: &'static str,
    pub file: PathBuf,
    pub status: VerifyStatus,
    /// Records the file holds, when it could be parsed that far.
    pub records: Option<usize>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        matches!(self.status, VerifyStatus::Ok)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let records = self
            .records
            .map(|n| format!(", {n} records"))
            .unwrap_or_default();
        match &self.status {
            VerifyStatus::Ok => write!(f, "ok       {file}{records}"),
            VerifyStatus::MissingFile => write!(f, "missing  {file} (also looked for {file}.gz)"),
            VerifyStatus::MissingDir => {
                write!(f, "missing  {file}/ ({} not downloaded)", self.dataset)
            }
            VerifyStatus::Invalid(e) => write!(f, "INVALID  {e}{records}"),
        }
    }
}

/// Reports on every MNIST, Fashion-MNIST and CIFAR-10 file under `data_dir` (Fashion-MNIST
/// from Debian's location when `data_dir` has none) and on the embedded mnist-mini. Never
/// fails as a whole: each problem is one report.
pub fn verify(data_dir: &Path) -> Vec<VerifyReport> {
    verify_or(data_dir, Path::new(DEBIAN_FASHION_MNIST_DIR))
}

/// [`verify`] with the system location for Fashion-MNIST given.
pub(crate) fn verify_or(data_dir: &Path, system: &Path) -> Vec<VerifyReport> {
    let mut reports = Vec::new();

    let mnist = data_dir.join("mnist");
    if mnist.is_dir() {
        for (name, expected) in MNIST_FILES.into_iter().zip(MNIST_COUNTS) {
            reports.push(check_file("mnist", &mnist, name, |path, bytes| {
                check_idx(path, bytes, name, expected)
            }));
        }
    } else {
        reports.push(missing_dir("mnist", mnist));
    }

    let fashion = super::dataset_dir_or(data_dir, Dataset::FashionMnist, system);
    if fashion.is_dir() {
        let expected = MNIST_FILES
            .into_iter()
            .zip(MNIST_COUNTS)
            .zip(FASHION_SHA256);
        for ((name, count), sha256) in expected {
            reports.push(check_file(
                "fashion-mnist",
                &fashion,
                name,
                |path, bytes| {
                    let found = hex_sha256(&bytes);
                    let records = check_idx(path, bytes, name, count)?;
                    if found != sha256 {
                        let e = DataError::ChecksumMismatch {
                            file: path.to_path_buf(),
                            expected: sha256,
                            found,
                        };
                        return Err((e, Some(records)));
                    }
                    Ok(records)
                },
            ));
        }
    } else {
        reports.push(missing_dir("fashion-mnist", fashion));
    }

    let cifar_dir = data_dir.join("cifar10");
    if cifar_dir.is_dir() {
        for name in cifar::TRAIN_FILES.into_iter().chain([cifar::TEST_FILE]) {
            reports.push(check_file("cifar10", &cifar_dir, name, check_cifar));
        }
    } else {
        reports.push(missing_dir("cifar10", cifar_dir));
    }

    for (name, expected) in MNIST_FILES.into_iter().zip(MNIST_MINI_COUNTS) {
        let (file, result) = match bundled::read(name) {
            Ok((path, bytes)) => {
                let result = check_idx(&path, bytes, name, expected);
                (path, result)
            }
            Err(e) => (bundled::display_path(name), Err((e, None))),
        };
        reports.push(report("mnist-mini", file, result));
    }
    reports
}

type Check = Result<usize, (DataError, Option<usize>)>;

fn missing_dir(dataset: &'static str, dir: PathBuf) -> VerifyReport {
    VerifyReport {
        dataset,
        file: dir,
        status: VerifyStatus::MissingDir,
        records: None,
    }
}

fn report(dataset: &'static str, file: PathBuf, result: Check) -> VerifyReport {
    let (status, records) = match result {
        Ok(n) => (VerifyStatus::Ok, Some(n)),
        Err((e, n)) => (VerifyStatus::Invalid(e), n),
    };
    VerifyReport {
        dataset,
        file,
        status,
        records,
    }
}

fn check_file(
    dataset: &'static str,
    dir: &Path,
    name: &str,
    check: impl FnOnce(&Path, Vec<u8>) -> Check,
) -> VerifyReport {
    let Some(path) = files::locate(dir, name) else {
        return VerifyReport {
            dataset,
            file: dir.join(name),
            status: VerifyStatus::MissingFile,
            records: None,
        };
    };
    let result = std::fs::read(&path)
        .map_err(|source| DataError::Io {
            file: path.clone(),
            source,
        })
        .and_then(|bytes| files::decompress_if_gzip(&path, bytes))
        .map_err(|e| (e, None))
        .and_then(|bytes| check(&path, bytes));
    report(dataset, path, result)
}

/// An MNIST-format file by its release name (images or labels), with the expected count.
fn check_idx(path: &Path, bytes: Vec<u8>, name: &str, expected: usize) -> Check {
    let found = if name.contains("images") {
        idx::parse_images(path, bytes, 28).map(|(_, n)| n)
    } else {
        idx::parse_labels(path, bytes, CLASSES).map(|l| l.len())
    }
    .map_err(|e| (e, None))?;
    expect_count(path, expected, found)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_cifar(path: &Path, bytes: Vec<u8>) -> Check {
    let expected = cifar::RECORDS_PER_FILE;
    cifar::parse_batch(path, &bytes, expected, CLASSES).map_err(|e| (e, None))?;
    Ok(expected)
}

fn expect_count(path: &Path, expected: usize, found: usize) -> Check {
    if found == expected {
        Ok(found)
    } else {
        let e = DataError::UnexpectedCount {
            file: path.to_path_buf(),
            expected,
            found,
        };
        Err((e, Some(found)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{
        gz, idx_images, idx_labels, real_data_dir, real_fashion_dir, write,
    };

    /// No system-wide Fashion-MNIST: what this machine has installed must not matter.
    const NO_SYSTEM: &str = "/nonexistent-densenet-lab-system-fashion";

    fn verify(data_dir: &Path) -> Vec<VerifyReport> {
        verify_or(data_dir, Path::new(NO_SYSTEM))
    }

    #[test]
    fn reports_good_truncated_missing_file_and_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        let mnist = dir.path().join("mnist");
        let labels: Vec<u8> = (0..60_000).map(|i| (i % 10) as u8).collect();
        write(
            &mnist,
            "train-labels-idx1-ubyte.gz",
            &gz(&idx_labels(&labels)),
        );
        let mut images = idx_images(10_000, 28, &vec![0; 10_000 * 784]);
        images.truncate(images.len() - 784);
        write(&mnist, "t10k-images-idx3-ubyte", &images);

        let reports = verify(dir.path());
        let find = |name: &str| {
            reports
                .iter()
                .find(|r| r.dataset == "mnist" && r.file.to_string_lossy().contains(name))
                .unwrap()
        };

        let good = find("train-labels");
        assert!(good.is_ok(), "{good}");
        assert_eq!(good.records, Some(60_000));
        assert!(good.to_string().contains("train-labels-idx1-ubyte.gz"));

        let bad = find("t10k-images");
        assert!(matches!(
            bad.status,
            VerifyStatus::Invalid(DataError::Truncated {
                records: 10_000,
                ..
            })
        ));
        assert!(bad.to_string().contains("t10k-images-idx3-ubyte"), "{bad}");

        for name in ["train-images", "t10k-labels"] {
            assert!(matches!(find(name).status, VerifyStatus::MissingFile));
        }
        let cifar: Vec<_> = reports.iter().filter(|r| r.dataset == "cifar10").collect();
        assert_eq!(cifar.len(), 1);
        assert!(matches!(cifar[0].status, VerifyStatus::MissingDir));
        assert_eq!(cifar[0].file, dir.path().join("cifar10"));
    }

    #[test]
    fn wrong_record_count_is_reported_with_the_count() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("mnist"),
            "t10k-labels-idx1-ubyte",
            &idx_labels(&[1, 2, 3]),
        );
        let reports = verify(dir.path());
        let r = reports
            .iter()
            .find(|r| r.file.ends_with("t10k-labels-idx1-ubyte"))
            .unwrap();
        assert!(matches!(
            r.status,
            VerifyStatus::Invalid(DataError::UnexpectedCount {
                expected: 10_000,
                found: 3,
                ..
            })
        ));
        assert_eq!(r.records, Some(3));
    }

    #[test]
    fn embedded_mnist_mini_verifies() {
        let reports = verify(Path::new("/nonexistent-densenet-lab-data"));
        let mini: Vec<_> = reports
            .iter()
            .filter(|r| r.dataset == "mnist-mini")
            .collect();
        assert_eq!(mini.len(), 4);
        assert!(mini.iter().all(|r| r.is_ok()));
        let counts: Vec<_> = mini.iter().map(|r| r.records).collect();
        assert_eq!(
            counts,
            [Some(2000), Some(2000), Some(1000), Some(1000)].to_vec()
        );
        assert_eq!(
            reports.len(),
            7,
            "three missing dataset dirs + four embedded files"
        );
        let fashion: Vec<_> = reports
            .iter()
            .filter(|r| r.dataset == "fashion-mnist")
            .collect();
        assert_eq!(fashion.len(), 1);
        assert!(matches!(fashion[0].status, VerifyStatus::MissingDir));
    }

    #[test]
    fn fashion_mnist_files_are_checked_for_header_count_and_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let fashion = dir.path().join("fashion-mnist");
        // Right header and count, wrong content: a generated file is not the published one.
        let labels: Vec<u8> = (0..10_000).map(|i| (i % 10) as u8).collect();
        write(
            &fashion,
            "t10k-labels-idx1-ubyte.gz",
            &gz(&idx_labels(&labels)),
        );
        write(&fashion, "train-labels-idx1-ubyte", &idx_labels(&[1, 2, 3]));
        let reports = verify(dir.path());
        let find = |name: &str| {
            reports
                .iter()
                .find(|r| r.dataset == "fashion-mnist" && r.file.to_string_lossy().contains(name))
                .unwrap_or_else(|| panic!("no report on {name}: {reports:#?}"))
        };
        let forged = find("t10k-labels");
        match &forged.status {
            VerifyStatus::Invalid(DataError::ChecksumMismatch {
                expected, found, ..
            }) => {
                assert_eq!(*expected, FASHION_SHA256[3]);
                assert_eq!(*found, hex_sha256(&idx_labels(&labels)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(forged.records, Some(10_000));
        assert!(
            forged.to_string().contains("not the published file"),
            "{forged}"
        );
        // A wrong count is reported as such, before any checksum.
        assert!(matches!(
            find("train-labels").status,
            VerifyStatus::Invalid(DataError::UnexpectedCount {
                expected: 60_000,
                found: 3,
                ..
            })
        ));
        for name in ["train-images", "t10k-images"] {
            assert!(matches!(find(name).status, VerifyStatus::MissingFile));
        }
    }

    #[test]
    fn fashion_mnist_is_verified_at_the_system_location_when_the_data_dir_has_none() {
        let data = tempfile::tempdir().unwrap();
        let system = tempfile::tempdir().unwrap();
        write(
            system.path(),
            "t10k-labels-idx1-ubyte",
            &idx_labels(&[0; 10_000]),
        );
        let reports = verify_or(data.path(), system.path());
        let fashion: Vec<_> = reports
            .iter()
            .filter(|r| r.dataset == "fashion-mnist")
            .collect();
        assert_eq!(fashion.len(), 4, "{fashion:#?}");
        assert!(fashion.iter().all(|r| r.file.starts_with(system.path())));
        // The data directory's own folder wins over the system one.
        std::fs::create_dir(data.path().join("fashion-mnist")).unwrap();
        let reports = verify_or(data.path(), system.path());
        assert!(
            reports
                .iter()
                .filter(|r| r.dataset == "fashion-mnist")
                .all(|r| r.file.starts_with(data.path()))
        );
    }

    #[test]
    fn real_data_verifies_when_available() {
        let Some(dir) = real_data_dir("real_data_verifies_when_available", "mnist") else {
            return;
        };
        let reports: Vec<_> = verify(&dir)
            .into_iter()
            .filter(|r| r.dataset != "fashion-mnist")
            .collect();
        assert_eq!(reports.len(), 4 + 6 + 4);
        for r in &reports {
            assert!(r.is_ok(), "{r}");
        }
    }

    #[test]
    fn real_fashion_mnist_verifies_with_its_published_checksums() {
        let Some(data) =
            real_fashion_dir("real_fashion_mnist_verifies_with_its_published_checksums")
        else {
            return;
        };
        // The real lookup: the data directory's fashion-mnist/, else Debian's location.
        let reports: Vec<_> = super::verify(&data)
            .into_iter()
            .filter(|r| r.dataset == "fashion-mnist")
            .collect();
        assert_eq!(reports.len(), 4);
        for r in &reports {
            assert!(r.is_ok(), "{r}");
        }
        let counts: Vec<_> = reports.iter().map(|r| r.records).collect();
        assert_eq!(
            counts,
            [Some(60_000), Some(60_000), Some(10_000), Some(10_000)]
        );
    }
}
