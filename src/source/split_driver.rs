//! The task side of a [`SplitSource`]: restores and claims the subtask's splits, feeds its
//! reader the splits discovered later (off the subtask's thread), and records the splits'
//! positions in each checkpoint.

use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::source::reader::ErasedSource;
use crate::source::split_assignment::{RecordedSplit, SplitAssignment};
use crate::source::split_source::{
    Boundedness, DiscoveryContext, SourceSplit, SplitReader, SplitReaderContext, SplitSource,
};
use crate::task::operator::{guarded, OperatorInfo};
use crate::task::stream_task::ChainSnapshot;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use weir_actors::graph::task::SourceStatus;
use weir_actors::metrics::OperatorCounters;
use weir_actors::{Batch, CheckpointId};

/// Version of the split list a checkpoint records.
const SPLIT_STATE_VERSION: u32 = 1;

/// What a split source's subtask records in a checkpoint: its splits, each as id and bytes.
#[derive(Debug, Serialize, Deserialize)]
struct SplitState {
    version: u32,
    splits: Vec<RecordedSplit>,
}

/// Runs a [`SplitSource`]'s reader as a subtask's source.
pub(crate) struct SplitDriver<T, S: SplitSource<T>> {
    reader: S::Reader,
    assignment: SplitAssignment,
    bounded: bool,
    deterministic: bool,
    discovery: Discovery<T, S>,
    label: String,
    counters: Arc<OperatorCounters>,
    _t: PhantomData<fn() -> T>,
}

/// How a running unbounded source finds new splits.
enum Discovery<T, S: SplitSource<T>> {
    /// Only at start.
    None,
    /// On a thread of its own, which sends what it found and wakes the subtask; dropping `stop`
    /// ends it.
    Thread {
        found: Receiver<Vec<S::Split>>,
        _stop: Sender<()>,
    },
    /// In deterministic mode, on the subtask's thread at its polls, by virtual time.
    Inline {
        source: Arc<S>,
        context: DiscoveryContext,
        every: std::time::Duration,
        next: tokio::time::Instant,
        _t: PhantomData<fn() -> T>,
    },
}

/// Builds subtask `info`'s source of `source`: restores the splits the checkpoint gives it,
/// claims its share of the splits discovered now, and starts periodic discovery for an
/// unbounded source that asks for it.
pub(crate) fn drive_split_source<T: Send + 'static, S: SplitSource<T>>(
    source: Arc<S>,
    info: &OperatorInfo,
) -> Result<Box<dyn ErasedSource>, TaskError> {
    let label = info.label();
    let (index, parallelism) = (info.subtask.index, info.subtask.parallelism);
    let state_error = |e: BoxError| TaskError::new(TaskErrorKind::State, e.to_string());
    let (mut assignment, restored) = restored_splits(info).map_err(state_error)?;
    let restored = (restored.iter())
        .map(|(id, bytes)| {
            postcard::from_bytes::<S::Split>(bytes)
                .map_err(|e| format!("the checkpointed split {id:?} does not decode: {e}").into())
        })
        .collect::<Result<Vec<_>, BoxError>>()
        .map_err(|e| state_error(e).in_operator(&label))?;
    let context = DiscoveryContext {
        index,
        parallelism,
        restored: !info.restored_chain_states().is_empty(),
    };
    let mut reader = guarded(&label, TaskErrorKind::User, || {
        source.create_reader(SplitReaderContext {
            operator: label.clone(),
            uid: info.uid.clone(),
            job_id: info.subtask.job_id.clone(),
            index,
            parallelism,
            deterministic: info.subtask.deterministic,
            waker: info.subtask.waker.clone(),
            metrics: info.subtask.metrics.clone(),
        })
    })?;
    let discovered = guarded(&label, TaskErrorKind::User, || {
        source.discover_splits(&context)
    })?;
    let mut splits = restored;
    splits.extend(assignment.claim(discovered));
    guarded(&label, TaskErrorKind::User, || reader.add_splits(splits))?;
    let bounded = source.boundedness() == Boundedness::Bounded;
    let interval = source.discovery_interval().filter(|_| !bounded);
    let discovery = match interval {
        Some(every) if info.subtask.deterministic => Discovery::Inline {
            source,
            context,
            every,
            next: tokio::time::Instant::now() + every,
            _t: PhantomData,
        },
        Some(every) => {
            let (found, stop) = spawn_discovery(source, context, every, info, &label);
            Discovery::Thread { found, _stop: stop }
        }
        None => Discovery::None,
    };
    Ok(Box::new(SplitDriver::<T, S> {
        reader,
        assignment,
        bounded,
        deterministic: info.subtask.deterministic,
        discovery,
        counters: (info.subtask.metrics).operator(&info.name, &info.uid, index),
        label,
        _t: PhantomData,
    }))
}

/// The assignment and this subtask's recorded splits, from every old subtask's state.
fn restored_splits(info: &OperatorInfo) -> Result<(SplitAssignment, Vec<RecordedSplit>), BoxError> {
    let (index, parallelism) = (info.subtask.index, info.subtask.parallelism);
    let old = info.restored_chain_states();
    if old.is_empty() {
        return Ok((SplitAssignment::fresh(index, parallelism), Vec::new()));
    }
    let mut lists = Vec::with_capacity(old.len());
    for (i, state) in old.iter().enumerate() {
        let Some(bytes) = state else {
            lists.push(Vec::new());
            continue;
        };
        let chain = ChainSnapshot::decode(bytes).map_err(|e| e.message)?;
        lists.push(match chain.source {
            Some(source) => decode_state(&source)
                .map_err(|e| format!("old subtask {i}'s source splits: {e}"))?,
            None => Vec::new(),
        });
    }
    Ok(SplitAssignment::restored(&lists, index, parallelism))
}

/// The splits a split source's subtask recorded (its position in the chain's snapshot); an
/// error for any other bytes or another format version.
pub(crate) fn decode_state(bytes: &[u8]) -> Result<Vec<RecordedSplit>, BoxError> {
    let state: SplitState = postcard::from_bytes(bytes).map_err(|e| {
        format!("the checkpointed split list does not decode (not a split source's state?): {e}")
    })?;
    if state.version != SPLIT_STATE_VERSION {
        return Err(format!(
            "the checkpointed split list has format version {}, this weir reads {SPLIT_STATE_VERSION}",
            state.version
        )
        .into());
    }
    Ok(state.splits)
}

/// Looks for new splits every `every` on a thread of its own, sends them and wakes the
/// subtask; stops when the returned sender is dropped (the subtask's source went away).
fn spawn_discovery<T, S: SplitSource<T>>(
    source: Arc<S>,
    context: DiscoveryContext,
    every: std::time::Duration,
    info: &OperatorInfo,
    label: &str,
) -> (Receiver<Vec<S::Split>>, Sender<()>) {
    let (found_tx, found_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let waker = info.subtask.waker.clone();
    let operator = label.to_string();
    let spawned = std::thread::Builder::new()
        .name(format!("weir-discovery-{}", context.index))
        .spawn(move || loop {
            match stop_rx.recv_timeout(every) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            match source.discover_splits(&context) {
                Ok(splits) => {
                    if found_tx.send(splits).is_err() {
                        return;
                    }
                    waker.wake();
                }
                Err(e) => tracing::warn!(
                    operator = %operator,
                    "split discovery failed, trying again in {every:?}: {e}"
                ),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(operator = %label, "cannot start split discovery: {e}");
    }
    (found_rx, stop_tx)
}

impl<T: Send + 'static, S: SplitSource<T>> SplitDriver<T, S> {
    /// Hands the reader what discovery found since the last poll that this subtask owns.
    fn take_discovered(&mut self) -> Result<(), TaskError> {
        let mut mine = Vec::new();
        match &mut self.discovery {
            Discovery::None => {}
            Discovery::Thread { found, .. } => {
                while let Ok(splits) = found.try_recv() {
                    mine.extend(self.assignment.claim(splits));
                }
            }
            Discovery::Inline {
                source,
                context,
                every,
                next,
                ..
            } => {
                let now = tokio::time::Instant::now();
                if now >= *next {
                    *next = now + *every;
                    match source.discover_splits(context) {
                        Ok(splits) => mine.extend(self.assignment.claim(splits)),
                        Err(e) => {
                            tracing::warn!(operator = %self.label, "split discovery failed: {e}")
                        }
                    }
                }
            }
        }
        if mine.is_empty() {
            return Ok(());
        }
        let reader = &mut self.reader;
        guarded(&self.label, TaskErrorKind::User, || reader.add_splits(mine))
    }
}

impl<T: Send + 'static, S: SplitSource<T>> ErasedSource for SplitDriver<T, S> {
    fn poll(&mut self, max: usize) -> Result<(Batch, SourceStatus), TaskError> {
        self.take_discovered()?;
        let mut out = Vec::with_capacity(max.min(1 << 16));
        let reader = &mut self.reader;
        let status = guarded(&self.label, TaskErrorKind::User, || {
            reader.read(max, &mut out)
        })?;
        self.counters.add_out(out.len());
        let status = match status {
            // An unbounded source's subtask waits for splits discovered later: woken by the
            // discovery thread, or polled by virtual time in deterministic mode.
            SourceStatus::Finished if !self.bounded && self.deterministic => SourceStatus::Idle,
            SourceStatus::Finished if !self.bounded => SourceStatus::Pending,
            other => other,
        };
        Ok((Batch::new(out), status))
    }

    fn snapshot_position(&mut self, checkpoint: CheckpointId) -> Result<Vec<u8>, TaskError> {
        let reader = &mut self.reader;
        guarded(&self.label, TaskErrorKind::State, || {
            let splits = reader.snapshot_splits(checkpoint)?;
            let splits = (splits.iter())
                .map(|s| Ok((s.split_id(), postcard::to_allocvec(s)?)))
                .collect::<Result<Vec<_>, BoxError>>()?;
            Ok(postcard::to_allocvec(&SplitState {
                version: SPLIT_STATE_VERSION,
                splits,
            })?)
        })
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), TaskError> {
        // The splits were restored when the source was built; this only checks the bytes.
        guarded(&self.label, TaskErrorKind::State, || {
            decode_state(position).map(drop)
        })
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        let reader = &mut self.reader;
        guarded(&self.label, TaskErrorKind::User, || {
            reader.notify_checkpoint_complete(checkpoint)
        })
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        let reader = &mut self.reader;
        guarded(&self.label, TaskErrorKind::User, || {
            reader.notify_checkpoint_aborted(checkpoint)
        })
    }
}
