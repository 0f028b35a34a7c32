//! The IDX format of the MNIST files: a big-endian header (magic, counts, dims) and raw bytes.
//! Sizes are checked against the header before anything is allocated or indexed, so a damaged
//! file gives an error that names it instead of a panic.

use std::path::Path;

use super::DataError;

pub(crate) const IMAGES_MAGIC: u32 = 2051; // 0x0803: unsigned bytes, 3 dims
pub(crate) const LABELS_MAGIC: u32 = 2049; // 0x0801: unsigned bytes, 1 dim

fn be_u32(file: &Path, bytes: &[u8], at: usize, header_len: usize) -> Result<u32, DataError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| DataError::BadHeader {
            file: file.to_path_buf(),
            detail: format!(
                "file is {} bytes, shorter than the {header_len}-byte IDX header",
                bytes.len()
            ),
        })
}

fn check_magic(
    file: &Path,
    found: u32,
    expected: u32,
    what: &'static str,
) -> Result<(), DataError> {
    if found == expected {
        Ok(())
    } else {
        Err(DataError::BadMagic {
            file: file.to_path_buf(),
            what,
            expected,
            found,
        })
    }
}

/// Checks that `bytes` holds exactly `header + records * record_len` bytes.
fn check_len(
    file: &Path,
    len: usize,
    header: u64,
    records: u64,
    record_len: u64,
) -> Result<(), DataError> {
    // u64 arithmetic: a corrupt header's count cannot overflow (2^32 * 2^64 would, so saturate).
    let expected = records.saturating_mul(record_len).saturating_add(header);
    let found = len as u64;
    let err = |truncated| {
        let (file, records) = (file.to_path_buf(), records);
        if truncated {
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
        }
    };
    match found.cmp(&expected) {
        std::cmp::Ordering::Less => Err(err(true)),
        std::cmp::Ordering::Greater => Err(err(false)),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Parses an IDX image file of `size`x`size` images; returns the pixel bytes (N*size*size,
/// row-major) and N. Takes the buffer by value so the pixels reuse it.
pub(crate) fn parse_images(
    file: &Path,
    mut bytes: Vec<u8>,
    size: usize,
) -> Result<(Vec<u8>, usize), DataError> {
    const HEADER: usize = 16;
    let magic = be_u32(file, &bytes, 0, HEADER)?;
    check_magic(file, magic, IMAGES_MAGIC, "IDX images")?;
    let count = be_u32(file, &bytes, 4, HEADER)?;
    let rows = be_u32(file, &bytes, 8, HEADER)?;
    let cols = be_u32(file, &bytes, 12, HEADER)?;
    if rows as usize != size || cols as usize != size {
        return Err(DataError::BadHeader {
            file: file.to_path_buf(),
            detail: format!("images are {rows}x{cols}, expected {size}x{size}"),
        });
    }
    let pixels_per_image = (size * size) as u64;
    check_len(
        file,
        bytes.len(),
        HEADER as u64,
        count.into(),
        pixels_per_image,
    )?;
    bytes.drain(..HEADER);
    Ok((bytes, count as usize))
}

/// Parses an IDX label file; every label must be below `classes`.
pub(crate) fn parse_labels(
    file: &Path,
    mut bytes: Vec<u8>,
    classes: usize,
) -> Result<Vec<u8>, DataError> {
    const HEADER: usize = 8;
    let magic = be_u32(file, &bytes, 0, HEADER)?;
    check_magic(file, magic, LABELS_MAGIC, "IDX labels")?;
    let count = be_u32(file, &bytes, 4, HEADER)?;
    check_len(file, bytes.len(), HEADER as u64, count.into(), 1)?;
    bytes.drain(..HEADER);
    check_labels(file, &bytes, classes)?;
    Ok(bytes)
}

/// The first label at or above `classes`, as an error naming the file and the record.
pub(crate) fn check_labels(file: &Path, labels: &[u8], classes: usize) -> Result<(), DataError> {
    match labels.iter().position(|&l| l as usize >= classes) {
        None => Ok(()),
        Some(index) => Err(DataError::LabelOutOfRange {
            file: file.to_path_buf(),
            index,
            label: labels[index],
            classes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{gz, idx_images, idx_labels, write};

    #[test]
    fn reads_pixels_and_labels_raw_and_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let images: Vec<u8> = (0..3 * 16).map(|i| i as u8 * 5).collect();
        let raw = idx_images(3, 4, &images);
        for (name, bytes) in [("raw-images", raw.clone()), ("gz-images.gz", gz(&raw))] {
            let path = write(dir.path(), name, &bytes);
            let bytes = crate::data::files::decompress_if_gzip(&path, bytes).unwrap();
            let (pixels, n) = parse_images(&path, bytes, 4).unwrap();
            assert_eq!(n, 3);
            assert_eq!(pixels, images);
        }
        let raw = idx_labels(&[3, 0, 9]);
        for (name, bytes) in [("raw-labels", raw.clone()), ("gz-labels.gz", gz(&raw))] {
            let path = write(dir.path(), name, &bytes);
            let bytes = crate::data::files::decompress_if_gzip(&path, bytes).unwrap();
            assert_eq!(parse_labels(&path, bytes, 10).unwrap(), vec![3, 0, 9]);
        }
    }

    #[test]
    fn truncated_images_error_names_file_and_byte_counts() {
        let mut bytes = idx_images(3, 4, &[7; 48]);
        bytes.truncate(bytes.len() - 5);
        let path = Path::new("/data/mnist/train-images-idx3-ubyte");
        let err = parse_images(path, bytes, 4).unwrap_err();
        assert!(matches!(
            err,
            DataError::Truncated {
                expected: 64,
                found: 59,
                records: 3,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(msg.contains("/data/mnist/train-images-idx3-ubyte"), "{msg}");
        assert!(msg.contains("64") && msg.contains("59"), "{msg}");
    }

    #[test]
    fn short_header_and_huge_count_are_errors_not_panics() {
        let path = Path::new("x");
        assert!(matches!(
            parse_images(path, vec![0, 0, 8, 3, 0], 4),
            Err(DataError::BadHeader { .. })
        ));
        let mut bytes = idx_labels(&[1]);
        bytes[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_labels(path, bytes, 10),
            Err(DataError::Truncated { .. })
        ));
        let mut bytes = idx_images(1, 4, &[0; 16]);
        bytes[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_images(path, bytes, 4),
            Err(DataError::Truncated { .. })
        ));
    }

    #[test]
    fn bad_magic_reports_expected_and_found() {
        let path = Path::new("/d/t10k-labels-idx1-ubyte");
        // An image file where a label file is expected.
        let err = parse_labels(path, idx_images(1, 4, &[0; 16]), 10).unwrap_err();
        assert!(matches!(
            err,
            DataError::BadMagic {
                expected: 2049,
                found: 2051,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("/d/t10k-labels-idx1-ubyte") && msg.contains("2049"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_image_dims_are_a_header_error() {
        let err = parse_images(Path::new("f"), idx_images(1, 4, &[0; 16]), 28).unwrap_err();
        assert!(err.to_string().contains("4x4, expected 28x28"), "{err}");
    }

    #[test]
    fn label_out_of_range_names_file_record_and_value() {
        let path = Path::new("/d/train-labels-idx1-ubyte");
        let err = parse_labels(path, idx_labels(&[1, 2, 10, 3]), 10).unwrap_err();
        assert!(matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                classes: 10,
                ..
            }
        ));
        assert!(err.to_string().contains("/d/train-labels-idx1-ubyte"));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = idx_labels(&[1, 2]);
        bytes.push(0);
        assert!(matches!(
            parse_labels(Path::new("f"), bytes, 10),
            Err(DataError::TrailingData {
                expected: 10,
                found: 11,
                ..
            })
        ));
    }
}
