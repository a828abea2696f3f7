//! [`SplitSource`]: a source made of splits (Flink's FLIP-27 `Source`, small). A split is one
//! independently readable part — a Kafka partition, a JetStream stream, a file — with its
//! position; each subtask reads the splits it owns through its [`SplitReader`].
//!
//! What weir does around them (see [`crate::source::split_driver`]):
//! - a subtask's checkpointed state is the list of its splits, each at the position after the
//!   last record it emitted before the barrier;
//! - on restore every split of the checkpoint goes to exactly one subtask, by the operator list
//!   state's redistribution rules (the same subtask at the same parallelism);
//! - splits that no checkpoint holds — at the first start, or discovered while running (a
//!   partition added) — go to subtask `assignment_key % parallelism`, which every subtask
//!   computes alike, so each split has exactly one reader without a coordinator;
//! - checkpoint completion and abort reach the reader (for acknowledgements).

use crate::error::BoxError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use weir_actors::graph::key_group::stable_hash;
use weir_actors::graph::task::SourceStatus;
use weir_actors::graph::task_waker::TaskWaker;
use weir_actors::metrics::MetricsRegistry;
use weir_actors::CheckpointId;

/// One independently readable part of a source together with its position: what a checkpoint
/// records for it and what a reader resumes from.
pub trait SourceSplit: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + 'static {
    /// A name unique among the source's splits and stable across runs (a Kafka partition:
    /// `orders-3`). A split discovered again under the same id is the same split.
    fn split_id(&self) -> String;

    /// Which subtask reads this split when no checkpoint assigned it:
    /// `assignment_key() % parallelism`. By default a stable hash of the id; numbered splits
    /// (partitions) return something that spreads them evenly.
    fn assignment_key(&self) -> u64 {
        stable_hash(self.split_id().as_str())
    }
}

/// Whether a source ends (Flink's `Boundedness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundedness {
    /// The source ends: a subtask finishes once every split it owns is read to its end. Splits
    /// are discovered once, at start.
    Bounded,
    /// The source runs until the job is cancelled; new splits may be discovered while it runs.
    ContinuousUnbounded,
}

/// What a source's split discovery knows of the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryContext {
    /// The source's parallelism.
    pub parallelism: u32,
    /// The subtask asking (every subtask discovers, and keeps what it owns).
    pub index: u32,
    /// Whether the job restored this source's splits from a checkpoint (the splits it recorded
    /// are read on from their positions, whatever the parallelism): a source whose splits are
    /// fixed when the job first starts — a range cut by the first parallelism — discovers
    /// none then, or a split cut anew would repeat part of one restored.
    pub restored: bool,
}

/// What a split reader gets from its subtask.
#[derive(Clone)]
pub struct SplitReaderContext {
    /// The source operator's `name [uid]`, for error messages.
    pub operator: String,
    /// The operator's uid.
    pub uid: String,
    /// The job's id.
    pub job_id: String,
    /// This subtask's index.
    pub index: u32,
    /// The source's parallelism.
    pub parallelism: u32,
    /// Whether the job runs in deterministic mode (no thread may then do the reading: read
    /// inline, or refuse the mode).
    pub deterministic: bool,
    /// Wakes the subtask after [`SourceStatus::Pending`]: call it once records (or the end of a
    /// split) became available, from any thread.
    pub waker: TaskWaker,
    /// The job's metrics.
    pub metrics: Arc<MetricsRegistry>,
}

impl fmt::Debug for SplitReaderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitReaderContext")
            .field("operator", &self.operator)
            .field("index", &self.index)
            .field("parallelism", &self.parallelism)
            .finish_non_exhaustive()
    }
}

/// A source made of splits. One value is shared by every subtask (and the discovery thread).
pub trait SplitSource<T>: Send + Sync + 'static {
    /// The split type, with its position.
    type Split: SourceSplit;
    /// The per-subtask reader.
    type Reader: SplitReader<T, Split = Self::Split>;

    /// Every split that exists now, each at the position a reader starts from when no
    /// checkpoint holds it (a Kafka partition at its starting offset). Called at each
    /// subtask's start and, for an unbounded source, every [`SplitSource::discovery_interval`];
    /// splits already known are ignored. An error at start fails the subtask (a topic that does
    /// not exist); an error of a later discovery is logged and tried again at the next interval.
    fn discover_splits(&self, context: &DiscoveryContext) -> Result<Vec<Self::Split>, BoxError>;

    /// Whether the source ends.
    fn boundedness(&self) -> Boundedness;

    /// How often an unbounded source looks for new splits while it runs; `None` (the default):
    /// only at start. Ignored for a bounded source.
    fn discovery_interval(&self) -> Option<Duration> {
        None
    }

    /// The reader of one subtask; it gets its splits through [`SplitReader::add_splits`].
    fn create_reader(&self, context: SplitReaderContext) -> Result<Self::Reader, BoxError>;
}

/// Reads the splits one subtask owns (Flink's `SourceReader`).
pub trait SplitReader<T>: Send + 'static {
    /// The split type, with its position.
    type Split: SourceSplit;

    /// Takes over `splits`, each to be read from its position: the restored splits and the
    /// subtask's share of the discovered ones at start, and later ones as they are discovered.
    fn add_splits(&mut self, splits: Vec<Self::Split>) -> Result<(), BoxError>;

    /// Appends up to `max` records to `out`. Returns [`SourceStatus::More`] when it may have
    /// more now, [`SourceStatus::Pending`] when it has nothing now and will call its context's
    /// waker once it has, [`SourceStatus::Idle`] to be polled again shortly, and
    /// [`SourceStatus::Finished`] when every split it was given is read to its end (the subtask
    /// then ends only if the source is bounded). A record appended here is covered by the next
    /// [`SplitReader::snapshot_splits`]: the positions it reports must lie after it.
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError>;

    /// Every split it was given, finished ones included, each at the position after the last
    /// record [`SplitReader::read`] returned — the state of checkpoint `checkpoint`.
    fn snapshot_splits(&mut self, checkpoint: CheckpointId) -> Result<Vec<Self::Split>, BoxError>;

    /// Checkpoint `checkpoint` completed: what it covers is committed downstream (a source may
    /// now acknowledge it to its server). By default nothing.
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// Checkpoint `checkpoint` was aborted. By default nothing.
    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }
}
