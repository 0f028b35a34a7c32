//! CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32,
//! row-major). The planes are already CHW, which is the layout `ImageSet` keeps, so a record's
//! pixels are copied as they are.

use std::path::Path;

use super::DataError;
use super::idx::check_labels;

pub(crate) const SIZE: usize = 32;
pub(crate) const CHANNELS: usize = 3;
pub(crate) const PIXELS: usize = CHANNELS * SIZE * SIZE;
pub(crate) const RECORD: usize = 1 + PIXELS;
/// Records in each official batch file.
pub(crate) const RECORDS_PER_FILE: usize = 10_000;
pub(crate) const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub(crate) const TEST_FILE: &str = "test_batch.bin";

/// Splits one batch file into (pixels CHW, labels). The file must hold exactly `records` records:
/// the format has no header, so the size is the only check that a file is whole.
pub(crate) fn parse_batch(
    file: &Path,
    bytes: &[u8],
    records: usize,
    classes: usize,
) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let expected = (records as u64) * RECORD as u64;
    let found = bytes.len() as u64;
    if found != expected {
        let (file, records) = (file.to_path_buf(), records as u64);
        return Err(if found < expected {
            DataError::Truncated {
                file,
                records,
                expected,
                found,
            }
        } else {
            DataError::TrailingData {
                file,
                records,
                expected,
                found,
            }
        });
    }
    let mut pixels = Vec::with_capacity(records * PIXELS);
    let mut labels = Vec::with_capacity(records);
    for record in bytes.chunks_exact(RECORD) {
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    check_labels(file, &labels, classes)?;
    Ok((pixels, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::files::read_dataset_file;
    use crate::data::testutil::{cifar_record, gz, write};

    #[test]
    fn reads_labels_and_planes_raw_and_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = cifar_record(7, |c, y, x| (c * 100 + y * 3 + x) as u8);
        raw.extend(cifar_record(2, |_, _, _| 255));
        write(dir.path(), "a.bin", &raw);
        write(dir.path(), "b.bin.gz", &gz(&raw));
        for name in ["a.bin", "b.bin"] {
            let (path, bytes) = read_dataset_file("cifar10", dir.path(), name).unwrap();
            let (pixels, labels) = parse_batch(&path, &bytes, 2, 10).unwrap();
            assert_eq!(labels, vec![7, 2]);
            assert_eq!(pixels.len(), 2 * PIXELS);
            // Record 0, channel G (1), row 2, column 5.
            assert_eq!(pixels[1024 + 2 * 32 + 5], (100 + 6 + 5) as u8);
            assert_eq!(pixels[2 * 1024 + 31 * 32 + 31], (200 + 93 + 31) as u8);
            assert!(pixels[PIXELS..].iter().all(|&p| p == 255));
        }
    }

    #[test]
    fn truncated_batch_names_file_and_byte_counts() {
        let mut raw = cifar_record(1, |_, _, _| 0);
        raw.extend(cifar_record(1, |_, _, _| 0));
        raw.truncate(RECORD + 100);
        let err = parse_batch(Path::new("/c/data_batch_3.bin"), &raw, 2, 10).unwrap_err();
        assert!(matches!(
            err,
            DataError::Truncated {
                expected: 6146,
                found: 3173,
                records: 2,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("/c/data_batch_3.bin") && msg.contains("6146") && msg.contains("3173")
        );
    }

    #[test]
    fn label_out_of_range_names_file_and_record() {
        let mut raw = cifar_record(1, |_, _, _| 0);
        raw.extend(cifar_record(200, |_, _, _| 0));
        let err = parse_batch(Path::new("/c/test_batch.bin"), &raw, 2, 10).unwrap_err();
        assert!(matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 200,
                ..
            }
        ));
        assert!(err.to_string().contains("/c/test_batch.bin"));
    }
}
