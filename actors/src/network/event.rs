//! What travels on a data channel between two subtasks.

use crate::checkpoint::snapshot_kind::SnapshotKind;
use std::any::Any;

/// A batch of records of one type, type-erased for the runtime: the dataflow layer puts a
/// `Vec<T>` in and takes the same `Vec<T>` out; the runtime only reads its length.
pub struct Batch {
    records: Box<dyn Any + Send>,
    len: usize,
}

impl Batch {
    /// Wraps `records`.
    pub fn new<T: Send + 'static>(records: Vec<T>) -> Batch {
        let len = records.len();
        Batch {
            records: Box::new(records),
            len,
        }
    }

    /// The number of records in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records, if they are of type `T`; the batch back otherwise.
    pub fn downcast<T: Send + 'static>(self) -> Result<Vec<T>, Batch> {
        let len = self.len;
        match self.records.downcast::<Vec<T>>() {
            Ok(records) => Ok(*records),
            Err(records) => Err(Batch { records, len }),
        }
    }
}

/// Identifies a checkpoint; ids rise by one per trigger and are never reused within a job.
pub type CheckpointId = u64;

/// A checkpoint barrier: it cuts the stream into the records before checkpoint `id` and those after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointBarrier {
    /// The checkpoint this barrier belongs to.
    pub id: CheckpointId,
    /// Milliseconds since the job's start when the coordinator triggered it.
    pub timestamp_ms: u64,
    /// A checkpoint's, or a savepoint's in the format it asks for.
    pub kind: SnapshotKind,
}

/// One event on a channel, in channel order.
pub enum ChannelEvent {
    /// Records; each costs the sender one credit.
    Records(Batch),
    /// A checkpoint barrier; costs no credit, never overtakes records (aligned mode).
    Barrier(CheckpointBarrier),
    /// The sender will send nothing more on this channel. `drained`: its input was ended by a
    /// draining stop ([`JobClient::stop_with_savepoint_and_drain`](crate::JobClient::stop_with_savepoint_and_drain)),
    /// so the receiver fires its pending processing-time timers before its own end of input.
    EndOfInput {
        /// Ended by a draining stop.
        drained: bool,
    },
}

impl std::fmt::Debug for ChannelEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelEvent::Records(_) => f.write_str("Records(..)"),
            ChannelEvent::Barrier(b) => write!(f, "Barrier({})", b.id),
            ChannelEvent::EndOfInput { drained } => write!(f, "EndOfInput(drained: {drained})"),
        }
    }
}
