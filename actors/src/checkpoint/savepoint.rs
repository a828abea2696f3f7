//! Savepoints, the runtime's side: what a triggered savepoint ends with
//! ([`CompletedSavepoint`] or a typed [`SavepointError`]) and the [`SavepointWriter`] that
//! copies a completed checkpoint out of the job's storage into a directory of its own.
//!
//! # Guarantees
//! - A savepoint is an aligned checkpoint taken on request whose files the writer copies into
//!   its own directory when the checkpoint completes, before any retention runs, so a savepoint
//!   is never subsumed or deleted by the job: it lives outside the job's checkpoint directory.
//! - If the savepoint cannot be written, its checkpoint fails (as a failed metadata write, not
//!   counted against the tolerable failed checkpoints) and the job goes on running; the caller
//!   gets [`SavepointError::Failed`] naming the directory.
//! - A stopping savepoint suspends every source after its barrier; once it completes, no
//!   checkpoint is triggered or completed: newer pending ones are aborted, its completion is
//!   sent to every subtask, and the job ends `Finished` without end of input.
//! - An intermediate savepoint has no side effects (Flink since 1.15): no subtask hears of its
//!   completion, and it is not one of the job's checkpoints (not retained, not restored from).

use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::checkpoint::stats::CheckpointStats;
use crate::checkpoint::storage::{CheckpointMetadata, StorageError};
use crate::network::event::CheckpointId;
use std::path::{Path, PathBuf};

/// The snapshot a job restored from in `CLAIM` mode: the job owns it, as if it were its own
/// oldest retained checkpoint, and disposes of it once newer checkpoints subsume it (or the
/// job ends and its checkpoints are discarded).
#[derive(Clone)]
pub struct ClaimedSnapshot {
    /// The snapshot's checkpoint id.
    pub checkpoint_id: CheckpointId,
    /// Deletes the snapshot: only the files its metadata accounts for.
    pub dispose: std::sync::Arc<dyn Fn() -> Result<(), StorageError> + Send + Sync>,
}

impl std::fmt::Debug for ClaimedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedSnapshot")
            .field("checkpoint_id", &self.checkpoint_id)
            .finish_non_exhaustive()
    }
}

/// Copies a completed checkpoint into a savepoint directory under a given directory.
pub trait SavepointWriter: Send + Sync + 'static {
    /// Writes the checkpoint `metadata` describes (its state files still in the job's storage)
    /// as a self-contained savepoint under `dir`, `_metadata` last and atomically; returns the
    /// savepoint's directory.
    fn write(&self, dir: &Path, metadata: &CheckpointMetadata) -> Result<PathBuf, StorageError>;
}

/// A savepoint that was written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CompletedSavepoint {
    /// The savepoint's directory (`<dir>/savepoint-<job id>-<id>`).
    pub path: PathBuf,
    /// The id of the checkpoint it was taken as.
    pub checkpoint_id: CheckpointId,
    /// The statistics of that checkpoint.
    pub stats: CheckpointStats,
}

/// Why a savepoint could not be taken, read, restored or disposed of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SavepointError {
    /// The savepoint's checkpoint failed (declined, expired, not written); the job runs on.
    #[error("the savepoint into {dir} failed: {reason}")]
    Failed {
        /// The directory it was to be written under.
        dir: PathBuf,
        /// Why its checkpoint failed.
        reason: CheckpointFailureReason,
    },
    /// No directory was given and the job has no default savepoint directory
    /// (`execution.checkpointing.savepoint-dir`).
    #[error("no savepoint directory given and execution.checkpointing.savepoint-dir is not set")]
    NoDirectory,
    /// The job does not checkpoint, so it cannot take a savepoint.
    #[error("the job does not checkpoint, so it cannot take a savepoint")]
    NotCheckpointing,
    /// A path that is not a weir savepoint (nor a checkpoint).
    #[error("{path} is not a weir savepoint: {reason}")]
    NotASavepoint {
        /// The path given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A savepoint file could not be read, written or deleted; the error names it.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
