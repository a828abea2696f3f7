//! Checkpoint statistics, as the coordinator records them and the job client reads them. The
//! failure reasons live in [`crate::checkpoint::failure_reason`] and are re-exported here.

pub use crate::checkpoint::failure_reason::{
    CheckpointFailureReason, CheckpointSubtask, DeclineCause, FailureSource,
};
use crate::network::event::CheckpointId;
use std::time::Duration;

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
