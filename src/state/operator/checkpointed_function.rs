//! A function over a non-keyed stream with operator state (Flink's `CheckpointedFunction`), and
//! the operator that runs it.

use super::error::OperatorStateError;
use super::store::{OperatorStateContext, OperatorStateStore};
use crate::datastream::{DataStream, Record};
use crate::error::BoxError;
use crate::task::operator::{Operator, OperatorInfo, StateWriter};
use weir_actors::{CheckpointId, TaskError, TaskErrorKind};

/// A function over a non-keyed stream that keeps operator state: it declares its states in
/// [`CheckpointedFunction::open`] and keeps the handles (Flink's `CheckpointedFunction`, with
/// `open` in the role of `initializeState`). Apply it with [`DataStream::process_with_state`].
///
/// With checkpointing on, the states it declares are exactly-once: after any failure the job
/// restarts from the latest complete checkpoint and the states hold what they held at that
/// checkpoint's barrier.
pub trait CheckpointedFunction<I, O>: Send + 'static {
    /// Called once per subtask (again after every restart) before any record: declare states
    /// here; they already hold their restored contents.
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError>;

    /// Processes one record, appending what it emits to `out`.
    fn process_element(&mut self, value: I, out: &mut Vec<O>) -> Result<(), BoxError>;

    /// Called at each checkpoint's barrier before the states are snapshotted (Flink's
    /// `snapshotState`): bring state kept outside the handles into them. Does nothing unless
    /// overridden.
    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// Checkpoint `checkpoint` completed everywhere. Does nothing unless overridden.
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// Every input ended: emit what is still buffered. Does nothing unless overridden.
    fn end_of_input(&mut self, out: &mut Vec<O>) -> Result<(), BoxError> {
        let _ = out;
        Ok(())
    }
}

/// Opens a function against `info`'s operator state: the error of a failed `open` fails the
/// subtask, as a state error when it is an [`OperatorStateError`].
pub(crate) fn open_store(
    info: &OperatorInfo,
    open: impl FnOnce(&mut OperatorStateContext<'_>) -> Result<(), BoxError>,
) -> Result<OperatorStateStore, TaskError> {
    let mut store =
        OperatorStateStore::open(info).map_err(|e| TaskError::from(e).in_operator(info.label()))?;
    open(&mut store.context()).map_err(|e| {
        let kind = if e.downcast_ref::<OperatorStateError>().is_some() {
            TaskErrorKind::State
        } else {
            TaskErrorKind::User
        };
        TaskError::new(kind, format!("open failed: {e}")).in_operator(info.label())
    })?;
    Ok(store)
}

/// Runs a [`CheckpointedFunction`] with its operator state.
pub struct CheckpointedOperator<F> {
    function: F,
    store: OperatorStateStore,
}

impl<F> CheckpointedOperator<F> {
    /// Restores the operator state of `info`'s subtask and opens `function` on it.
    pub fn open<I, O>(mut function: F, info: &OperatorInfo) -> Result<Self, TaskError>
    where
        F: CheckpointedFunction<I, O>,
    {
        let store = open_store(info, |ctx| function.open(ctx))?;
        Ok(CheckpointedOperator { function, store })
    }
}

impl<I, O, F> Operator<I, O> for CheckpointedOperator<F>
where
    F: CheckpointedFunction<I, O>,
{
    fn process_batch(&mut self, input: Vec<I>, out: &mut Vec<O>) -> Result<(), BoxError> {
        for value in input {
            self.function.process_element(value, out)?;
        }
        Ok(())
    }

    fn end_of_input(&mut self, out: &mut Vec<O>) -> Result<(), BoxError> {
        self.function.end_of_input(out)
    }

    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        self.function.snapshot_state(checkpoint)?;
        Ok(Some(self.store.snapshot()))
    }

    /// Nothing to do: the state was restored when the operator opened, from every subtask's
    /// bytes (which union and broadcast state need), not only from `bytes`.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let _ = bytes;
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        self.function.notify_checkpoint_complete(checkpoint)
    }
}

impl<T: Record> DataStream<T> {
    /// Runs `function` on every record, with operator state (one clone of `function` per
    /// subtask, opened before the first record). Set the operator's [`DataStream::uid`] so its
    /// state is found again across restores of a changed job.
    pub fn process_with_state<O: Record, F>(&self, function: F) -> DataStream<O>
    where
        F: CheckpointedFunction<T, O> + Clone + Sync,
    {
        self.transform("Process", move |info| {
            CheckpointedOperator::open(function.clone(), info)
        })
    }
}
