//! Checkpoint statistics and failure reasons, as the coordinator records them and the job client
//! reads them.

use crate::network::event::CheckpointId;
use std::time::Duration;

/// Why a checkpoint did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointFailureReason {
    /// It did not complete within the checkpoint timeout.
    #[error("checkpoint expired before completing (timeout {0:?})")]
    Expired(Duration),
    /// A subtask declined it (its state could not be written, or it could not take part).
    #[error("declined by {subtask}: {reason}")]
    Declined {
        /// The subtask, as `task (uid) subtask i/p`.
        subtask: String,
        /// Why.
        reason: String,
    },
    /// A newer checkpoint overtook it during alignment.
    #[error("subsumed by a newer checkpoint")]
    Subsumed,
    /// Its metadata could not be written.
    #[error("metadata could not be written: {0}")]
    MetadataWrite(String),
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
    /// Whether this failure counts against the tolerable-failed-checkpoints limit (as in Flink,
    /// failures caused by the job's own lifecycle or by subsumption do not).
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            CheckpointFailureReason::Expired(_)
                | CheckpointFailureReason::Declined { .. }
                | CheckpointFailureReason::MetadataWrite(_)
        )
    }
}

/// One subtask's part in one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubtaskCheckpointStats {
    /// The task's name.
    pub task: String,
    /// Subtask index.
    pub subtask: u32,
    /// From the first barrier's arrival to the last (0 for sources and single inputs).
    pub alignment: Duration,
    /// The synchronous part of the snapshot (processing was paused for this long).
    pub sync_duration: Duration,
    /// The asynchronous part (serializing and writing), while processing went on.
    pub async_duration: Duration,
    /// Bytes of state written.
    pub state_size: u64,
}

/// Where a checkpoint stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointStatus {
    /// Triggered, not yet acknowledged by every subtask.
    InProgress,
    /// Complete: metadata written.
    Completed,
    /// Aborted, with the reason.
    Failed(CheckpointFailureReason),
}

/// The statistics of one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Its id.
    pub id: CheckpointId,
    /// When it was triggered, from the job's start (tokio time).
    pub trigger_time: Duration,
    /// From trigger to completion or abort.
    pub duration: Duration,
    /// Bytes of state of every subtask (metadata excluded).
    pub state_size: u64,
    /// Bytes of the metadata file.
    pub metadata_size: u64,
    /// Its status.
    pub status: CheckpointStatus,
    /// Per-subtask figures, for the subtasks that acknowledged.
    pub subtasks: Vec<SubtaskCheckpointStats>,
}

impl CheckpointStats {
    /// The longest alignment of any subtask.
    pub fn max_alignment(&self) -> Duration {
        self.subtasks
            .iter()
            .map(|s| s.alignment)
            .max()
            .unwrap_or_default()
    }
}
