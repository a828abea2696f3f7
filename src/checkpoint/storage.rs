//! Where a job's checkpoints are kept: a directory on a filesystem
//! ([`FileSystemCheckpointStorage`]) or the process's memory ([`MemoryCheckpointStorage`]), both
//! implementing the runtime's [`CheckpointStorage`].
//!
//! # Layout on disk
//!
//! ```text
//! <base dir>/<job id>/chk-<n>/_metadata                  written last, atomically
//! <base dir>/<job id>/chk-<n>/<vertex uid>-<subtask>.state
//! <base dir>/<job id>/chk-<n>/<uid>-<subtask>.rocksdb/   a RocksDB checkpoint's own files (all of a full one)
//! <base dir>/<job id>/shared/<uid>-<subtask>-<n>-<file>  incremental RocksDB files (uploaded by n)
//! ```
//!
//! [`crate::checkpoint::paths`] builds and parses every one of these names; every file has the
//! format of [`crate::checkpoint::file_format`].
//!
//! # Guarantees
//!
//! - A checkpoint is complete exactly when its `_metadata` exists and is intact; a crash at any
//!   moment of a write leaves either no `_metadata` or the whole one.
//! - State files are fsynced before [`CheckpointStorage::write_state`] returns; the metadata's
//!   atomic write then fsyncs their directory. The metadata records each state file's size and
//!   checksum, and each state file's header its checkpoint, vertex uid and subtask: a read
//!   refuses a file that is not the one recorded.
//! - One storage instance owns every write and delete of its job directory (clones are handles
//!   to the same instance): state writes and the uploads of incremental checkpoints
//!   ([`FileSystemCheckpointStorage::upload_file`]) pass the same gate as discards, so once a
//!   checkpoint is discarded nothing more is written for it and no orphan `chk-<n>` or shared
//!   file is left behind.
//! - Directories are created on first write, each one made durable by an fsync of its parent.
//! - A failed write returns [`StorageError::Io`] naming the path (this is how a checkpoint is
//!   declined) and never panics; [`CheckpointStorage::latest_complete`] skips, and reports, every
//!   newer checkpoint whose metadata is missing, truncated, corrupt, foreign or of another version.
//! - Discarding a checkpoint also deletes the shared files it wrote or referred to that no
//!   complete checkpoint refers to: `shared/` holds exactly what the retained checkpoints need.
//! - Nothing that could not be read is deleted: a checkpoint whose `_metadata` exists but does
//!   not load (a newer weir's, a damaged or unreadable one) is left in place and reported, and the
//!   shared files it might refer to are kept.

use crate::checkpoint::file_format;
use std::path::Path;
use weir_actors::checkpoint::storage::{
    CheckpointMetadata, FileIdentity, LatestCheckpoint, StorageError,
};
use weir_actors::CheckpointId;

mod filesystem;
mod inventory;
mod memory;
mod shared_files;
mod uploads;
mod write_gate;

pub use crate::checkpoint::paths::{METADATA_FILE_NAME, SHARED_DIR_NAME};
pub use filesystem::FileSystemCheckpointStorage;
pub use memory::MemoryCheckpointStorage;

/// The metadata file of `metadata`'s checkpoint, encoded; an error names `path`.
fn encode_metadata(path: &Path, metadata: &CheckpointMetadata) -> Result<Vec<u8>, StorageError> {
    let identity = FileIdentity::Metadata {
        checkpoint_id: metadata.checkpoint_id,
    };
    file_format::encode(&identity, metadata).map_err(|error| match error {
        StorageError::Corrupt { reason, .. } => StorageError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })
}

/// The error for a write into a checkpoint that was already discarded.
fn discarded_error(path: &Path) -> StorageError {
    StorageError::Io {
        operation: "write",
        path: path.to_path_buf(),
        reason: "the checkpoint was aborted and discarded".into(),
    }
}

/// Walks `ids` (ascending) newest first; returns the first that loads, with the errors of those
/// skipped before it.
fn newest_loadable(
    ids: Vec<CheckpointId>,
    load: impl Fn(CheckpointId) -> Result<CheckpointMetadata, StorageError>,
) -> Result<LatestCheckpoint, StorageError> {
    let mut latest = LatestCheckpoint::default();
    for id in ids.into_iter().rev() {
        match load(id) {
            Ok(metadata) => {
                latest.metadata = Some(metadata);
                break;
            }
            Err(error) => {
                tracing::warn!(checkpoint = id, %error, "skipping checkpoint");
                latest.skipped.push(error);
            }
        }
    }
    Ok(latest)
}
