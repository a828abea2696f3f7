//! [`SnapshotError`]: why a subtask's snapshot (its synchronous or its asynchronous part) produced
//! no state handle. The subtask declines the checkpoint with it.

use crate::checkpoint::storage::StorageError;
use crate::error::TaskError;
use crate::network::event::CheckpointId;

/// Why a subtask's snapshot for a checkpoint was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SnapshotError {
    /// The synchronous part of the task's snapshot failed (an operator's `snapshot_state`, a
    /// sink's pre-commit).
    #[error("the snapshot of checkpoint {checkpoint} failed: {error}")]
    Sync {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// The task's error, naming its operator.
        error: TaskError,
    },
    /// The task's writer (serializing its state, uploading shared files) failed.
    #[error("the snapshot of checkpoint {checkpoint} failed: {error}")]
    Writer {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// The task's error, naming its operator.
        error: TaskError,
    },
    /// The storage could not write the state.
    #[error("the state of checkpoint {checkpoint} could not be written: {error}")]
    Storage {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// The storage's error, naming the file.
        error: StorageError,
    },
    /// The writer panicked, or its thread was lost.
    #[error("the snapshot writer of checkpoint {checkpoint} panicked: {message}")]
    WriterPanicked {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// The panic, as the runtime reports it.
        message: String,
    },
}
