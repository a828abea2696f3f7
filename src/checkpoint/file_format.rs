//! The on-disk format of every weir checkpoint file, and the two ways such a file is written.
//!
//! # Format
//!
//! ```text
//! offset  size  field
//! 0       8     magic number b"WEIRCKPT"
//! 8       2     format version, little-endian (this build writes and reads 1)
//! 10      2     file kind, little-endian (1 = checkpoint metadata, 2 = subtask state)
//! 12      8     body length in bytes, little-endian
//! 20      n     body, encoded with postcard
//! 20+n    4     CRC-32 (crc32fast) of every byte before it, little-endian
//! ```
//!
//! # Guarantees
//!
//! - [`decode`] never panics, whatever the bytes, and returns a value only if the file is exactly
//!   as [`encode`] wrote it: the length must match the header, the checksum must match, the kind
//!   must be the one expected and the body must decode with no byte left over. Every single-byte
//!   change and every truncation is therefore detected.
//! - Every error is a [`StorageError`] naming the file and saying why: too short for its header or
//!   its body → [`StorageError::Truncated`]; not starting with the magic number →
//!   [`StorageError::Foreign`]; another format version → [`StorageError::UnsupportedVersion`];
//!   checksum mismatch, wrong kind, trailing bytes or undecodable body → [`StorageError::Corrupt`].
//! - [`write_atomically`] never leaves a partly written file under the final name: a reader sees
//!   either the old file, no file, or the whole new one. [`write_durably`] returns only once the
//!   bytes are on disk.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use weir_actors::checkpoint::storage::StorageError;

/// The first eight bytes of every weir checkpoint file.
pub const MAGIC: [u8; 8] = *b"WEIRCKPT";

/// The format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u16 = 1;

/// Bytes before the body: magic, version, kind and body length.
pub const HEADER_LEN: usize = 20;

/// Bytes after the body: the CRC-32.
pub const TRAILER_LEN: usize = 4;

/// What a checkpoint file holds; recorded in its header so one kind is never read as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A checkpoint's `_metadata`.
    Metadata,
    /// One subtask's state.
    State,
}

impl FileKind {
    /// The number stored in the header.
    pub fn code(self) -> u16 {
        match self {
            FileKind::Metadata => 1,
            FileKind::State => 2,
        }
    }

    /// The kind stored as `code`, if it is one this build knows.
    pub fn from_code(code: u16) -> Option<FileKind> {
        match code {
            1 => Some(FileKind::Metadata),
            2 => Some(FileKind::State),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FileKind::Metadata => "metadata",
            FileKind::State => "state",
        }
    }
}

/// Encodes `value` as a complete checkpoint file of `kind` (header, postcard body, checksum).
///
/// Fails only if postcard cannot serialize the value; the error is then
/// [`StorageError::Corrupt`] with an empty path, which the caller replaces with the file it was
/// about to write.
pub fn encode<T: Serialize>(kind: FileKind, value: &T) -> Result<Vec<u8>, StorageError> {
    let body = postcard::to_stdvec(value).map_err(|e| StorageError::Corrupt {
        path: PathBuf::new(),
        reason: format!("cannot encode {} body: {e}", kind.name()),
    })?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len() + TRAILER_LEN);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&kind.code().to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&body);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    Ok(bytes)
}

/// Decodes a checkpoint file of `expected_kind` read from `path_for_errors`.
///
/// A file shorter than a header is [`StorageError::Foreign`] if its first bytes already differ
/// from the magic number and [`StorageError::Truncated`] otherwise (so an empty file is
/// truncated, `b"hello"` is foreign). The version is checked right after the magic number, before
/// anything a future version might lay out differently. Never panics.
pub fn decode<T: DeserializeOwned>(
    path_for_errors: &Path,
    expected_kind: FileKind,
    bytes: &[u8],
) -> Result<T, StorageError> {
    let path = || path_for_errors.to_path_buf();
    let corrupt = |reason: String| StorageError::Corrupt {
        path: path(),
        reason,
    };
    let actual = bytes.len() as u64;
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
        return Err(StorageError::Foreign { path: path() });
    }
    let version = field(bytes, 8).map(u16::from_le_bytes);
    if let Some(version) = version {
        check_version(path_for_errors, version)?;
    }
    let kind = field(bytes, 10).map(u16::from_le_bytes);
    let body_len = field(bytes, 12).map(u64::from_le_bytes);
    let (Some(kind), Some(body_len)) = (kind, body_len) else {
        return Err(StorageError::Truncated {
            path: path(),
            actual,
            expected: (HEADER_LEN + TRAILER_LEN) as u64,
        });
    };
    let expected = body_len.saturating_add((HEADER_LEN + TRAILER_LEN) as u64);
    if actual < expected {
        return Err(StorageError::Truncated {
            path: path(),
            actual,
            expected,
        });
    }
    if actual > expected {
        return Err(corrupt(format!(
            "{} bytes after the checksum (file is {actual} bytes, header says {expected})",
            actual - expected
        )));
    }
    // From here on `expected == bytes.len()`, so every offset below is in range.
    let crc_at = bytes.len() - TRAILER_LEN;
    let (covered, trailer) = bytes.split_at(crc_at);
    let stored = field(trailer, 0).map_or(0, u32::from_le_bytes);
    let computed = crc32fast::hash(covered);
    if stored != computed {
        return Err(corrupt(format!(
            "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    match FileKind::from_code(kind) {
        Some(found) if found == expected_kind => {}
        Some(found) => {
            return Err(corrupt(format!(
                "is a {} file, expected a {} file",
                found.name(),
                expected_kind.name()
            )))
        }
        None => return Err(corrupt(format!("unknown file kind {kind}"))),
    }
    let body = covered.get(HEADER_LEN..).unwrap_or_default();
    match postcard::take_from_bytes::<T>(body) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(corrupt(format!(
            "{} undecoded bytes at the end of the {} body",
            rest.len(),
            expected_kind.name()
        ))),
        Err(e) => Err(corrupt(format!(
            "{} body does not decode: {e}",
            expected_kind.name()
        ))),
    }
}

/// Reads and [`decode`]s the file at `path`; a missing file is [`StorageError::NotFound`].
pub fn read<T: DeserializeOwned>(path: &Path, expected_kind: FileKind) -> Result<T, StorageError> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound {
            path: path.to_path_buf(),
        },
        _ => io_error("read", path, &e),
    })?;
    decode(path, expected_kind, &bytes)
}

/// Writes `bytes` to `path` so that no reader ever sees a partial file: writes
/// `<name>.tmp-<unique>` in the same directory, fsyncs it, renames it over `path`, then fsyncs the
/// directory. On failure the temporary file is removed (best effort) and `path` is untouched.
/// The directory must exist.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let (tmp, file) = create_temp_next_to(path)?;
    let written = write_and_sync(&tmp, file, bytes)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| io_error("rename", &tmp, &e)));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_of(path))
}

/// Creates (or truncates) `path`, writes `bytes` and fsyncs the file. On failure the partial file
/// is removed (best effort). The directory entry becomes durable with the next [`sync_dir`] of
/// its directory (for a checkpoint, the atomic write of its `_metadata`).
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let file = File::create(path).map_err(|e| io_error("create", path, &e))?;
    write_and_sync(path, file, bytes).inspect_err(|_| {
        let _ = fs::remove_file(path);
    })
}

/// Fsyncs directory `dir`, making the creation, renaming and removal of its entries durable.
/// Does nothing on platforms that cannot open a directory as a file (Windows).
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("sync", dir, &e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A [`StorageError::Io`] for `operation` on `path`.
pub fn io_error(operation: &'static str, path: &Path, error: &io::Error) -> StorageError {
    StorageError::Io {
        operation,
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

fn check_version(path: &Path, version: u16) -> Result<(), StorageError> {
    if version == FORMAT_VERSION {
        return Ok(());
    }
    Err(StorageError::UnsupportedVersion {
        path: path.to_path_buf(),
        version,
        supported: FORMAT_VERSION,
    })
}

/// The `N` bytes at `at`, if the slice is long enough.
fn field<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates a new `<name>.tmp-<pid>-<n>` next to `path`, never reusing an existing name (a
/// leftover of a crashed process with the same pid is skipped, not overwritten).
fn create_temp_next_to(path: &Path) -> Result<(PathBuf, File), StorageError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| StorageError::Io {
        operation: "create",
        path: path.to_path_buf(),
        reason: "path has no file name".to_owned(),
    })?;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".tmp-{}-{n}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error("create", &tmp, &e)),
        }
    }
}

fn write_and_sync(path: &Path, mut file: File, bytes: &[u8]) -> Result<(), StorageError> {
    file.write_all(bytes)
        .map_err(|e| io_error("write", path, &e))?;
    file.sync_all().map_err(|e| io_error("sync", path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: u64,
        name: String,
        bytes: Vec<u8>,
        flag: Option<bool>,
    }

    fn sample() -> impl Strategy<Value = Sample> {
        (
            any::<u64>(),
            ".{0,20}",
            proptest::collection::vec(any::<u8>(), 0..200),
            any::<Option<bool>>(),
        )
            .prop_map(|(id, name, bytes, flag)| Sample {
                id,
                name,
                bytes,
                flag,
            })
    }

    fn here() -> &'static Path {
        Path::new("dir/_metadata")
    }

    fn encoded(value: &Sample) -> Vec<u8> {
        encode(FileKind::Metadata, value).unwrap()
    }

    #[test]
    fn a_file_shorter_than_a_header_is_truncated_if_it_starts_like_one() {
        let full = encoded(&Sample {
            id: 1,
            name: "x".into(),
            bytes: vec![],
            flag: None,
        });
        for len in [0, 1, 7, 8, 9, 10, 19] {
            let err = decode::<Sample>(here(), FileKind::Metadata, &full[..len]).unwrap_err();
            assert!(
                matches!(err, StorageError::Truncated { actual, .. } if actual == len as u64),
                "{len}: {err}"
            );
        }
    }

    #[test]
    fn a_file_not_starting_with_the_magic_number_is_foreign() {
        for bytes in [
            &b"hello"[..],
            b"X",
            b"WEIRCKPX and some more bytes after it",
        ] {
            let err = decode::<Sample>(here(), FileKind::Metadata, bytes).unwrap_err();
            assert_eq!(
                err,
                StorageError::Foreign {
                    path: here().into()
                }
            );
        }
    }

    #[test]
    fn a_future_version_is_unsupported_even_if_its_header_is_shorter() {
        let mut bytes = encoded(&Sample {
            id: 1,
            name: String::new(),
            bytes: vec![1, 2],
            flag: Some(true),
        });
        bytes[8..10].copy_from_slice(&7u16.to_le_bytes());
        for len in [10, 15, bytes.len()] {
            let err = decode::<Sample>(here(), FileKind::Metadata, &bytes[..len]).unwrap_err();
            assert!(
                matches!(
                    err,
                    StorageError::UnsupportedVersion {
                        version: 7,
                        supported: 1,
                        ..
                    }
                ),
                "{err}"
            );
        }
    }

    #[test]
    fn a_state_file_is_not_read_as_metadata() {
        let bytes = encode(FileKind::State, &vec![1u8, 2, 3]).unwrap();
        let err = decode::<Vec<u8>>(here(), FileKind::Metadata, &bytes).unwrap_err();
        assert!(
            matches!(err, StorageError::Corrupt { ref reason, .. } if reason.contains("state"))
        );
    }

    #[test]
    fn a_huge_body_length_is_truncated_not_an_overflow() {
        let mut bytes = encoded(&Sample {
            id: 0,
            name: String::new(),
            bytes: vec![],
            flag: None,
        });
        bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = decode::<Sample>(here(), FileKind::Metadata, &bytes).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::Truncated {
                    expected: u64::MAX,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn write_atomically_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_metadata");
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn write_atomically_into_a_missing_directory_names_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("_metadata");
        let err = write_atomically(&path, b"x").unwrap_err();
        assert!(
            matches!(err, StorageError::Io { operation: "create", ref path, .. }
                if path.starts_with(dir.path().join("missing"))),
            "{err}"
        );
    }

    #[test]
    fn read_of_a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing.state");
        let err = read::<Vec<u8>>(&path, FileKind::State).unwrap_err();
        assert_eq!(err, StorageError::NotFound { path });
    }

    proptest! {
        #[test]
        fn a_valid_file_round_trips(value in sample()) {
            let bytes = encoded(&value);
            prop_assert_eq!(decode::<Sample>(here(), FileKind::Metadata, &bytes).unwrap(), value);
        }

        #[test]
        fn random_bytes_never_panic_and_never_decode(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            with_magic in any::<bool>(),
        ) {
            let mut bytes = bytes;
            if with_magic {
                let mut prefixed = MAGIC.to_vec();
                prefixed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
                prefixed.extend_from_slice(&bytes);
                bytes = prefixed;
            }
            prop_assert!(decode::<Sample>(here(), FileKind::Metadata, &bytes).is_err());
        }

        #[test]
        fn every_truncation_is_detected(value in sample(), cut in any::<prop::sample::Index>()) {
            let bytes = encoded(&value);
            let len = cut.index(bytes.len());
            prop_assert!(decode::<Sample>(here(), FileKind::Metadata, &bytes[..len]).is_err());
        }

        #[test]
        fn every_changed_byte_is_detected(
            value in sample(),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let mut bytes = encoded(&value);
            let at = at.index(bytes.len());
            bytes[at] ^= flip;
            prop_assert!(decode::<Sample>(here(), FileKind::Metadata, &bytes).is_err());
        }

        #[test]
        fn appended_bytes_are_detected(
            value in sample(),
            extra in proptest::collection::vec(any::<u8>(), 1..20),
        ) {
            let mut bytes = encoded(&value);
            bytes.extend_from_slice(&extra);
            prop_assert!(decode::<Sample>(here(), FileKind::Metadata, &bytes).is_err());
        }
    }
}
