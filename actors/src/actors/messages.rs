//! The messages the actors send each other: data-free control between the subtask, coordinator
//! and supervisor actors. Every actor holds `Recipient`s of what it sends, never another actor's type.

use crate::actors::job_status::JobStatus;
use crate::checkpoint::snapshot_kind::SavepointFormat;
use crate::checkpoint::stats::{CheckpointFailureReason, CheckpointStats, SubtaskCheckpointStats};
use crate::checkpoint::storage::StateHandle;
use crate::error::TaskFailure;
use crate::graph::subtask_key::SubtaskKey;
use crate::network::channel::{InputChannel, Outputs};
use crate::network::event::{CheckpointBarrier, CheckpointId};
use actix::prelude::*;
use tokio::sync::oneshot;

/// How a requested checkpoint ended.
pub type CheckpointOutcome = Result<CheckpointStats, CheckpointFailureReason>;

/// A subtask's state for checkpoint `id` is written.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AcknowledgeCheckpoint {
    /// The checkpoint.
    pub id: CheckpointId,
    /// The subtask.
    pub key: SubtaskKey,
    /// Where its state is.
    pub handle: StateHandle,
    /// Its figures.
    pub stats: SubtaskCheckpointStats,
}

/// A subtask cannot take part in checkpoint `id`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DeclineCheckpoint {
    /// The checkpoint.
    pub id: CheckpointId,
    /// The subtask.
    pub key: SubtaskKey,
    /// Why.
    pub reason: CheckpointFailureReason,
}

/// A source read everything and waits for a checkpoint covering its last records.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SourceExhausted {
    /// The source subtask.
    pub key: SubtaskKey,
}

/// The supervisor deployed (or redeployed) subtasks; the table holds every current subtask.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Deployed(pub Vec<Vec<DeployedSubtask>>);

/// Tasks failed and will restart: pending checkpoints are aborted and no checkpoint is triggered
/// until they are deployed again.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RegionFailed(pub Vec<usize>);

/// Every input of a subtask ended (for a source: it read everything and its last records are
/// covered): no barrier will reach it through its channels any more, so checkpoints ask it
/// directly; once every subtask's input ended, a final checkpoint covers what end of input
/// emitted.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct InputEnded(pub SubtaskKey);

/// A subtask finished: it will acknowledge nothing more.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct SubtaskDone(pub SubtaskKey);

/// The job ended with `status`: clean up as the retention setting says, then stop the system.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Terminate(pub JobStatus);

/// Trigger a checkpoint now (Flink's manual trigger); the receiver tells how it ended.
#[derive(Message)]
#[rtype(result = "oneshot::Receiver<CheckpointOutcome>")]
pub struct TriggerNow;

/// How a requested savepoint ended.
pub type SavepointOutcome = Result<
    crate::checkpoint::savepoint::CompletedSavepoint,
    crate::checkpoint::savepoint::SavepointError,
>;

/// Trigger a savepoint into `dir` now; the receiver tells how it ended.
#[derive(Message)]
#[rtype(result = "oneshot::Receiver<SavepointOutcome>")]
pub struct TriggerSavepoint {
    /// The directory the savepoint's own directory is created in.
    pub dir: std::path::PathBuf,
    /// Whether checkpointing ends with it (the job is stopping).
    pub stop: bool,
    /// Whether the sources end first and the savepoint is the final checkpoint after end of
    /// input (`stop --drain`).
    pub drain: bool,
    /// How its state is written.
    pub format: SavepointFormat,
}

/// A source subtask reads nothing more: its input ends, as if its source had read everything
/// (stop-with-savepoint with drain).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct EndSource;

/// Connects a subtask to its neighbours; sent once, before [`Start`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Wire {
    /// The sending ends of every output channel.
    pub outputs: Outputs,
    /// The receiving ends of every input channel, in channel index order.
    pub inputs: Vec<InputChannel>,
}

/// Begins processing: a source starts producing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Start;

/// Stops the subtask's actor at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Cancel;

/// Stops a subtask's actor at once without a report, as a crashed thread leaves an actor; the
/// actor's stop then reports the subtask as lost. Only a planned fault sends it.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Abandon;

/// A subtask read all its input and flushed all its output.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubtaskFinished {
    /// Which subtask.
    pub key: SubtaskKey,
}

/// A subtask failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubtaskFailed {
    /// Which subtask.
    pub key: SubtaskKey,
    /// Where and why.
    pub failure: TaskFailure,
}

/// More checkpoints failed in a row than the job tolerates.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CheckpointingFailed {
    /// The last failure.
    pub reason: CheckpointFailureReason,
    /// Consecutive failures counted.
    pub failures: u32,
}

/// The client asks to cancel the job.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CancelJob;

/// A stopping savepoint completed: the job ends `Finished` now, without end of input.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopJob;

/// The coordinator asks a source subtask to start checkpoint `barrier.id`.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct TriggerCheckpoint {
    /// The barrier to inject.
    pub barrier: CheckpointBarrier,
    /// A stopping savepoint's: the source reads nothing after the barrier (so nothing after
    /// the savepoint reaches any sink), unless the checkpoint is aborted.
    pub suspend_source: bool,
}

/// Checkpoint `id` is complete: commit what it covers.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct NotifyCheckpointComplete {
    /// The completed checkpoint.
    pub id: CheckpointId,
}

/// Checkpoint `id` was aborted.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct NotifyCheckpointAborted {
    /// The aborted checkpoint.
    pub id: CheckpointId,
}

/// The subtask's task is no longer busy (sent by its [`TaskWaker`]): read input again.
///
/// [`TaskWaker`]: crate::graph::task_waker::TaskWaker
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake;

/// A deployed subtask as the coordinator and the supervisor reach it: its key and the recipients
/// of the control messages they send it.
#[derive(Clone)]
pub(crate) struct DeployedSubtask {
    /// Its key (with its attempt).
    pub key: SubtaskKey,
    /// Where a checkpoint trigger (sources, ended inputs) goes.
    pub trigger: Recipient<TriggerCheckpoint>,
    /// Where a completion notice goes.
    pub complete: Recipient<NotifyCheckpointComplete>,
    /// Where an abort notice goes.
    pub aborted: Recipient<NotifyCheckpointAborted>,
    /// Where a cancellation goes.
    pub cancel: Recipient<Cancel>,
    /// Where the end of a source's input goes (a draining stop).
    pub end_source: Recipient<EndSource>,
}

/// What a subtask sends the coordinator.
#[derive(Clone)]
pub(crate) struct CoordinatorLink {
    /// Acknowledgements.
    pub ack: Recipient<AcknowledgeCheckpoint>,
    /// Declines.
    pub decline: Recipient<DeclineCheckpoint>,
    /// A source read everything.
    pub exhausted: Recipient<SourceExhausted>,
    /// Every input of a subtask ended.
    pub input_ended: Recipient<InputEnded>,
}

/// What a subtask sends the supervisor.
#[derive(Clone)]
pub(crate) struct SupervisorLink {
    /// The subtask finished.
    pub finished: Recipient<SubtaskFinished>,
    /// The subtask failed.
    pub failed: Recipient<SubtaskFailed>,
}

/// What the supervisor sends the coordinator.
#[derive(Clone)]
pub(crate) struct CoordinatorControl {
    /// Subtasks were (re)deployed.
    pub deployed: Recipient<Deployed>,
    /// Tasks failed and will restart.
    pub region_failed: Recipient<RegionFailed>,
    /// A subtask finished.
    pub subtask_done: Recipient<SubtaskDone>,
    /// The job ended.
    pub terminate: Recipient<Terminate>,
    /// Which checkpoint a restart starts from.
    pub latest: Recipient<LatestCompletedCheckpoint>,
}

/// Asks the coordinator for the newest checkpoint completed in this run. Sent by the supervisor
/// before it restarts tasks, after it reported their failure ([`RegionFailed`]): the coordinator
/// completes nothing between the two, so the answer is final for this restart.
#[derive(Message)]
#[rtype(result = "Option<CheckpointId>")]
pub(crate) struct LatestCompletedCheckpoint;
