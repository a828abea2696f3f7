//! Why a checkpoint did not complete: [`CheckpointFailureReason`], with typed causes for a
//! subtask's decline ([`DeclineCause`]) and for a failed metadata write.
//!
//! # Guarantees
//! - No reason holds its cause as text: a cause is an enum variant naming what failed, with the
//!   source error kept whole in a [`FailureSource`] (shared, so reasons stay `Clone`).
//! - A decline names the subtask it came from: its task, its operator's uid, its index and its
//!   parallelism, and the display text says all of them.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a checkpoint did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointFailureReason {
    /// It did not complete within the checkpoint timeout.
    #[error("checkpoint expired before completing (timeout {0:?})")]
    Expired(Duration),
    /// A subtask declined it: its snapshot or its state write failed.
    #[error("declined by {subtask}: {cause}")]
    Declined {
        /// The subtask that declined.
        subtask: CheckpointSubtask,
        /// What failed there.
        cause: DeclineCause,
    },
    /// A newer checkpoint overtook it (during alignment, or by completing first).
    #[error("subsumed by a newer checkpoint")]
    Subsumed,
    /// Its metadata could not be written; the source is the storage's error, naming the file.
    #[error("metadata could not be written: {0}")]
    MetadataWrite(FailureSource),
    /// No source subtask is running, so there is nothing to checkpoint.
    #[error("no running source subtask to trigger")]
    NoRunningSources,
    /// The job is ending.
    #[error("the job is terminating")]
    JobTerminating,
    /// A task failed: pending checkpoints are aborted while it restarts.
    #[error("a task failed and is restarting")]
    TaskFailure,
    /// Triggering was refused because the maximum number of concurrent checkpoints is pending.
    #[error("too many concurrent checkpoints")]
    TooManyConcurrent,
}

impl CheckpointFailureReason {
    /// Whether this failure counts against the tolerable-failed-checkpoints limit. As in Flink,
    /// an expired or declined checkpoint counts, and failures caused by the job's own lifecycle
    /// or by subsumption do not. Unlike Flink (which ignores a failed finalization), a failed
    /// metadata write counts too: weir writes the metadata itself, so it is an I/O failure of
    /// the checkpoint like a failed state write.
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            CheckpointFailureReason::Expired(_)
                | CheckpointFailureReason::Declined { .. }
                | CheckpointFailureReason::MetadataWrite(_)
        )
    }
}

/// The subtask a decline came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSubtask {
    /// The task's name (its chained operators' names joined by ` -> `).
    pub task: String,
    /// The uid of the task's first operator.
    pub uid: String,
    /// Subtask index, from 0.
    pub index: u32,
    /// The task's parallelism.
    pub parallelism: u32,
}

impl fmt::Display for CheckpointSubtask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (uid {}) subtask {}/{}",
            self.task,
            self.uid,
            self.index + 1,
            self.parallelism
        )
    }
}

/// What failed in a subtask that declined a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeclineCause {
    /// The task's snapshot failed; the source is the task's error.
    #[error("its snapshot failed: {0}")]
    Snapshot(FailureSource),
    /// Its state could not be written; the source is the storage's error, naming the file.
    #[error("its state could not be written: {0}")]
    StateWrite(FailureSource),
    /// The thread writing its state panicked.
    #[error("its state writer panicked: {0}")]
    WriterPanicked(FailureSource),
}

/// The error behind a failure, kept whole and shared (so a reason stays `Clone`).
///
/// Two sources are equal when their display texts are: statistics compare what they say, not
/// which allocation they came from. [`FailureSource::downcast_ref`] gives the typed error back.
#[derive(Clone)]
pub struct FailureSource(Arc<dyn Error + Send + Sync>);

impl FailureSource {
    /// Wraps `error`.
    pub fn new(error: impl Error + Send + Sync + 'static) -> FailureSource {
        FailureSource(Arc::new(error))
    }

    /// The error itself.
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.0.as_ref()
    }

    /// The error as a `T`, if it is one.
    pub fn downcast_ref<T: Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl From<Arc<dyn Error + Send + Sync>> for FailureSource {
    fn from(error: Arc<dyn Error + Send + Sync>) -> FailureSource {
        FailureSource(error)
    }
}

impl fmt::Display for FailureSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for FailureSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq for FailureSource {
    fn eq(&self, other: &FailureSource) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for FailureSource {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::storage::StorageError;

    fn storage_error() -> StorageError {
        StorageError::Io {
            operation: "create",
            path: "/data/chk-3/map-0".into(),
            reason: "No space left on device".into(),
        }
    }

    fn subtask() -> CheckpointSubtask {
        CheckpointSubtask {
            task: "Map".into(),
            uid: "parse".into(),
            index: 1,
            parallelism: 4,
        }
    }

    #[test]
    fn a_decline_names_the_operator_uid_the_subtask_and_the_file() {
        let reason = CheckpointFailureReason::Declined {
            subtask: subtask(),
            cause: DeclineCause::StateWrite(FailureSource::new(storage_error())),
        };
        let text = reason.to_string();
        assert!(text.contains("uid parse"), "{text}");
        assert!(text.contains("subtask 2/4"), "{text}");
        assert!(text.contains("/data/chk-3/map-0"), "{text}");
    }

    #[test]
    fn a_failure_source_gives_back_the_typed_error() {
        let source = FailureSource::new(storage_error());
        assert!(matches!(
            source.downcast_ref::<StorageError>(),
            Some(StorageError::Io {
                operation: "create",
                ..
            })
        ));
    }

    #[test]
    fn failure_sources_with_the_same_text_are_equal() {
        let a = CheckpointFailureReason::MetadataWrite(FailureSource::new(storage_error()));
        let b = CheckpointFailureReason::MetadataWrite(FailureSource::new(storage_error()));
        assert_eq!(a, b);
        let other = StorageError::NotFound {
            path: "/elsewhere".into(),
        };
        assert_ne!(
            a,
            CheckpointFailureReason::MetadataWrite(FailureSource::new(other))
        );
    }

    #[test]
    fn only_expired_declined_and_metadata_failures_count() {
        let counted = [
            CheckpointFailureReason::Expired(Duration::from_secs(1)),
            CheckpointFailureReason::MetadataWrite(FailureSource::new(storage_error())),
            CheckpointFailureReason::Declined {
                subtask: subtask(),
                cause: DeclineCause::Snapshot(FailureSource::new(storage_error())),
            },
        ];
        assert!(counted.iter().all(|r| r.counts_as_failure()));
        let ignored = [
            CheckpointFailureReason::Subsumed,
            CheckpointFailureReason::NoRunningSources,
            CheckpointFailureReason::JobTerminating,
            CheckpointFailureReason::TaskFailure,
            CheckpointFailureReason::TooManyConcurrent,
        ];
        assert!(ignored.iter().all(|r| !r.counts_as_failure()));
    }
}
