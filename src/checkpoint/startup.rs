//! What happens to a job's checkpoint storage as the job starts, before anything runs.
//!
//! # Guarantees
//!
//! - One storage instance serves the whole run: the runtime's state and metadata writes and
//!   discards, and the uploads of incremental RocksDB checkpoints ([`JobStorage`]).
//! - A storage that cannot be written, or whose checkpoints cannot be listed, stops the job
//!   before it starts: `execute()` and `spawn()` return [`StorageStartError`] naming the
//!   directory, instead of a job that declines every checkpoint or reuses checkpoint ids.
//! - The first checkpoint of the run takes an id above every id the storage holds (complete
//!   checkpoints, incomplete ones and shared files alike) and above the restored checkpoint's,
//!   so no file of an earlier run is ever overwritten or mistaken for one of this run.
//! - Leftovers of earlier runs are deleted as [`CheckpointStorage::delete_leftovers`] says;
//!   what cannot be read is left in place and logged (`warn`). A failed cleanup is logged and
//!   does not stop the job: the ids above keep the run clear of what is left.

use crate::checkpoint::storage::{FileSystemCheckpointStorage, MemoryCheckpointStorage};
use std::sync::Arc;
use weir_actors::checkpoint::storage::{CheckpointStorage, StorageError};
use weir_actors::config::checkpoint_config::{CheckpointConfig, CheckpointStorageConfig};
use weir_actors::CheckpointId;

/// Why a job's checkpoint storage cannot be used, found as the job starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageStartError {
    /// The checkpoint directory cannot be created, or no file can be written in it.
    #[error("checkpoints cannot be written to {location}: {source}")]
    NotWritable {
        /// The job's checkpoint directory (the storage's description).
        location: String,
        /// The write that failed, naming the path.
        source: StorageError,
    },
    /// The checkpoints already in the storage cannot be listed, so the run cannot number its
    /// checkpoints after them.
    #[error(
        "cannot list the checkpoints in {location}, so new checkpoint ids could collide with \
         existing ones: {source}"
    )]
    CannotList {
        /// The job's checkpoint directory (the storage's description).
        location: String,
        /// The listing that failed, naming the directory.
        source: StorageError,
    },
}

/// The checkpoint storage of one job run: one instance for everything that writes.
#[derive(Clone)]
pub(crate) struct JobStorage {
    /// What the runtime persists through.
    pub(crate) storage: Arc<dyn CheckpointStorage>,
    /// The same instance when it is a filesystem storage: where incremental RocksDB checkpoints
    /// upload their files.
    pub(crate) files: Option<FileSystemCheckpointStorage>,
}

impl JobStorage {
    /// The storage of a job with `config` and `job_id`, or `given` (which then serves alone:
    /// incremental checkpoints need weir's own filesystem storage).
    pub(crate) fn new(
        config: &CheckpointConfig,
        job_id: &str,
        given: Option<Arc<dyn CheckpointStorage>>,
    ) -> JobStorage {
        if let Some(storage) = given {
            return JobStorage {
                storage,
                files: None,
            };
        }
        match &config.storage {
            Some(CheckpointStorageConfig::FileSystem(dir)) => {
                let files = FileSystemCheckpointStorage::new(dir.clone(), job_id);
                JobStorage {
                    storage: Arc::new(files.clone()),
                    files: Some(files),
                }
            }
            _ => JobStorage {
                storage: Arc::new(MemoryCheckpointStorage::new(job_id)),
                files: None,
            },
        }
    }
}

/// Readies `storage` for a run restored from checkpoint `restored` (if any): checks it can be
/// written, finds the highest id it holds, deletes the leftovers of earlier runs; returns the
/// id the run's first checkpoint takes.
pub(crate) fn prepare(
    storage: &dyn CheckpointStorage,
    restored: Option<CheckpointId>,
) -> Result<CheckpointId, StorageStartError> {
    let location = || storage.describe();
    storage
        .check_writable()
        .map_err(|source| StorageStartError::NotWritable {
            location: location(),
            source,
        })?;
    let highest = storage
        .highest_used_id()
        .map_err(|source| StorageStartError::CannotList {
            location: location(),
            source,
        })?;
    match storage.delete_leftovers() {
        Ok(leftovers) => {
            if !leftovers.deleted.is_empty() || !leftovers.deleted_shared.is_empty() {
                tracing::info!(
                    checkpoints = ?leftovers.deleted,
                    shared_files = leftovers.deleted_shared.len(),
                    "deleted what earlier runs left in {}",
                    location()
                );
            }
            for error in &leftovers.kept {
                tracing::warn!(%error, "leaving a checkpoint that cannot be read in place");
            }
        }
        Err(error) => tracing::warn!(%error, "cannot delete what earlier runs left"),
    }
    let after = restored.unwrap_or(0).max(highest.unwrap_or(0));
    Ok(after.saturating_add(1))
}
