//! [`JobError`]: why a job did not finish.

use crate::checkpoint::stats::CheckpointFailureReason;
use crate::checkpoint::storage::StorageError;
use crate::error::task_failure::TaskFailure;
use crate::network::event::CheckpointId;
use crate::recovery::failure_cause::FailureCause;
use crate::recovery::restart_history::RestartRecord;

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// A subtask failed and the job was not restarted.
    #[error("job failed: {0}")]
    TaskFailed(Box<TaskFailure>),
    /// More checkpoints failed in a row than `tolerable_failed_checkpoints` allows.
    #[error("job failed: {failures} consecutive checkpoint failures exceed the tolerable number; last: {last}")]
    CheckpointingFailed {
        /// Consecutive failures.
        failures: u32,
        /// The last one's reason.
        last: CheckpointFailureReason,
    },
    /// The restart strategy gave up: the last failure, the strategy, and every restart before.
    #[error("job failed: recovery is suppressed by {strategy} after {} restarts; last failure: {cause}", history.len())]
    RestartsExhausted {
        /// The failure the strategy refused to restart.
        cause: Box<FailureCause>,
        /// The strategy, as it describes itself.
        strategy: String,
        /// Every restart made before giving up.
        history: Vec<RestartRecord>,
    },
    /// The checkpoint a restart was to start from could not be loaded; a restart cannot cure
    /// that, so the job fails at once.
    #[error("job failed: cannot load checkpoint {checkpoint} to restart from: {source}")]
    RestoreFailed {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// What went wrong reading it (naming the file).
        source: StorageError,
    },
    /// The job was cancelled through its client.
    #[error("job was cancelled")]
    Cancelled,
    /// The runtime could not start the job (a thread or an arbiter could not be created).
    #[error("job could not start: {0}")]
    Startup(String),
    /// The job's result was already taken by another wait on its client.
    #[error("the job's result was already taken")]
    ResultTaken,
    /// The supervisor could not reach the checkpoint coordinator to learn which checkpoint a
    /// restart starts from (its actor stopped).
    #[error("job failed: the checkpoint coordinator stopped while a restart needed it")]
    CoordinatorLost,
}

impl From<FailureCause> for JobError {
    /// The error a job ends with when `cause` is not restarted (no restart strategy, or a cause
    /// no restart cures).
    fn from(cause: FailureCause) -> JobError {
        match cause {
            FailureCause::Subtask(failure) => JobError::TaskFailed(Box::new(failure)),
            FailureCause::CheckpointingFailed { failures, last } => {
                JobError::CheckpointingFailed { failures, last }
            }
            FailureCause::RestoreFailed { checkpoint, error } => JobError::RestoreFailed {
                checkpoint,
                source: error,
            },
        }
    }
}
