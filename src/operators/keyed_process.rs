//! Keyed processing: a function called per record with access to the state of the record's key,
//! and per processing-time timer of a key (see [`timer_service`]).

pub use crate::time::job_clock::JobClock;
pub use crate::time::timer_service::TimerService;

use crate::error::BoxError;
use crate::state::keyed::backend::KeyedStateBackend;
use crate::state::keyed::rescale::overlapping_snapshots;
use crate::state::keyed::{KeyedContext, RuntimeContext, ValueState};
use crate::state::state_key::{StateKey, StateValue};
use crate::task::operator::{Operator, OperatorInfo, SharedStateWriter};
use crate::time::timer_service::OperatorTimers;
use std::sync::Arc;
use tokio::time::Instant;
use weir_actors::checkpoint::snapshot_kind::SnapshotKind;
use weir_actors::graph::key_group::key_group_range;
use weir_actors::CheckpointId;

/// Extracts a record's key.
pub type KeySelector<T, K> = Arc<dyn Fn(&T) -> K + Send + Sync>;

/// A function over a keyed stream (Flink's `KeyedProcessFunction`): for each record it may read and
/// write the state of the record's key and emit any number of records.
pub trait KeyedProcessFunction<K, I, O>: Send + 'static {
    /// Called once per subtask before any record: register states here.
    fn open(&mut self, ctx: &mut RuntimeContext<'_, K>) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Processes one record of key `ctx.current_key()`, appending what it emits to `out`.
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Vec<O>,
    ) -> Result<(), BoxError>;

    /// A processing-time timer of key `ctx.current_key()` registered for `timestamp` (processing
    /// time in milliseconds, see [`timer_service`]) fired; the context reads and writes that key's state
    /// and may register or delete timers. Does nothing unless overridden.
    fn on_timer(
        &mut self,
        timestamp: u64,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Vec<O>,
    ) -> Result<(), BoxError> {
        let _ = (timestamp, ctx, out);
        Ok(())
    }
}

/// Runs a [`KeyedProcessFunction`] with its keyed state.
pub struct KeyedProcessOperator<K, I, F> {
    function: F,
    key_of: KeySelector<I, K>,
    backend: KeyedStateBackend<K>,
    timers: OperatorTimers,
    /// Restored at open from every overlapping old subtask (a rescale): the own-index state
    /// the task hands over later is already in.
    rescaled: bool,
}

impl<K: StateKey, I, F> KeyedProcessOperator<K, I, F> {
    /// Opens `function` (registering its states) for the subtask `info` describes.
    pub fn open<O>(
        mut function: F,
        key_of: KeySelector<I, K>,
        info: &OperatorInfo,
    ) -> Result<Self, BoxError>
    where
        F: KeyedProcessFunction<K, I, O>,
    {
        let s = &info.subtask;
        let range = key_group_range(s.max_parallelism, s.parallelism, s.index);
        let mut backend = KeyedStateBackend::open(info, range.clone())?;
        let timers = OperatorTimers::register(&mut backend)?;
        function.open(&mut RuntimeContext::new(&mut backend))?;
        // At another parallelism, the state comes from every old subtask whose key groups
        // overlap this subtask's, not from the old subtask of the same index.
        let rescaled = info.rescaled_from().is_some();
        if rescaled {
            let parts = overlapping_snapshots(
                &info.uid,
                info.restored_chain_states(),
                s.max_parallelism,
                &range,
            )?;
            let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            backend.restore_all(&parts)?;
        }
        Ok(KeyedProcessOperator {
            function,
            key_of,
            backend,
            timers,
            rescaled,
        })
    }
}

impl<K, I, O, F> Operator<I, O> for KeyedProcessOperator<K, I, F>
where
    K: StateKey,
    I: Send + 'static,
    F: KeyedProcessFunction<K, I, O>,
{
    fn process_batch(&mut self, input: Vec<I>, out: &mut Vec<O>) -> Result<(), BoxError> {
        for record in input {
            let key = (self.key_of)(&record);
            let mut ctx = KeyedContext {
                key: &key,
                backend: &mut self.backend,
            };
            self.function.process_element(record, &mut ctx, out)?;
        }
        self.check_state()
    }

    fn snapshot_state_with_files(
        &mut self,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<Option<SharedStateWriter>, BoxError> {
        let writer = self.backend.snapshot(checkpoint, kind)?;
        self.check_state()?;
        Ok(Some(writer))
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        self.backend.notify_complete(checkpoint);
        Ok(())
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        if self.rescaled {
            return Ok(());
        }
        self.backend.restore(bytes)
    }

    /// End of input: pending timers are dropped, as Flink fires no processing-time timer after
    /// end of input (a draining stop fires them just before, through `on_timers`).
    fn end_of_input(&mut self, _out: &mut Vec<O>) -> Result<(), BoxError> {
        self.timers.clear(&mut self.backend);
        Ok(())
    }

    fn next_timer(&mut self) -> Option<Instant> {
        self.timers.next(&mut self.backend)
    }

    /// Fires the timers due at `now` in timestamp order, each with its key as the current key.
    /// Timers registered by a firing for a time already passed fire in the next round.
    fn on_timers(&mut self, now: Instant, out: &mut Vec<O>) -> Result<(), BoxError> {
        let (now_ms, due) = self.timers.due(&mut self.backend, now);
        for _ in 0..due {
            let Some((timestamp, key)) = self.timers.pop_due(&mut self.backend, now_ms) else {
                break;
            };
            let mut ctx = KeyedContext {
                key: &key,
                backend: &mut self.backend,
            };
            self.function.on_timer(timestamp, &mut ctx, out)?;
        }
        self.check_state()
    }
}

impl<K: StateKey, I, F> KeyedProcessOperator<K, I, F> {
    /// Fails with the first error a state read or write hit (RocksDB), so what the call emitted
    /// after it is never sent.
    fn check_state(&mut self) -> Result<(), BoxError> {
        match self.backend.take_error() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}

/// A rolling reduce (Flink's `KeyedStream::reduce`): per key, folds each record into the value so
/// far and emits the new value.
pub struct ReduceFunction<F, T> {
    reduce: F,
    state: ValueState<T>,
}

impl<F: Clone, T> Clone for ReduceFunction<F, T> {
    fn clone(&self) -> Self {
        ReduceFunction {
            reduce: self.reduce.clone(),
            state: self.state.clone(),
        }
    }
}

impl<F, T> ReduceFunction<F, T> {
    /// Reduces with `reduce`.
    pub fn new(reduce: F) -> Self {
        ReduceFunction {
            reduce,
            state: ValueState::default(),
        }
    }
}

impl<K, T, F> KeyedProcessFunction<K, T, T> for ReduceFunction<F, T>
where
    K: StateKey,
    T: StateValue,
    F: FnMut(T, T) -> T + Send + 'static,
{
    fn open(&mut self, ctx: &mut RuntimeContext<'_, K>) -> Result<(), BoxError> {
        self.state = ctx.value_state("reduce")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: T,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Vec<T>,
    ) -> Result<(), BoxError> {
        let next = match self.state.value(ctx) {
            Some(acc) => (self.reduce)(acc, value),
            None => value,
        };
        self.state.update(ctx, next.clone());
        out.push(next);
        Ok(())
    }
}
