//! Finding and reading dataset files, raw or gzipped. Users unpack downloads in different ways,
//! so every file is accepted as `NAME` or `NAME.gz`, and gzip is detected by its magic bytes
//! rather than trusted from the name.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::DataError;

/// Larger than any real dataset file decompresses to (MNIST train images: 47 MB), so a corrupt
/// or hostile gzip stream cannot make us allocate without bound.
pub(crate) const MAX_DECOMPRESSED: u64 = 256 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Where `NAME` (or else `NAME.gz`) lives in `dir`: `Ok(None)` when neither exists.
pub(crate) fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = dir.join(name);
    if plain.exists() {
        return Some(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    gz.exists().then_some(gz)
}

/// The error for a file that is in neither form, naming both places it was looked for.
pub(crate) fn missing(dataset: &'static str, dir: &Path, name: &str) -> DataError {
    DataError::Missing {
        dataset,
        plain: dir.join(name),
        gz: dir.join(format!("{name}.gz")),
    }
}

/// Reads `NAME` or `NAME.gz` from `dir` and returns its path and decompressed bytes.
pub(crate) fn read_dataset_file(
    dataset: &'static str,
    dir: &Path,
    name: &str,
) -> Result<(PathBuf, Vec<u8>), DataError> {
    let path = locate(dir, name).ok_or_else(|| missing(dataset, dir, name))?;
    let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
        file: path.clone(),
        source,
    })?;
    let bytes = decompress_if_gzip(&path, bytes)?;
    Ok((path, bytes))
}

/// Decompresses when the bytes carry the gzip magic or the name ends in `.gz` (so a `.gz` file
/// with a damaged header is reported as corrupt gzip, not as a bad dataset header).
pub(crate) fn decompress_if_gzip(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    let named_gz = path.extension().is_some_and(|e| e == "gz");
    if !named_gz && !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    gunzip(path, &bytes)
}

pub(crate) fn gunzip(path: &Path, compressed: &[u8]) -> Result<Vec<u8>, DataError> {
    // A size hint from the gzip trailer (ISIZE, size mod 2^32) avoids regrowing the buffer.
    let hint = compressed
        .len()
        .checked_sub(4)
        .and_then(|i| compressed.get(i..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, u32::from_le_bytes) as u64;
    // Deflate expands at most ~1032x, so a damaged trailer cannot make us reserve much more.
    let bound = (compressed.len() as u64)
        .saturating_mul(1032)
        .min(MAX_DECOMPRESSED);
    let mut out = Vec::with_capacity(hint.min(bound) as usize);
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(MAX_DECOMPRESSED + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|source| DataError::CorruptGzip {
            file: path.to_path_buf(),
            source,
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(DataError::TooLarge {
            file: path.to_path_buf(),
            limit: MAX_DECOMPRESSED,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{gz, idx_labels, write};

    #[test]
    fn prefers_plain_name_then_gz_and_detects_gzip_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let raw = idx_labels(&[1, 2, 3]);
        write(dir.path(), "only-gz.gz", &gz(&raw));
        // A gzipped file under the plain name is still decompressed.
        write(dir.path(), "gz-under-plain-name", &gz(&raw));
        write(dir.path(), "both", &raw);
        write(dir.path(), "both.gz", b"not even gzip");
        for name in ["only-gz", "gz-under-plain-name", "both"] {
            let (_, bytes) = read_dataset_file("mnist", dir.path(), name).unwrap();
            assert_eq!(bytes, raw, "{name}");
        }
        let (path, _) = read_dataset_file("mnist", dir.path(), "only-gz").unwrap();
        assert_eq!(path, dir.path().join("only-gz.gz"));
    }

    #[test]
    fn missing_file_message_names_both_paths_and_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_dataset_file("cifar10", dir.path(), "test_batch.bin").unwrap_err();
        let msg = err.to_string();
        let plain = dir.path().join("test_batch.bin");
        let gz = dir.path().join("test_batch.bin.gz");
        assert!(msg.contains(&plain.display().to_string()), "{msg}");
        assert!(msg.contains(&gz.display().to_string()), "{msg}");
        assert!(
            msg.contains("--data-dir") && msg.contains("DENSENET_LAB_DATA"),
            "{msg}"
        );
    }

    #[test]
    fn corrupt_or_truncated_gzip_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let good = gz(&idx_labels(&data));
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        flipped[mid + 1] ^= 0x55;
        let truncated = good[..good.len() / 2].to_vec();
        let no_header = b"plain text named .gz".to_vec();
        for (name, bytes) in [
            ("flipped.gz", flipped),
            ("truncated.gz", truncated),
            ("no-header.gz", no_header),
            ("empty.gz", Vec::new()),
        ] {
            let path = write(dir.path(), name, &bytes);
            let stem = name.trim_end_matches(".gz");
            let err = read_dataset_file("mnist", dir.path(), stem).unwrap_err();
            assert!(
                matches!(err, DataError::CorruptGzip { .. }),
                "{name}: {err}"
            );
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }

    #[test]
    fn unreadable_path_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a-directory")).unwrap();
        let err = read_dataset_file("mnist", dir.path(), "a-directory").unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
        assert!(err.to_string().contains("a-directory"));
    }
}
