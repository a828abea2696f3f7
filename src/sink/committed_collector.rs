//! A collecting sink that exposes only output covered by a completed checkpoint: an in-memory
//! [`TwoPhaseCommitSink`], so exactly-once can be checked end to end without a database.
//!
//! Records arriving between two barriers form one transaction, kept (with its records) in the
//! operator state once the barrier pre-committed it; when its checkpoint completes it is
//! committed into the shared [`CommittedCollector`]. Commits are idempotent by transaction id,
//! so a restore that commits a transaction again adds nothing. Records of the open transaction
//! at a failure are dropped: the sources replay them.

use crate::error::BoxError;
use crate::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug)]
struct Committed<T> {
    records: Vec<T>,
    transactions: BTreeSet<TransactionId>,
    commits: Vec<(TransactionId, usize)>,
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
                commits: Vec::new(),
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

    /// Every committed transaction, in commit order, with how many records it held.
    pub fn transactions(&self) -> Vec<(TransactionId, usize)> {
        self.inner.lock().commits.clone()
    }

    /// Commits `records` as transaction `id`; returns false (and commits nothing) when `id` was
    /// already committed.
    fn commit(&self, id: &TransactionId, records: &[T]) -> bool {
        let mut inner = self.inner.lock();
        if !inner.transactions.insert(id.clone()) {
            return false;
        }
        inner.records.extend_from_slice(records);
        inner.commits.push((id.clone(), records.len()));
        true
    }
}

/// One transaction of a [`CommittedCollector`]'s sink: its records, kept until committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub struct CollectorTransaction<T> {
    id: TransactionId,
    records: Vec<T>,
}

/// The two-phase-commit sink feeding a [`CommittedCollector`].
pub struct CommittedCollectSink<T> {
    target: CommittedCollector<T>,
}

impl<T> CommittedCollectSink<T> {
    /// A sink committing into `target`.
    pub fn new(target: CommittedCollector<T>) -> Self {
        CommittedCollectSink { target }
    }
}

impl<T> TwoPhaseCommitSink<T> for CommittedCollectSink<T>
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Transaction = CollectorTransaction<T>;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<Self::Transaction, BoxError> {
        Ok(CollectorTransaction {
            id,
            records: Vec::new(),
        })
    }

    fn invoke(&mut self, txn: &mut Self::Transaction, record: T) -> Result<(), BoxError> {
        txn.records.push(record);
        Ok(())
    }

    fn invoke_batch(
        &mut self,
        txn: &mut Self::Transaction,
        records: Vec<T>,
    ) -> Result<(), BoxError> {
        txn.records.extend(records);
        Ok(())
    }

    /// The records are kept by the snapshot itself.
    fn pre_commit(&mut self, _: &mut Self::Transaction) -> Result<(), BoxError> {
        Ok(())
    }

    /// Idempotent by id: a transaction committed before a failure is not committed twice.
    fn commit(&mut self, txn: &Self::Transaction) -> Result<(), BoxError> {
        self.target.commit(&txn.id, &txn.records);
        Ok(())
    }

    fn abort(&mut self, _: &Self::Transaction) -> Result<(), BoxError> {
        Ok(())
    }
}
