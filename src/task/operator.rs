//! Operators as the task sees them: each turns one input batch into one output batch. Typed
//! operators are wrapped into [`ErasedOperator`] so a chain of differently typed operators runs as
//! one task; the wrapper downcasts once per batch, counts records, and catches panics so a failure
//! names the exact operator.

use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::state::backend::BackendSettings;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tokio::time::Instant;
use weir_actors::checkpoint::snapshot_kind::SnapshotKind;
use weir_actors::graph::task::{SubtaskInfo, TaskSnapshot};
use weir_actors::metrics::OperatorCounters;
use weir_actors::{Batch, CheckpointId};

/// The asynchronous part of an operator's snapshot: serializes the view fixed by the synchronous
/// part, off the subtask's thread.
pub type StateWriter = Box<dyn FnOnce() -> Result<Vec<u8>, BoxError> + Send>;

/// The asynchronous part of a snapshot that may also upload shared files (an incremental RocksDB
/// checkpoint): returns the state's bytes and the shared files they refer to.
pub type SharedStateWriter = Box<dyn FnOnce() -> Result<TaskSnapshot, BoxError> + Send>;

/// What an operator instance knows about where it runs.
#[derive(Debug, Clone)]
pub struct OperatorInfo {
    /// The operator's name.
    pub name: String,
    /// The operator's uid.
    pub uid: String,
    /// The subtask it runs in.
    pub subtask: SubtaskInfo,
    /// The job's state backend, for keyed operators.
    pub(crate) backend: Arc<BackendSettings>,
    /// See [`OperatorInfo::restored_chain_states`].
    pub(crate) restored: Vec<Option<Arc<Vec<u8>>>>,
}

impl OperatorInfo {
    /// The state of every subtask of the chain that held this operator in the checkpoint or
    /// savepoint the job restores from, indexed by the subtask index it had then (`None` where
    /// a subtask left no state); each is a [`ChainSnapshot`](crate::task::stream_task::ChainSnapshot)
    /// holding this operator's state under its uid among the other chained operators'. Found
    /// by the operator's uid, so it is the same whether or not the operator is chained as it
    /// was; its length is the operator's parallelism then (0 when nothing is restored, or the
    /// operator is new). Operators that rescale read all of it; the bytes are shared, not
    /// copied.
    pub fn restored_chain_states(&self) -> &[Option<Arc<Vec<u8>>>] {
        &self.restored
    }

    /// The operator's parallelism in the snapshot the job restores from, when it had state
    /// there and the parallelism was another than now: the restore is a rescale.
    pub fn rescaled_from(&self) -> Option<u32> {
        let old = self.restored.len() as u32;
        (old != 0 && old != self.subtask.parallelism).then_some(old)
    }

    /// `name [uid]`, as errors name the operator.
    pub fn label(&self) -> String {
        format!("{} [{}]", self.name, self.uid)
    }
}

/// A typed operator: reads a batch of `I`, appends what it emits to `out`.
pub trait Operator<I, O>: Send + 'static {
    /// Processes one batch.
    fn process_batch(&mut self, input: Vec<I>, out: &mut Vec<O>) -> Result<(), BoxError>;

    /// Whether the operator cannot take another batch now (see
    /// [`weir_actors::graph::task::Task::is_busy`]); an operator that says so wakes its
    /// subtask through [`SubtaskInfo::waker`] once it can. By default never.
    fn is_busy(&self) -> bool {
        false
    }

    /// Every input ended: emit what is still buffered.
    fn end_of_input(&mut self, out: &mut Vec<O>) -> Result<(), BoxError> {
        let _ = out;
        Ok(())
    }

    /// Fixes a consistent view of the operator's state for `checkpoint` and returns the writer
    /// that serializes it; `None` for a stateless operator.
    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        let _ = checkpoint;
        Ok(None)
    }

    /// Like [`snapshot_state`](Self::snapshot_state), for an operator whose snapshot also
    /// writes files to the checkpoint storage's shared area (the RocksDB backend's incremental
    /// checkpoints), or depends on `kind` (a canonical savepoint's keyed state). By default,
    /// [`snapshot_state`](Self::snapshot_state)'s bytes alone; an operator overrides one of
    /// the two.
    fn snapshot_state_with_files(
        &mut self,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<Option<SharedStateWriter>, BoxError> {
        let _ = kind;
        Ok(self
            .snapshot_state(checkpoint)?
            .map(|write| Box::new(move || Ok(TaskSnapshot::bytes(write()?))) as SharedStateWriter))
    }

    /// Loads the state a writer of [`Operator::snapshot_state`] produced, before any record.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let _ = bytes;
        Ok(())
    }

    /// Checkpoint `checkpoint` completed: publish (commit) what it covers.
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// Checkpoint `checkpoint` was aborted. An error fails the subtask.
    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// The operator's earliest pending processing-time timer (tokio time), if any.
    fn next_timer(&mut self) -> Option<Instant> {
        None
    }

    /// Fires every timer due at `now` (tokio time), in timestamp order, appending what the
    /// firings emit to `out`.
    fn on_timers(&mut self, now: Instant, out: &mut Vec<O>) -> Result<(), BoxError> {
        let _ = (now, out);
        Ok(())
    }
}

/// An operator with its record types erased.
pub trait ErasedOperator: Send {
    /// The operator's uid.
    fn uid(&self) -> &str;
    /// Processes one batch, returning the batch it emits (possibly empty).
    fn process(&mut self, input: Batch) -> Result<Batch, TaskError>;
    /// See [`Operator::is_busy`].
    fn is_busy(&self) -> bool {
        false
    }
    /// Every input ended: returns what it still emits.
    fn end_of_input(&mut self) -> Result<Batch, TaskError>;
    /// See [`Operator::snapshot_state_with_files`].
    fn snapshot(
        &mut self,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<Option<SharedStateWriter>, TaskError>;
    /// See [`Operator::restore_state`].
    fn restore(&mut self, bytes: &[u8]) -> Result<(), TaskError>;
    /// See [`Operator::notify_checkpoint_complete`].
    fn notify_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError>;
    /// See [`Operator::notify_checkpoint_aborted`].
    fn notify_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError>;
    /// See [`Operator::next_timer`].
    fn next_timer(&mut self) -> Option<Instant> {
        None
    }
    /// See [`Operator::on_timers`]: returns what the firings emit, if anything.
    fn on_timers(&mut self, now: Instant) -> Result<Option<Batch>, TaskError> {
        let _ = now;
        Ok(None)
    }
}

/// Runs `f` with panics caught, turning a panic or an error into a [`TaskError`] naming `label`.
pub(crate) fn guarded<R>(
    label: &str,
    kind: TaskErrorKind,
    f: impl FnOnce() -> Result<R, BoxError>,
) -> Result<R, TaskError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            let kind = crate::error::SuppressRestarts::kind_of(&e, kind);
            Err(TaskError::new(kind, e.to_string()).in_operator(label))
        }
        Err(panic) => Err(TaskError::from_panic(panic).in_operator(label)),
    }
}

/// Builds one instance of an operator for a subtask.
pub type OperatorFactory =
    Arc<dyn Fn(&OperatorInfo) -> Result<Box<dyn ErasedOperator>, TaskError> + Send + Sync>;

/// Wraps a typed operator.
pub struct Erased<I, O, Op> {
    op: Op,
    label: String,
    uid: String,
    counters: Arc<OperatorCounters>,
    _types: std::marker::PhantomData<fn(I) -> O>,
}

impl<I, O, Op> Erased<I, O, Op>
where
    I: Send + 'static,
    O: Send + 'static,
    Op: Operator<I, O>,
{
    /// `op`, counting into the operator's counters of `info`'s subtask.
    pub fn boxed(op: Op, info: &OperatorInfo) -> Box<dyn ErasedOperator> {
        let counters = info
            .subtask
            .metrics
            .operator(&info.name, &info.uid, info.subtask.index);
        Box::new(Erased {
            op,
            label: info.label(),
            uid: info.uid.clone(),
            counters,
            _types: std::marker::PhantomData,
        })
    }

    fn run(
        &mut self,
        f: impl FnOnce(&mut Op, &mut Vec<O>) -> Result<(), BoxError>,
        capacity: usize,
    ) -> Result<Batch, TaskError> {
        let mut out = Vec::with_capacity(capacity);
        let op = &mut self.op;
        let result = catch_unwind(AssertUnwindSafe(|| f(op, &mut out)));
        match result {
            Ok(Ok(())) => {
                self.counters.add_out(out.len());
                Ok(Batch::new(out))
            }
            Ok(Err(e)) => {
                Err(TaskError::new(TaskErrorKind::User, e.to_string()).in_operator(&self.label))
            }
            Err(panic) => Err(TaskError::from_panic(panic).in_operator(&self.label)),
        }
    }
}

impl<I, O, Op> ErasedOperator for Erased<I, O, Op>
where
    I: Send + 'static,
    O: Send + 'static,
    Op: Operator<I, O>,
{
    fn is_busy(&self) -> bool {
        self.op.is_busy()
    }

    fn process(&mut self, input: Batch) -> Result<Batch, TaskError> {
        let input = input.downcast::<I>().map_err(|_| {
            TaskError::new(
                TaskErrorKind::Internal,
                "batch of an unexpected record type",
            )
            .in_operator(&self.label)
        })?;
        self.counters.add_in(input.len());
        let capacity = input.len();
        self.run(|op, out| op.process_batch(input, out), capacity)
    }

    fn end_of_input(&mut self) -> Result<Batch, TaskError> {
        self.run(|op, out| op.end_of_input(out), 0)
    }

    fn uid(&self) -> &str {
        &self.uid
    }

    fn snapshot(
        &mut self,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<Option<SharedStateWriter>, TaskError> {
        let op = &mut self.op;
        guarded(&self.label, TaskErrorKind::State, || {
            op.snapshot_state_with_files(checkpoint, kind)
        })
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), TaskError> {
        let op = &mut self.op;
        guarded(&self.label, TaskErrorKind::State, || {
            op.restore_state(bytes)
        })
    }

    fn notify_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        let op = &mut self.op;
        guarded(&self.label, TaskErrorKind::User, || {
            op.notify_checkpoint_complete(checkpoint)
        })
    }

    fn notify_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        let op = &mut self.op;
        guarded(&self.label, TaskErrorKind::User, || {
            op.notify_checkpoint_aborted(checkpoint)
        })
    }

    fn next_timer(&mut self) -> Option<Instant> {
        self.op.next_timer()
    }

    fn on_timers(&mut self, now: Instant) -> Result<Option<Batch>, TaskError> {
        self.run(|op, out| op.on_timers(now, out), 0).map(Some)
    }
}

/// `map`: one output per input.
pub struct MapOperator<F>(pub F);

impl<I, O, F> Operator<I, O> for MapOperator<F>
where
    F: FnMut(I) -> O + Send + 'static,
{
    fn process_batch(&mut self, input: Vec<I>, out: &mut Vec<O>) -> Result<(), BoxError> {
        out.extend(input.into_iter().map(&mut self.0));
        Ok(())
    }
}

/// `filter`: the inputs the predicate accepts.
pub struct FilterOperator<F>(pub F);

impl<T, F> Operator<T, T> for FilterOperator<F>
where
    F: FnMut(&T) -> bool + Send + 'static,
{
    fn process_batch(&mut self, input: Vec<T>, out: &mut Vec<T>) -> Result<(), BoxError> {
        let keep = &mut self.0;
        out.extend(input.into_iter().filter(|x| keep(x)));
        Ok(())
    }
}

/// `flat_map`: any number of outputs per input.
pub struct FlatMapOperator<F>(pub F);

impl<I, O, It, F> Operator<I, O> for FlatMapOperator<F>
where
    F: FnMut(I) -> It + Send + 'static,
    It: IntoIterator<Item = O>,
{
    fn process_batch(&mut self, input: Vec<I>, out: &mut Vec<O>) -> Result<(), BoxError> {
        for x in input {
            out.extend((self.0)(x));
        }
        Ok(())
    }
}
