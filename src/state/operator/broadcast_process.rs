//! The broadcast state pattern (Flink's `BroadcastProcessFunction`): a main stream connected
//! with a broadcast stream; every subtask receives every broadcast element and keeps what it
//! learns from them in broadcast state, which the main stream's elements read.
//!
//! `main.connect(&rules)` tags the elements of both streams into one record type,
//! [`BroadcastInput`], and unions them: the main stream's elements keep their partitioning, the
//! broadcast stream goes through one tagging subtask and is then broadcast, so every subtask of
//! the process operator sees every broadcast element, and all of them in the same order.

use super::broadcast_state::{BroadcastState, BroadcastStateDescriptor, ReadOnlyBroadcastState};
use super::checkpointed_function::open_store;
use super::error::OperatorStateError;
use super::state_kind::OperatorStateValue;
use super::store::{OperatorStateContext, OperatorStateStore};
use crate::datastream::{DataStream, Record};
use crate::error::BoxError;
use crate::task::operator::{Operator, OperatorInfo, StateWriter};
use weir_actors::{CheckpointId, TaskError};

/// A record of a connected stream: an element of the main stream or of the broadcast stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BroadcastInput<I, B> {
    /// An element of the main stream: it reaches one subtask.
    Element(I),
    /// An element of the broadcast stream: it reaches every subtask.
    Broadcast(B),
}

/// What a main-stream element sees: broadcast state, read-only (Flink's `ReadOnlyContext`).
pub struct ReadOnlyContext<'a> {
    store: &'a mut OperatorStateStore,
    index: u32,
}

impl ReadOnlyContext<'_> {
    /// The broadcast state `descriptor` names, readable only (declared on first use).
    pub fn broadcast_state<K, V>(
        &mut self,
        descriptor: &BroadcastStateDescriptor<K, V>,
    ) -> Result<ReadOnlyBroadcastState<K, V>, OperatorStateError>
    where
        K: Ord + OperatorStateValue,
        V: OperatorStateValue,
    {
        self.store
            .broadcast(descriptor, None)
            .map(|s| s.read_only())
    }

    /// This subtask's index, from 0.
    pub fn subtask_index(&self) -> u32 {
        self.index
    }
}

/// What a broadcast element sees: broadcast state, read-write (Flink's `Context`).
pub struct BroadcastContext<'a> {
    store: &'a mut OperatorStateStore,
    index: u32,
}

impl BroadcastContext<'_> {
    /// The broadcast state `descriptor` names, readable and writable (declared on first use).
    pub fn broadcast_state<K, V>(
        &mut self,
        descriptor: &BroadcastStateDescriptor<K, V>,
    ) -> Result<BroadcastState<K, V>, OperatorStateError>
    where
        K: Ord + OperatorStateValue,
        V: OperatorStateValue,
    {
        self.store.broadcast(descriptor, None)
    }

    /// This subtask's index, from 0.
    pub fn subtask_index(&self) -> u32 {
        self.index
    }
}

/// A function over a main stream of `I` connected with a broadcast stream of `B` (Flink's
/// `BroadcastProcessFunction`). Apply it with [`BroadcastConnectedStream::process`].
///
/// Broadcast state is written only in [`BroadcastProcessFunction::process_broadcast_element`],
/// which every subtask runs for every broadcast element in the same order, so every subtask holds
/// the same state; it is checkpointed and every subtask restores a full copy. The relative order
/// of main and broadcast elements is not defined: an element may arrive before the broadcast
/// elements it needs (a function that must not miss them buffers such elements, e.g. in list
/// state declared in [`BroadcastProcessFunction::open`]).
pub trait BroadcastProcessFunction<I, B, O>: Send + 'static {
    /// Called once per subtask (again after every restart) before any record: declare operator
    /// states here if the function keeps any besides broadcast state. Does nothing unless
    /// overridden.
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Processes one element of the main stream, with read-only broadcast state.
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut ReadOnlyContext<'_>,
        out: &mut Vec<O>,
    ) -> Result<(), BoxError>;

    /// Processes one element of the broadcast stream, with read-write broadcast state.
    fn process_broadcast_element(
        &mut self,
        value: B,
        ctx: &mut BroadcastContext<'_>,
        out: &mut Vec<O>,
    ) -> Result<(), BoxError>;

    /// Called at each checkpoint's barrier before the states are snapshotted. Does nothing
    /// unless overridden.
    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// Both inputs ended: emit what is still buffered. Does nothing unless overridden.
    fn end_of_input(
        &mut self,
        ctx: &mut ReadOnlyContext<'_>,
        out: &mut Vec<O>,
    ) -> Result<(), BoxError> {
        let _ = (ctx, out);
        Ok(())
    }
}

/// Runs a [`BroadcastProcessFunction`] with its operator state.
pub struct BroadcastProcessOperator<F> {
    function: F,
    store: OperatorStateStore,
    index: u32,
}

impl<F> BroadcastProcessOperator<F> {
    /// Restores the operator state of `info`'s subtask and opens `function` on it.
    pub fn open<I, B, O>(mut function: F, info: &OperatorInfo) -> Result<Self, TaskError>
    where
        F: BroadcastProcessFunction<I, B, O>,
    {
        let store = open_store(info, |ctx| function.open(ctx))?;
        Ok(BroadcastProcessOperator {
            function,
            store,
            index: info.subtask.index,
        })
    }
}

impl<I, B, O, F> Operator<BroadcastInput<I, B>, O> for BroadcastProcessOperator<F>
where
    F: BroadcastProcessFunction<I, B, O>,
{
    fn process_batch(
        &mut self,
        input: Vec<BroadcastInput<I, B>>,
        out: &mut Vec<O>,
    ) -> Result<(), BoxError> {
        for record in input {
            match record {
                BroadcastInput::Element(value) => {
                    let mut ctx = ReadOnlyContext {
                        store: &mut self.store,
                        index: self.index,
                    };
                    self.function.process_element(value, &mut ctx, out)?;
                }
                BroadcastInput::Broadcast(value) => {
                    let mut ctx = BroadcastContext {
                        store: &mut self.store,
                        index: self.index,
                    };
                    self.function
                        .process_broadcast_element(value, &mut ctx, out)?;
                }
            }
        }
        Ok(())
    }

    fn end_of_input(&mut self, out: &mut Vec<O>) -> Result<(), BoxError> {
        let mut ctx = ReadOnlyContext {
            store: &mut self.store,
            index: self.index,
        };
        self.function.end_of_input(&mut ctx, out)
    }

    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        self.function.snapshot_state(checkpoint)?;
        Ok(Some(self.store.snapshot()))
    }

    /// Nothing to do: the state was restored when the operator opened.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let _ = bytes;
        Ok(())
    }
}

/// A main stream of `I` connected with a broadcast stream of `B` (Flink's
/// `BroadcastConnectedStream`), made by [`DataStream::connect`].
pub struct BroadcastConnectedStream<I, B> {
    tagged: DataStream<BroadcastInput<I, B>>,
}

impl<I: Record, B: Record> BroadcastConnectedStream<I, B> {
    /// Runs `function` over both streams (one clone per subtask). The result is the process
    /// operator's stream: set its uid, name and parallelism on it.
    pub fn process<O: Record, F>(&self, function: F) -> DataStream<O>
    where
        F: BroadcastProcessFunction<I, B, O> + Clone + Sync,
    {
        self.tagged.transform("BroadcastProcess", move |info| {
            BroadcastProcessOperator::open(function.clone(), info)
        })
    }
}

impl<T: Record> DataStream<T> {
    /// Connects this stream with `broadcast`, whose every element reaches every subtask of the
    /// operator applied next (with [`BroadcastConnectedStream::process`]); this stream's elements
    /// keep their partitioning. The broadcast elements pass through one tagging subtask first,
    /// so every subtask receives them in the same order (the broadcast stream is meant to be
    /// small: rules, configuration).
    pub fn connect<B: Record>(&self, broadcast: &DataStream<B>) -> BroadcastConnectedStream<T, B> {
        let main = self
            .map(BroadcastInput::<T, B>::Element)
            .name("Broadcast: tag element");
        let side = broadcast
            .map(BroadcastInput::<T, B>::Broadcast)
            .name("Broadcast: tag broadcast")
            .set_parallelism(1)
            .broadcast();
        BroadcastConnectedStream {
            tagged: main.union(&[side]),
        }
    }
}
