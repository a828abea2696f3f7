//! [`FailureCause`]: why the supervisor handles a failure — a subtask failed, too many checkpoints
//! failed in a row, or the checkpoint a restart needs could not be loaded.
//!
//! The cause travels from the report to the supervisor's decision, the
//! restart history ([`crate::recovery::restart_history::RestartRecord`]), the log, and the job's
//! final error ([`crate::JobError`]).

use crate::checkpoint::stats::CheckpointFailureReason;
use crate::checkpoint::storage::StorageError;
use crate::error::task_failure::TaskFailure;
use crate::network::event::CheckpointId;

/// Why the job had to handle a failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureCause {
    /// A subtask failed: its operator's error, or its actor was lost.
    #[error("{0}")]
    Subtask(TaskFailure),
    /// More checkpoints failed in a row than `tolerable_failed_checkpoints` allows (Flink
    /// restarts every task then).
    #[error(
        "{failures} consecutive checkpoint failures exceed the tolerable number; last: {last}"
    )]
    CheckpointingFailed {
        /// Consecutive failures counted.
        failures: u32,
        /// The last one's reason.
        last: CheckpointFailureReason,
    },
    /// The checkpoint a restart was to start from could not be loaded.
    #[error("cannot load checkpoint {checkpoint} to restart from: {error}")]
    RestoreFailed {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// What went wrong reading it.
        error: StorageError,
    },
}

impl FailureCause {
    /// The failed subtask's report, when a subtask failed.
    pub fn task_failure(&self) -> Option<&TaskFailure> {
        match self {
            FailureCause::Subtask(failure) => Some(failure),
            _ => None,
        }
    }

    /// Whether a restart may cure it. A checkpoint that cannot be read stays unreadable, so a
    /// failed restore ends the job at once, whatever the restart strategy; so does a subtask's
    /// error of kind [`TaskErrorKind::SuppressRestarts`].
    ///
    /// [`TaskErrorKind::SuppressRestarts`]: crate::TaskErrorKind::SuppressRestarts
    pub fn is_recoverable(&self) -> bool {
        match self {
            FailureCause::RestoreFailed { .. } => false,
            FailureCause::Subtask(f) => f.error.kind != crate::TaskErrorKind::SuppressRestarts,
            FailureCause::CheckpointingFailed { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::task_failure::{SubtaskId, TaskError, TaskErrorKind};
    use std::path::PathBuf;

    fn subtask_failure() -> TaskFailure {
        TaskFailure {
            subtask: SubtaskId {
                task: "Map".into(),
                uid: "Map [m]".into(),
                index: 0,
                parallelism: 2,
            },
            error: TaskError::new(TaskErrorKind::User, "bad record"),
        }
    }

    #[test]
    fn an_error_that_suppresses_restarts_is_not_recoverable() {
        let mut failure = subtask_failure();
        failure.error.kind = TaskErrorKind::SuppressRestarts;
        assert!(!FailureCause::Subtask(failure).is_recoverable());
    }

    #[test]
    fn a_subtask_failure_names_the_operator_and_keeps_its_report() {
        let cause = FailureCause::Subtask(subtask_failure());
        assert_eq!(cause.task_failure(), Some(&subtask_failure()));
        assert!(cause.to_string().contains("Map [m]"), "{cause}");
        assert!(cause.is_recoverable());
    }

    #[test]
    fn too_many_failed_checkpoints_name_the_last_reason_and_no_made_up_task() {
        let cause = FailureCause::CheckpointingFailed {
            failures: 3,
            last: CheckpointFailureReason::Expired(std::time::Duration::from_secs(1)),
        };
        let text = cause.to_string();
        assert!(
            text.contains("3 consecutive") && text.contains("expired"),
            "{text}"
        );
        assert!(!text.contains("checkpoint coordinator"), "{text}");
        assert_eq!(cause.task_failure(), None);
        assert!(cause.is_recoverable());
    }

    #[test]
    fn a_failed_restore_is_not_recoverable_and_names_the_checkpoint_and_file() {
        let cause = FailureCause::RestoreFailed {
            checkpoint: 7,
            error: StorageError::Foreign {
                path: PathBuf::from("/cp/job/chk-7/_metadata"),
            },
        };
        let text = cause.to_string();
        assert!(
            text.contains("checkpoint 7") && text.contains("chk-7/_metadata"),
            "{text}"
        );
        assert!(!cause.is_recoverable());
    }
}
