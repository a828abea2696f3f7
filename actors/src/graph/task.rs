//! The contract between the runtime and what a subtask computes.
//!
//! The `weir` crate implements [`Task`] for a chain of operators; the runtime calls it from the
//! subtask actor, one call at a time, and catches panics around every call.
//!
//! # Processing-time timers
//! A task with timers reports its earliest one through [`Task::next_timer`], as a tokio
//! [`Instant`]; the runtime asks again after every call that may change it and keeps one tokio
//! timer for it. When it is due (and the outputs have credit) the runtime calls
//! [`Task::on_timers`], which fires every timer due by then. Timers are tokio time, so in
//! deterministic mode they follow the paused, auto-advancing clock. After end of input the
//! runtime fires no more timers (as Flink fires no processing-time timers after end of input).

use crate::checkpoint::snapshot_kind::SnapshotKind;
use crate::checkpoint::storage::SharedFile;
use crate::error::TaskError;
use crate::graph::restored_checkpoint::RestoredCheckpoint;
use crate::metrics::MetricsRegistry;
use crate::network::channel::Outputs;
use crate::network::event::{Batch, CheckpointId};
use std::sync::Arc;
use tokio::time::Instant;

/// What a subtask knows about itself when its task is built.
#[derive(Debug, Clone)]
pub struct SubtaskInfo {
    /// The job's id (its directory under the checkpoint directory; the job's name when
    /// checkpointing is off).
    pub job_id: String,
    /// The id this run of the job gives its first checkpoint: above every checkpoint id an
    /// earlier run left in the same storage. With [`attempt`](Self::attempt) it tells this
    /// deployment of the subtask apart from every earlier one (two-phase-commit sinks build
    /// transaction ids from both, so an id is never reused).
    pub first_checkpoint_id: CheckpointId,
    /// The task's name.
    pub task_name: String,
    /// Subtask index, from 0.
    pub index: u32,
    /// The task's parallelism.
    pub parallelism: u32,
    /// The job's max parallelism (number of key groups).
    pub max_parallelism: u32,
    /// How many times this subtask has been (re)started; 0 for the first run.
    pub attempt: u32,
    /// Channel count of each output edge, in edge order.
    pub output_channels: Vec<usize>,
    /// Where the task registers its operators' counters.
    pub metrics: Arc<MetricsRegistry>,
    /// When the job started, on tokio's clock (virtual time in deterministic mode): the origin of
    /// the job clock that processing-time timers use.
    pub job_start: tokio::time::Instant,
    /// The number of this execution of a job within the process (every `execute`/`spawn` has
    /// its own; restarts within it keep it): what tells two jobs of the same id running at
    /// once in one process apart.
    pub execution: u64,
    /// Whether the job runs in deterministic mode (one thread, a paused and auto-advancing
    /// clock): a task then does its work inline rather than on threads of its own, which
    /// virtual time would not wait for.
    pub deterministic: bool,
    /// Wakes this subtask once its task, having said it is busy ([`Task::is_busy`]), can take
    /// input again.
    pub waker: crate::graph::task_waker::TaskWaker,
    /// The checkpoint or savepoint the job restores from, if any. A task finds each of its
    /// operators' state in it by the operator's uid
    /// ([`RestoredCheckpoint::operator_chain_states`]), wherever the operator was chained when
    /// it was taken and at whatever parallelism.
    pub restored: Option<Arc<RestoredCheckpoint>>,
}

/// What a source reports after one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// It may have more records; poll again.
    More,
    /// Nothing to read right now: poll again after a short pause (1 ms of tokio time), so an
    /// idle source lets time pass instead of spinning. For a source that cannot tell when data
    /// arrives; one that can returns [`SourceStatus::Pending`].
    Idle,
    /// Nothing to read right now, and the source calls its subtask's
    /// [`SubtaskInfo::waker`] once there is: the subtask polls it again only then (no polling
    /// loop, no thread held). Like [`std::task::Poll::Pending`], returning it without arranging
    /// a wake-up stalls the source. Checkpoint barriers are still injected while it waits.
    Pending,
    /// It is exhausted: end of input follows.
    Finished,
}

/// One subtask's computation, driven by its actor.
pub trait Task: Send + 'static {
    /// Whether this task is a source (no input gates; driven by [`Task::poll_source`]).
    fn is_source(&self) -> bool;

    /// Sources: emit at most one batch per output channel into `out`.
    fn poll_source(&mut self, out: &mut Outputs) -> Result<SourceStatus, TaskError> {
        let _ = out;
        Ok(SourceStatus::Finished)
    }

    /// Whether the task cannot take more input now (a sink's queue to its own thread is full).
    /// While it is busy the runtime reads no input and polls no source for it — upstream then
    /// runs out of credit, so memory stays bounded — and resumes when the task calls its
    /// [`SubtaskInfo::waker`]. Barriers and notifications still reach it.
    fn is_busy(&self) -> bool {
        false
    }

    /// Processes one batch that arrived on input gate `gate`.
    fn process(&mut self, gate: usize, batch: Batch, out: &mut Outputs) -> Result<(), TaskError>;

    /// Every input has ended (for a source: it is exhausted): flush what is buffered.
    fn end_of_input(&mut self, out: &mut Outputs) -> Result<(), TaskError>;

    /// Takes the synchronous part of the snapshot for checkpoint `id` (fixing a consistent view of
    /// the state) and returns the asynchronous part, which serializes it off the subtask's thread
    /// while processing goes on. An error declines the checkpoint (the subtask goes on, and the
    /// checkpoint counts against the tolerable failures), as an error of the asynchronous part
    /// does.
    ///
    /// `kind` says what the snapshot is for: a checkpoint, or a savepoint whose state must be
    /// written in the format it names ([`SnapshotKind::is_canonical`]).
    fn snapshot_state(
        &mut self,
        id: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<SnapshotWriter, TaskError> {
        let _ = (id, kind);
        Ok(Box::new(|| Ok(TaskSnapshot::default())))
    }

    /// Checkpoint `id` completed everywhere: publish what it covers.
    fn notify_checkpoint_complete(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        let _ = id;
        Ok(())
    }

    /// Checkpoint `id` was aborted: discard what only it covered. An error fails the subtask,
    /// as one of [`Task::notify_checkpoint_complete`] does.
    fn notify_checkpoint_aborted(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        let _ = id;
        Ok(())
    }

    /// The earliest pending processing-time timer, if any. The runtime asks after every call
    /// that may change it (a batch, timers firing, the start of a restored task).
    fn next_timer(&mut self) -> Option<Instant> {
        None
    }

    /// Fires every timer due at `now` (tokio time), in timestamp order, into `out`.
    fn on_timers(&mut self, now: Instant, out: &mut Outputs) -> Result<(), TaskError> {
        let _ = (now, out);
        Ok(())
    }
}

/// The asynchronous part of a snapshot: returns the state's bytes and the shared files they
/// refer to.
pub type SnapshotWriter = Box<dyn FnOnce() -> Result<TaskSnapshot, TaskError> + Send>;

/// What the asynchronous part of a subtask's snapshot produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskSnapshot {
    /// The state's bytes, which the runtime writes to the checkpoint storage.
    pub bytes: Vec<u8>,
    /// Files the state refers to in the storage's shared area (incremental checkpoints), already
    /// written there.
    pub shared: Vec<SharedFile>,
    /// Bytes of the files the state wrote into the checkpoint's own directory (a RocksDB
    /// snapshot's files), already written there: part of the checkpoint's size.
    pub files_bytes: u64,
}

impl TaskSnapshot {
    /// A snapshot of `bytes` alone.
    pub fn bytes(bytes: Vec<u8>) -> Self {
        TaskSnapshot {
            bytes,
            shared: Vec::new(),
            files_bytes: 0,
        }
    }
}

/// Builds a subtask's task; called again for each restart.
pub type TaskFactory = Arc<dyn Fn(&SubtaskInfo) -> Result<Box<dyn Task>, TaskError> + Send + Sync>;
