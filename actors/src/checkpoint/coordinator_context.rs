//! The side effects of the checkpoint coordinator, behind a small trait: what
//! [`CheckpointCoordinator`] asks of the world. The coordinator actor implements it with
//! messages, tokio timers and the checkpoint storage; scenario tests implement it with a script.
//!
//! [`CheckpointCoordinator`]: crate::checkpoint::checkpoint_coordinator::CheckpointCoordinator

use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::checkpoint::stats::CheckpointStats;
use crate::checkpoint::storage::{CheckpointMetadata, StorageError};
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::{CheckpointBarrier, CheckpointId};
use std::path::PathBuf;
use tokio::time::Instant;

/// A manual trigger request, as the edge numbers them; its answer goes to
/// [`CoordinatorContext::answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RequestId(pub(crate) u64);

/// A timer the coordinator arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Timer {
    /// The one trigger timer: when it fires, a trigger is due
    /// ([`CheckpointCoordinator::on_trigger_timer`]).
    ///
    /// [`CheckpointCoordinator::on_trigger_timer`]: crate::checkpoint::checkpoint_coordinator::CheckpointCoordinator::on_trigger_timer
    Trigger,
    /// Checkpoint `id` expires ([`CheckpointCoordinator::on_timeout`]).
    ///
    /// [`CheckpointCoordinator::on_timeout`]: crate::checkpoint::checkpoint_coordinator::CheckpointCoordinator::on_timeout
    Timeout(CheckpointId),
}

/// What the coordinator tells a subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubtaskMessage {
    /// Take part in the checkpoint of this barrier (sources, and subtasks no barrier reaches).
    Trigger(CheckpointBarrier),
    /// Take part in a stopping savepoint's checkpoint: a source reads nothing after its
    /// barrier, unless the checkpoint is aborted (the job then goes on).
    TriggerAndSuspend(CheckpointBarrier),
    /// The source reads nothing more: its input ends (a draining stop).
    EndSource,
    /// The checkpoint completed: commit what it covers.
    Complete(CheckpointId),
    /// The checkpoint was aborted.
    Aborted(CheckpointId),
}

/// How a manual trigger request ended.
pub(crate) type RequestOutcome = Result<CheckpointStats, CheckpointFailureReason>;

/// The coordinator's side effects.
pub(crate) trait CoordinatorContext {
    /// The time now (tokio's clock at the edge, so a paused clock drives it).
    fn now(&self) -> Instant;

    /// Milliseconds since the Unix epoch, for the metadata's informational timestamp; never used
    /// for a decision.
    fn epoch_millis(&self) -> u64;

    /// Sends `message` to subtask `to` (nothing when it is no longer deployed).
    fn send(&mut self, to: SubtaskKey, message: SubtaskMessage);

    /// Writes checkpoint metadata, last and atomically; returns its size in bytes.
    fn write_metadata(&mut self, metadata: &CheckpointMetadata) -> Result<u64, StorageError>;

    /// Deletes everything of `checkpoint` from the storage.
    fn discard(&mut self, checkpoint: CheckpointId) -> Result<(), StorageError>;

    /// Deletes the snapshot the job restored from and claimed (`CLAIM`), now subsumed.
    fn dispose_claimed(&mut self) -> Result<(), StorageError>;

    /// Deletes shared files uploaded for `checkpoint` that no complete checkpoint refers to.
    fn discard_shared(
        &mut self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError>;

    /// Tells the supervisor that more checkpoints failed in a row than the job tolerates.
    fn report_failure(&mut self, reason: CheckpointFailureReason, failures: u32);

    /// Arms `timer` for `at`, replacing the same timer if it is armed.
    fn schedule(&mut self, timer: Timer, at: Instant);

    /// Disarms `timer` (nothing when it is not armed).
    fn cancel(&mut self, timer: Timer);

    /// A checkpoint ended (completed or failed): publish its statistics.
    fn checkpoint_ended(&mut self, stats: &CheckpointStats);

    /// Answers manual trigger `request`.
    fn answer(&mut self, request: RequestId, outcome: RequestOutcome);

    /// Copies the checkpoint `metadata` describes (every state written, its own metadata not
    /// yet) into a savepoint under `dir`. A context without a savepoint writer refuses.
    fn write_savepoint(
        &mut self,
        dir: &std::path::Path,
        metadata: &CheckpointMetadata,
    ) -> Result<(), StorageError> {
        let _ = metadata;
        Err(StorageError::Io {
            operation: "write",
            path: dir.to_path_buf(),
            reason: "this job has no savepoint writer".into(),
        })
    }
}
