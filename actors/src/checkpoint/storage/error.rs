//! What can go wrong reading or writing checkpoint storage, each error naming the file (or, in
//! memory, the checkpoint) involved.

use crate::network::event::CheckpointId;
use std::fmt;
use std::path::PathBuf;

/// Who a checkpoint file says it belongs to, as its header records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileIdentity {
    /// The `_metadata` of checkpoint `checkpoint_id`.
    Metadata {
        /// The checkpoint.
        checkpoint_id: CheckpointId,
    },
    /// The state of subtask `subtask` of the vertex with uid `vertex_uid` in checkpoint
    /// `checkpoint_id`.
    State {
        /// The checkpoint.
        checkpoint_id: CheckpointId,
        /// The vertex's uid (its first operator's).
        vertex_uid: String,
        /// The subtask index.
        subtask: u32,
    },
}

impl FileIdentity {
    /// The checkpoint the file belongs to.
    pub fn checkpoint_id(&self) -> CheckpointId {
        match self {
            FileIdentity::Metadata { checkpoint_id }
            | FileIdentity::State { checkpoint_id, .. } => *checkpoint_id,
        }
    }
}

impl fmt::Display for FileIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileIdentity::Metadata { checkpoint_id } => {
                write!(f, "the metadata of checkpoint {checkpoint_id}")
            }
            FileIdentity::State {
                checkpoint_id,
                vertex_uid,
                subtask,
            } => write!(
                f,
                "the state of operator uid {vertex_uid:?} subtask {subtask} in checkpoint \
                 {checkpoint_id}"
            ),
        }
    }
}

/// A property of a file that a checkpoint's metadata records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordedProperty {
    /// Its length in bytes.
    Size,
    /// The CRC-32 of its bytes.
    Checksum,
}

impl fmt::Display for RecordedProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordedProperty::Size => "size",
            RecordedProperty::Checksum => "checksum",
        })
    }
}

/// A storage failure, naming the file (or, in memory, the checkpoint) involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O operation failed.
    #[error("cannot {operation} {path}: {reason}")]
    Io {
        /// What was being done: "create", "write", "read", "rename", "delete", "sync", "list".
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error's text.
        reason: String,
    },
    /// A file is shorter than its header says.
    #[error("{path} is truncated: {actual} bytes, expected {expected}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Its length.
        actual: u64,
        /// The length its header promises (or the minimum for a header).
        expected: u64,
    },
    /// A file does not start with weir's magic number.
    #[error("{path} is not a weir checkpoint file (bad magic number)")]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// A file of a format version this build cannot read (written by an older or a newer weir).
    #[error(
        "{path} has checkpoint format version {version}; this build reads only version {supported}"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// A file's checksum does not match its contents, or its body does not decode.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An intact file that belongs elsewhere: its header names another checkpoint, operator or
    /// subtask than the one it was read for.
    #[error("{path} holds {found}, not {expected}")]
    IdentityMismatch {
        /// The file.
        path: PathBuf,
        /// Who it was read for.
        expected: Box<FileIdentity>,
        /// Who its header says it belongs to.
        found: Box<FileIdentity>,
    },
    /// A file differs from what the checkpoint's metadata recorded of it.
    #[error("{path} has {property} {found}, the checkpoint's metadata recorded {recorded}")]
    DiffersFromMetadata {
        /// The file.
        path: PathBuf,
        /// What differs.
        property: RecordedProperty,
        /// What the metadata recorded.
        recorded: u64,
        /// What the file has.
        found: u64,
    },
    /// A checkpoint or state that should be there is not.
    #[error("{path} not found")]
    NotFound {
        /// What was looked for.
        path: PathBuf,
    },
    /// Something in a checkpoint's directory that weir does not write, so the directory may
    /// not be weir's to delete.
    #[error("{path} is not a file weir writes; its checkpoint directory is left as it is")]
    Unrecognized {
        /// The entry.
        path: PathBuf,
    },
}

impl StorageError {
    /// The file or directory the error names.
    pub fn path(&self) -> &std::path::Path {
        match self {
            StorageError::Io { path, .. }
            | StorageError::Truncated { path, .. }
            | StorageError::Foreign { path }
            | StorageError::UnsupportedVersion { path, .. }
            | StorageError::Corrupt { path, .. }
            | StorageError::IdentityMismatch { path, .. }
            | StorageError::DiffersFromMetadata { path, .. }
            | StorageError::NotFound { path }
            | StorageError::Unrecognized { path } => path,
        }
    }
}
