//! A collecting sink that exposes only output covered by a completed checkpoint — a stand-in for
//! a transactional (two-phase commit) sink, so exactly-once can be checked end to end.
//!
//! Records arriving between two barriers form one transaction. At the barrier of checkpoint `n`
//! the open transaction is pre-committed (kept in the operator's state under `n`); when `n`
//! completes, every pending transaction up to `n` is committed into the shared
//! [`CommittedCollector`]. On restore, the pending transactions of the restored checkpoint are
//! committed (it completed); commits are idempotent by transaction id, so a transaction committed
//! before the failure is not committed twice. Records of the open transaction at a failure are
//! dropped: the sources replay them.

use crate::error::BoxError;
use crate::sink::writer::SinkWriter;
use crate::task::operator::StateWriter;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use weir_actors::CheckpointId;

/// Identifies one transaction: the sink's uid, its subtask, and the checkpoint that pre-committed it.
pub type TransactionId = (String, u32, CheckpointId);

#[derive(Debug)]
struct Committed<T> {
    records: Vec<T>,
    transactions: BTreeSet<TransactionId>,
}

/// The committed output of one or more runs of a job (share it between a failed run and the run
/// that restores it, as an external transactional system would be shared).
#[derive(Debug)]
pub struct CommittedCollector<T> {
    inner: Arc<Mutex<Committed<T>>>,
}

impl<T> Clone for CommittedCollector<T> {
    fn clone(&self) -> Self {
        CommittedCollector {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for CommittedCollector<T> {
    fn default() -> Self {
        CommittedCollector {
            inner: Arc::new(Mutex::new(Committed {
                records: Vec::new(),
                transactions: BTreeSet::new(),
            })),
        }
    }
}

impl<T: Clone> CommittedCollector<T> {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every committed record, in commit order.
    pub fn records(&self) -> Vec<T> {
        self.inner.lock().records.clone()
    }

    /// How many records are committed.
    pub fn len(&self) -> usize {
        self.inner.lock().records.len()
    }

    /// Whether nothing is committed.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().records.is_empty()
    }

    /// Commits `records` as transaction `id`; returns false (and commits nothing) when `id` was
    /// already committed.
    fn commit(&self, id: TransactionId, records: Vec<T>) -> bool {
        let mut inner = self.inner.lock();
        if !inner.transactions.insert(id) {
            return false;
        }
        inner.records.extend(records);
        true
    }
}

/// The sink writer feeding a [`CommittedCollector`].
pub struct CommittedCollectWriter<T> {
    target: CommittedCollector<T>,
    uid: String,
    subtask: u32,
    open: Vec<T>,
    pending: BTreeMap<CheckpointId, Vec<T>>,
}

impl<T> CommittedCollectWriter<T> {
    /// A sink of uid `uid`, subtask `subtask`, committing into `target`.
    pub fn new(target: CommittedCollector<T>, uid: String, subtask: u32) -> Self {
        CommittedCollectWriter {
            target,
            uid,
            subtask,
            open: Vec::new(),
            pending: BTreeMap::new(),
        }
    }
}

impl<T> SinkWriter<T> for CommittedCollectWriter<T>
where
    T: Clone + Serialize + DeserializeOwned + Send + 'static,
{
    fn write(&mut self, record: T) -> Result<(), BoxError> {
        self.open.push(record);
        Ok(())
    }

    fn write_batch(&mut self, records: Vec<T>) -> Result<(), BoxError> {
        self.open.extend(records);
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        let transaction = std::mem::take(&mut self.open);
        self.pending.insert(checkpoint, transaction);
        let pending: Vec<(CheckpointId, Vec<T>)> =
            self.pending.iter().map(|(k, v)| (*k, v.clone())).collect();
        Ok(Some(Box::new(move || Ok(postcard::to_allocvec(&pending)?))))
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let pending: Vec<(CheckpointId, Vec<T>)> = postcard::from_bytes(bytes)?;
        // The restored checkpoint completed, so every transaction it holds is committed now
        // (idempotently: one committed before the failure is skipped).
        for (id, records) in pending {
            self.target
                .commit((self.uid.clone(), self.subtask, id), records);
        }
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let later = self.pending.split_off(&(checkpoint + 1));
        for (id, records) in std::mem::replace(&mut self.pending, later) {
            self.target
                .commit((self.uid.clone(), self.subtask, id), records);
        }
        Ok(())
    }
}
