//! The task a chain of operators runs as: an optional source at its head, operators in chain
//! order, and a router that spreads the last operator's output over the output edges.

use crate::source::ErasedSource;
use crate::task::operator::ErasedOperator;
use crate::task::partitioner::ErasedRouter;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::time::Instant;
use weir_actors::checkpoint::snapshot_kind::SnapshotKind;
use weir_actors::graph::task::{SnapshotWriter, SourceStatus, Task, TaskSnapshot};
use weir_actors::network::channel::Outputs;
use weir_actors::{Batch, CheckpointId, TaskError, TaskErrorKind};

/// A chain's state in a checkpoint: the source's position and each stateful operator's state,
/// by operator uid.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChainSnapshot {
    /// The source's position, for a source chain.
    pub source: Option<Vec<u8>>,
    /// `(operator uid, state bytes)` of each stateful operator.
    pub operators: Vec<(String, Vec<u8>)>,
}

impl ChainSnapshot {
    /// Decodes a chain's state.
    pub fn decode(bytes: &[u8]) -> Result<ChainSnapshot, TaskError> {
        postcard::from_bytes(bytes).map_err(|e| {
            TaskError::new(
                TaskErrorKind::State,
                format!("checkpointed task state does not decode: {e}"),
            )
        })
    }
}

/// A [`ChainSnapshot`] read in place: its parts borrowed from the bytes it was decoded from.
#[derive(Debug, Deserialize)]
pub(crate) struct ChainSnapshotRef<'a> {
    /// The source's position, for a source chain.
    #[serde(borrow)]
    pub source: Option<&'a [u8]>,
    /// `(operator uid, state bytes)` of each stateful operator.
    #[serde(borrow)]
    pub operators: Vec<(&'a str, &'a [u8])>,
}

impl<'a> ChainSnapshotRef<'a> {
    /// Decodes a chain's state without copying it.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<ChainSnapshotRef<'a>, TaskError> {
        postcard::from_bytes(bytes).map_err(|e| {
            TaskError::new(
                TaskErrorKind::State,
                format!("checkpointed task state does not decode: {e}"),
            )
        })
    }

    /// The state of operator `uid`, if the chain holds one.
    pub(crate) fn operator(&self, uid: &str) -> Option<&'a [u8]> {
        self.operators
            .iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, s)| *s)
    }
}

/// One subtask of a chain.
pub struct StreamTask {
    /// The source at the chain's head, if it is a source chain.
    pub source: Option<Box<dyn ErasedSource>>,
    /// The chained operators, in order.
    pub operators: Vec<Box<dyn ErasedOperator>>,
    /// Where the last operator's output goes.
    pub router: Box<dyn ErasedRouter>,
    /// Records a source reads per poll.
    pub batch_size: usize,
}

impl StreamTask {
    fn push(&mut self, mut batch: Batch, from: usize, out: &mut Outputs) -> Result<(), TaskError> {
        for op in &mut self.operators[from..] {
            if batch.is_empty() {
                return Ok(());
            }
            batch = op.process(batch)?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.router.route(batch, out)
    }
}

impl Task for StreamTask {
    /// Busy while any operator of the chain is (a chained sink's queue is full).
    fn is_busy(&self) -> bool {
        self.operators.iter().any(|op| op.is_busy())
    }

    fn is_source(&self) -> bool {
        self.source.is_some()
    }

    fn poll_source(&mut self, out: &mut Outputs) -> Result<SourceStatus, TaskError> {
        let Some(source) = self.source.as_mut() else {
            return Ok(SourceStatus::Finished);
        };
        let (batch, status) = source.poll(self.batch_size)?;
        self.push(batch, 0, out)?;
        Ok(status)
    }

    fn process(&mut self, _gate: usize, batch: Batch, out: &mut Outputs) -> Result<(), TaskError> {
        self.push(batch, 0, out)
    }

    fn end_of_input(&mut self, out: &mut Outputs) -> Result<(), TaskError> {
        for i in 0..self.operators.len() {
            let batch = self.operators[i].end_of_input()?;
            self.push(batch, i + 1, out)?;
        }
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        id: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<SnapshotWriter, TaskError> {
        let source = match &mut self.source {
            Some(s) => Some(s.snapshot_position(id)?),
            None => None,
        };
        let mut writers = Vec::new();
        for op in &mut self.operators {
            if let Some(w) = op.snapshot(id, kind)? {
                writers.push((op.uid().to_string(), w));
            }
        }
        Ok(Box::new(move || {
            let mut operators = Vec::with_capacity(writers.len());
            let (mut shared, mut files_bytes) = (Vec::new(), 0);
            for (uid, write) in writers {
                let snapshot = write().map_err(|e| {
                    TaskError::new(TaskErrorKind::State, e.to_string()).in_operator(uid.as_str())
                })?;
                shared.extend(snapshot.shared);
                files_bytes += snapshot.files_bytes;
                operators.push((uid, snapshot.bytes));
            }
            let bytes =
                postcard::to_allocvec(&ChainSnapshot { source, operators }).map_err(|e| {
                    TaskError::new(
                        TaskErrorKind::State,
                        format!("cannot encode task state: {e}"),
                    )
                })?;
            Ok(TaskSnapshot {
                bytes,
                shared,
                files_bytes,
            })
        }))
    }

    fn notify_checkpoint_complete(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        if let Some(source) = &mut self.source {
            source.notify_checkpoint_complete(id)?;
        }
        for op in &mut self.operators {
            op.notify_complete(id)?;
        }
        Ok(())
    }

    fn notify_checkpoint_aborted(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        // Every operator hears of the abort, even after one failed; the first error is reported.
        let mut first_error = None;
        if let Some(Err(e)) = self
            .source
            .as_mut()
            .map(|s| s.notify_checkpoint_aborted(id))
        {
            first_error = Some(e);
        }
        for op in &mut self.operators {
            if let Err(e) = op.notify_aborted(id) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The earliest timer of any operator in the chain.
    fn next_timer(&mut self) -> Option<Instant> {
        self.operators
            .iter_mut()
            .filter_map(|op| op.next_timer())
            .min()
    }

    /// Fires each operator's due timers in chain order; what a firing emits goes down the chain.
    fn on_timers(&mut self, now: Instant, out: &mut Outputs) -> Result<(), TaskError> {
        for i in 0..self.operators.len() {
            if let Some(batch) = self.operators[i].on_timers(now)? {
                self.push(batch, i + 1, out)?;
            }
        }
        Ok(())
    }
}

impl StreamTask {
    /// Loads the chain's checkpointed state for subtask `index`: `source` and `operators` hold,
    /// for the source and for each operator in chain order, the state of every old subtask of
    /// the chain that held it when the snapshot was taken (see
    /// [`OperatorInfo::restored_chain_states`](crate::task::operator::OperatorInfo::restored_chain_states)).
    /// Each member restores from the old subtask of the same index, finding its own state there
    /// by its uid, whatever chain it was part of; a member the old subtask holds nothing for
    /// starts empty (at another parallelism, operators that rescale have already taken their
    /// share from every old subtask when they were opened).
    pub fn restore(
        &mut self,
        index: u32,
        source: &[Option<Arc<Vec<u8>>>],
        operators: &[&[Option<Arc<Vec<u8>>>]],
    ) -> Result<(), TaskError> {
        let at_index = |old: &[Option<Arc<Vec<u8>>>]| old.get(index as usize).cloned().flatten();
        if let (Some(reader), Some(chain)) = (self.source.as_mut(), at_index(source)) {
            if let Some(position) = ChainSnapshotRef::decode(&chain)?.source {
                reader.restore_position(position)?;
            }
        }
        for (op, old) in self.operators.iter_mut().zip(operators) {
            let Some(chain) = at_index(old) else {
                continue;
            };
            let snapshot = ChainSnapshotRef::decode(&chain)?;
            if let Some(state) = snapshot.operator(op.uid()) {
                op.restore(state)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_snapshot_reads_in_place_as_it_was_written() {
        let written = ChainSnapshot {
            source: Some(vec![7; 300]),
            operators: vec![("a".into(), vec![]), ("b".into(), vec![1, 2, 3])],
        };
        let bytes = postcard::to_allocvec(&written).expect("encodes");
        let read = ChainSnapshotRef::decode(&bytes).expect("decodes");
        assert_eq!(read.source, Some(&[7u8; 300][..]));
        assert_eq!(read.operator("a"), Some(&[][..]));
        assert_eq!(read.operator("b"), Some(&[1u8, 2, 3][..]));
        assert_eq!(read.operator("c"), None);
        assert!(ChainSnapshotRef::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
