//! [`SourceReader`]: a typed source split read a batch at a time, and its type erasure for the task.

use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::task::operator::OperatorInfo;
use std::sync::Arc;
use weir_actors::graph::task::SourceStatus;
use weir_actors::metrics::OperatorCounters;
use weir_actors::{Batch, CheckpointId};

/// A typed source split, read a batch at a time.
pub trait SourceReader<T>: Send + 'static {
    /// Appends up to `max` records to `out`; returns [`SourceStatus::Finished`] once exhausted.
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError>;

    /// The reader's position (what it has read so far), for a checkpoint.
    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(Vec::new())
    }

    /// Moves the reader to a position [`SourceReader::snapshot_position`] returned, so it
    /// continues exactly after what the checkpoint covered. Readers that cannot do this fail the
    /// restore rather than replay from the start.
    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        let _ = position;
        Err(
            "this source cannot resume from a checkpoint (it does not implement restore_position)"
                .into(),
        )
    }

    /// Checkpoint `checkpoint` completed (a source may acknowledge what it covers). By default
    /// nothing.
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

/// A source reader with its record type erased.
pub trait ErasedSource: Send {
    /// Reads up to `max` records.
    fn poll(&mut self, max: usize) -> Result<(Batch, SourceStatus), TaskError>;
    /// The source's state in checkpoint `checkpoint` (see [`SourceReader::snapshot_position`]).
    fn snapshot_position(&mut self, checkpoint: CheckpointId) -> Result<Vec<u8>, TaskError>;
    /// See [`SourceReader::restore_position`]. A split source restores when it is built (it
    /// reads every old subtask's splits) and only checks its own bytes here.
    fn restore_position(&mut self, position: &[u8]) -> Result<(), TaskError>;
    /// See [`SourceReader::notify_checkpoint_complete`].
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError>;
    /// See [`SourceReader::notify_checkpoint_aborted`].
    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError>;
}

/// Builds one subtask's source reader.
pub type SourceFactory =
    Arc<dyn Fn(&OperatorInfo) -> Result<Box<dyn ErasedSource>, TaskError> + Send + Sync>;

struct ErasedReader<T, R> {
    reader: R,
    label: String,
    counters: Arc<OperatorCounters>,
    /// `(old, new)` parallelism when the job restores at another parallelism than the
    /// checkpoint's: a reader's single position then belongs to no subtask in particular.
    rescaled: Option<(usize, u32)>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + 'static, R: SourceReader<T>> ErasedSource for ErasedReader<T, R> {
    fn poll(&mut self, max: usize) -> Result<(Batch, SourceStatus), TaskError> {
        let mut out = Vec::with_capacity(max);
        let reader = &mut self.reader;
        let status =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.read(max, &mut out)))
                .map_err(|p| TaskError::from_panic(p).in_operator(&self.label))?
                .map_err(|e| {
                    let kind = crate::error::SuppressRestarts::kind_of(&e, TaskErrorKind::User);
                    TaskError::new(kind, e.to_string()).in_operator(&self.label)
                })?;
        self.counters.add_out(out.len());
        Ok((Batch::new(out), status))
    }

    fn snapshot_position(&mut self, _checkpoint: CheckpointId) -> Result<Vec<u8>, TaskError> {
        crate::task::operator::guarded(&self.label, TaskErrorKind::State, || {
            self.reader.snapshot_position()
        })
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        let reader = &mut self.reader;
        crate::task::operator::guarded(&self.label, TaskErrorKind::User, || {
            reader.notify_checkpoint_complete(checkpoint)
        })
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        let reader = &mut self.reader;
        crate::task::operator::guarded(&self.label, TaskErrorKind::User, || {
            reader.notify_checkpoint_aborted(checkpoint)
        })
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), TaskError> {
        if let Some((old, new)) = self.rescaled {
            // Old subtask i's position at new subtask i would lose or repeat input.
            return Err(TaskError::new(
                TaskErrorKind::SuppressRestarts,
                format!(
                    "this source keeps one position per subtask and cannot be restored at \
                     parallelism {new} from a checkpoint taken at {old}: restore it at {old}, \
                     or use a split source (env.from_source), whose splits are redistributed"
                ),
            )
            .in_operator(&self.label));
        }
        let reader = &mut self.reader;
        crate::task::operator::guarded(&self.label, TaskErrorKind::State, || {
            reader.restore_position(position)
        })
    }
}

pub(crate) fn encode_u64(x: u64) -> Result<Vec<u8>, BoxError> {
    Ok(postcard::to_allocvec(&x)?)
}

pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64, BoxError> {
    Ok(postcard::from_bytes(bytes)?)
}

/// Wraps a typed reader for `info`'s subtask.
pub fn erase_reader<T: Send + 'static, R: SourceReader<T>>(
    reader: R,
    info: &OperatorInfo,
) -> Box<dyn ErasedSource> {
    Box::new(ErasedReader {
        reader,
        label: info.label(),
        counters: info
            .subtask
            .metrics
            .operator(&info.name, &info.uid, info.subtask.index),
        rescaled: rescaled(info),
        _t: std::marker::PhantomData,
    })
}

/// `(old, new)` parallelism if `info`'s subtask restores at another parallelism.
fn rescaled(info: &OperatorInfo) -> Option<(usize, u32)> {
    (info.rescaled_from()).map(|old| (old as usize, info.subtask.parallelism))
}

/// The contiguous share `[start, end)` of `len` items that subtask `index` of `parallelism` reads.
pub fn split_range(len: u64, index: u32, parallelism: u32) -> (u64, u64) {
    let p = u64::from(parallelism.max(1));
    let i = u64::from(index);
    (
        (u128::from(len) * u128::from(i) / u128::from(p)) as u64,
        (u128::from(len) * u128::from(i + 1) / u128::from(p)) as u64,
    )
}
