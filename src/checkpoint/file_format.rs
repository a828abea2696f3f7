//! The on-disk format of every weir checkpoint file.
//!
//! # Format (version 2)
//!
//! ```text
//! offset    size  field
//! 0         8     magic number b"WEIRCKPT"
//! 8         2     format version, little-endian (this build writes and reads 2)
//! 10        2     file kind, little-endian (1 = checkpoint metadata, 2 = subtask state)
//! 12        8     checkpoint id, little-endian
//! 20        4     subtask index, little-endian (0xFFFF_FFFF in a metadata file)
//! 24        4     length u of the vertex uid, little-endian (0 in a metadata file)
//! 28        u     the vertex uid, UTF-8
//! 28+u      8     body length n, little-endian
//! 36+u      n     body: postcard for metadata, the subtask's state bytes for state
//! 36+u+n    4     CRC-32 (crc32fast) of every byte before it, little-endian
//! ```
//!
//! The header says whose file it is ([`FileIdentity`]): a file moved into another checkpoint's
//! directory, or put in place of another subtask's, is recognized as such by
//! [`check_identity`]. Version 1 had no identity; its files are refused as
//! [`StorageError::UnsupportedVersion`], never read as version 2.
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
//!
//! Writing such a file so that a crash cannot tear it is [`crate::checkpoint::durable`]'s part.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::{FileIdentity, StorageError};

/// The first eight bytes of every weir checkpoint file.
pub const MAGIC: [u8; 8] = *b"WEIRCKPT";

/// The format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u16 = 2;

/// Bytes of the header before the vertex uid.
const FIXED_HEADER_LEN: usize = 28;

/// Bytes after the uid: the body length, and after the body the CRC-32.
const LENGTH_LEN: usize = 8;
const TRAILER_LEN: usize = 4;

/// The subtask field of a file that is not a subtask's.
const NO_SUBTASK: u32 = u32::MAX;

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

    /// The kind of file `identity` describes.
    pub fn of(identity: &FileIdentity) -> FileKind {
        match identity {
            FileIdentity::State { .. } => FileKind::State,
            _ => FileKind::Metadata,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FileKind::Metadata => "metadata",
            FileKind::State => "state",
        }
    }
}

/// A complete checkpoint file of `identity` with `body` (header, body, checksum).
pub fn encode_bytes(identity: &FileIdentity, body: &[u8]) -> Vec<u8> {
    let (subtask, uid) = match identity {
        FileIdentity::State {
            vertex_uid,
            subtask,
            ..
        } => (*subtask, vertex_uid.as_bytes()),
        _ => (NO_SUBTASK, &[][..]),
    };
    let len = FIXED_HEADER_LEN + uid.len() + LENGTH_LEN + body.len() + TRAILER_LEN;
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&FileKind::of(identity).code().to_le_bytes());
    bytes.extend_from_slice(&identity.checkpoint_id().to_le_bytes());
    bytes.extend_from_slice(&subtask.to_le_bytes());
    bytes.extend_from_slice(&(uid.len() as u32).to_le_bytes());
    bytes.extend_from_slice(uid);
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(body);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// `value` encoded with postcard as the body of a checkpoint file of `identity`.
///
/// Fails only if postcard cannot serialize the value; the error is then
/// [`StorageError::Corrupt`] with an empty path, which the caller replaces with the file it was
/// about to write.
pub fn encode<T: Serialize>(identity: &FileIdentity, value: &T) -> Result<Vec<u8>, StorageError> {
    let body = postcard::to_stdvec(value).map_err(|e| StorageError::Corrupt {
        path: PathBuf::new(),
        reason: format!("cannot encode {} body: {e}", FileKind::of(identity).name()),
    })?;
    Ok(encode_bytes(identity, &body))
}

/// The identity and the body of a checkpoint file of `expected_kind` read from
/// `path_for_errors`.
///
/// A file shorter than its header is [`StorageError::Foreign`] if its first bytes already
/// differ from the magic number and [`StorageError::Truncated`] otherwise (so an empty file is
/// truncated, `b"hello"` is foreign). The version is checked right after the magic number,
/// before anything another version might lay out differently. Never panics.
pub fn decode_bytes<'a>(
    path_for_errors: &Path,
    expected_kind: FileKind,
    bytes: &'a [u8],
) -> Result<(FileIdentity, &'a [u8]), StorageError> {
    let path = || path_for_errors.to_path_buf();
    let corrupt = |reason: String| StorageError::Corrupt {
        path: path(),
        reason,
    };
    let layout = Layout::read(path_for_errors, bytes)?;
    // From here on `layout.total == bytes.len()`, so every offset below is in range.
    let crc_at = bytes.len() - TRAILER_LEN;
    let (covered, trailer) = bytes.split_at(crc_at);
    let stored = field(trailer, 0).map_or(0, u32::from_le_bytes);
    let computed = crc32fast::hash(covered);
    if stored != computed {
        return Err(corrupt(format!(
            "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    match FileKind::from_code(layout.kind) {
        Some(found) if found == expected_kind => {}
        Some(found) => {
            return Err(corrupt(format!(
                "is a {} file, expected a {} file",
                found.name(),
                expected_kind.name()
            )))
        }
        None => return Err(corrupt(format!("unknown file kind {}", layout.kind))),
    }
    let uid = covered.get(layout.uid.clone()).unwrap_or_default();
    let identity = match (expected_kind, layout.subtask, uid) {
        (FileKind::Metadata, NO_SUBTASK, []) => FileIdentity::Metadata {
            checkpoint_id: layout.checkpoint_id,
        },
        (FileKind::State, subtask, uid) if subtask != NO_SUBTASK => FileIdentity::State {
            checkpoint_id: layout.checkpoint_id,
            vertex_uid: String::from_utf8(uid.to_vec())
                .map_err(|_| corrupt("the vertex uid in the header is not UTF-8".to_owned()))?,
            subtask,
        },
        _ => {
            return Err(corrupt(
                "the header's subtask fields do not fit its kind".into(),
            ))
        }
    };
    Ok((identity, covered.get(layout.body).unwrap_or_default()))
}

/// The identity and the postcard-decoded body of a checkpoint file (see [`decode_bytes`]).
pub fn decode<T: DeserializeOwned>(
    path_for_errors: &Path,
    expected_kind: FileKind,
    bytes: &[u8],
) -> Result<(FileIdentity, T), StorageError> {
    let (identity, body) = decode_bytes(path_for_errors, expected_kind, bytes)?;
    let corrupt = |reason: String| StorageError::Corrupt {
        path: path_for_errors.to_path_buf(),
        reason,
    };
    match postcard::take_from_bytes::<T>(body) {
        Ok((value, [])) => Ok((identity, value)),
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

/// The bytes of the file at `path`; a missing file is [`StorageError::NotFound`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, StorageError> {
    fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound {
            path: path.to_path_buf(),
        },
        _ => crate::checkpoint::durable::io_error("read", path, &e),
    })
}

/// Reads and [`decode`]s the file at `path`; a missing file is [`StorageError::NotFound`].
pub fn read<T: DeserializeOwned>(
    path: &Path,
    expected_kind: FileKind,
) -> Result<(FileIdentity, T), StorageError> {
    decode(path, expected_kind, &read_file(path)?)
}

/// [`StorageError::IdentityMismatch`] unless the file at `path` belongs to `expected`.
pub fn check_identity(
    path: &Path,
    expected: &FileIdentity,
    found: FileIdentity,
) -> Result<(), StorageError> {
    if *expected == found {
        return Ok(());
    }
    Err(StorageError::IdentityMismatch {
        path: path.to_path_buf(),
        expected: Box::new(expected.clone()),
        found: Box::new(found),
    })
}

/// Where the parts of a file are, from its header; its length checked against the header.
struct Layout {
    kind: u16,
    checkpoint_id: u64,
    subtask: u32,
    uid: std::ops::Range<usize>,
    body: std::ops::Range<usize>,
}

impl Layout {
    fn read(path: &Path, bytes: &[u8]) -> Result<Layout, StorageError> {
        let actual = bytes.len() as u64;
        let truncated = |expected: u64| StorageError::Truncated {
            path: path.to_path_buf(),
            actual,
            expected,
        };
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
            return Err(StorageError::Foreign {
                path: path.to_path_buf(),
            });
        }
        if let Some(version) = field(bytes, 8).map(u16::from_le_bytes) {
            check_version(path, version)?;
        }
        let shortest = (FIXED_HEADER_LEN + LENGTH_LEN + TRAILER_LEN) as u64;
        let kind = field(bytes, 10).map(u16::from_le_bytes);
        let checkpoint_id = field(bytes, 12).map(u64::from_le_bytes);
        let subtask = field(bytes, 20).map(u32::from_le_bytes);
        let uid_len = field(bytes, 24).map(u32::from_le_bytes);
        let (Some(kind), Some(checkpoint_id), Some(subtask), Some(uid_len)) =
            (kind, checkpoint_id, subtask, uid_len)
        else {
            return Err(truncated(shortest));
        };
        let uid_end = FIXED_HEADER_LEN as u64 + u64::from(uid_len);
        let body_len = usize::try_from(uid_end)
            .ok()
            .and_then(|at| field(bytes, at))
            .map(u64::from_le_bytes);
        let Some(body_len) = body_len else {
            return Err(truncated(uid_end + (LENGTH_LEN + TRAILER_LEN) as u64));
        };
        let body_start = uid_end + LENGTH_LEN as u64;
        let expected = body_start
            .saturating_add(body_len)
            .saturating_add(TRAILER_LEN as u64);
        if actual < expected {
            return Err(truncated(expected));
        }
        if actual > expected {
            return Err(StorageError::Corrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "{} bytes after the checksum (file is {actual} bytes, header says {expected})",
                    actual - expected
                ),
            });
        }
        // `expected == bytes.len()`: every bound below fits in usize.
        let (uid_end, body_start) = (uid_end as usize, body_start as usize);
        Ok(Layout {
            kind,
            checkpoint_id,
            subtask,
            uid: FIXED_HEADER_LEN..uid_end,
            body: body_start..bytes.len() - TRAILER_LEN,
        })
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

#[cfg(test)]
mod tests;
