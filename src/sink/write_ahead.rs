//! Exactly-once output through a write-ahead log (Flink's `GenericWriteAheadSink` with its
//! `CheckpointCommitter`), for a target that has transactions but cannot prepare them: the
//! records of each checkpoint are kept in the sink's operator state, and written only once that
//! checkpoint completed — in one transaction of the target together with a marker that says
//! this batch is written, so a restore that writes the batch again finds the marker and writes
//! nothing.
//!
//! Implement [`WriteAheadSink`] and apply it with
//! [`DataStream::sink_to_write_ahead`](crate::DataStream::sink_to_write_ahead). It runs on the
//! two-phase-commit operator ([`crate::sink::two_phase_commit`]), whose guarantees and threads
//! it shares: a batch is a transaction, its pre-commit is the snapshot that keeps its records,
//! its commit is [`WriteAheadSink::write_batch`].
//!
//! # What is and is not guaranteed
//! - A reader of the target sees a checkpoint's records all at once, after the checkpoint
//!   completed (later than with two-phase commit, which writes while the checkpoint runs).
//! - The records wait in memory and in every checkpoint until they are written: this sink
//!   costs state in proportion to what arrives between two checkpoints.
//! - Exactly-once needs [`write_batch`](WriteAheadSink::write_batch) to write the records and
//!   the marker atomically and to check the marker first.

use crate::error::BoxError;
use crate::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What [`WriteAheadSink::write_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// The records and the marker were written.
    Written,
    /// The marker was there already: an earlier attempt wrote the batch; nothing was written.
    AlreadyWritten,
}

/// A target written once per completed checkpoint, with a marker (Flink's
/// `GenericWriteAheadSink::sendValues` and `CheckpointCommitter` in one).
pub trait WriteAheadSink<T>: Send + 'static {
    /// Writes `records` and the marker `batch` (its [`TransactionId::name`] is unique within the
    /// job) in one transaction of the target, unless the marker is there already.
    fn write_batch(
        &mut self,
        batch: &TransactionId,
        records: &[T],
    ) -> Result<BatchOutcome, BoxError>;
}

/// One checkpoint's records, kept in the operator state until written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub struct WriteAheadBatch<T> {
    id: TransactionId,
    records: Vec<T>,
}

/// Runs a [`WriteAheadSink`] as a [`TwoPhaseCommitSink`].
pub(crate) struct WriteAhead<W>(pub(crate) W);

impl<T, W> TwoPhaseCommitSink<T> for WriteAhead<W>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    W: WriteAheadSink<T>,
{
    type Transaction = WriteAheadBatch<T>;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<Self::Transaction, BoxError> {
        Ok(WriteAheadBatch {
            id,
            records: Vec::new(),
        })
    }

    fn invoke(&mut self, batch: &mut Self::Transaction, record: T) -> Result<(), BoxError> {
        batch.records.push(record);
        Ok(())
    }

    fn invoke_batch(
        &mut self,
        batch: &mut Self::Transaction,
        records: Vec<T>,
    ) -> Result<(), BoxError> {
        batch.records.extend(records);
        Ok(())
    }

    /// The records are kept by the snapshot itself.
    fn pre_commit(&mut self, _: &mut Self::Transaction) -> Result<(), BoxError> {
        Ok(())
    }

    fn commit(&mut self, batch: &Self::Transaction) -> Result<(), BoxError> {
        if batch.records.is_empty() {
            return Ok(());
        }
        match self.0.write_batch(&batch.id, &batch.records)? {
            BatchOutcome::Written => {}
            BatchOutcome::AlreadyWritten => {
                tracing::info!("write-ahead batch {} was written before", batch.id);
            }
        }
        Ok(())
    }

    /// Nothing was written: the records are dropped with the batch.
    fn abort(&mut self, _: &Self::Transaction) -> Result<(), BoxError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target with markers: a batch is written once, whatever happens after.
    #[derive(Default)]
    struct Marked {
        markers: std::collections::BTreeSet<String>,
        rows: Vec<u32>,
    }

    impl WriteAheadSink<u32> for Marked {
        fn write_batch(
            &mut self,
            batch: &TransactionId,
            records: &[u32],
        ) -> Result<BatchOutcome, BoxError> {
            if !self.markers.insert(batch.name()) {
                return Ok(BatchOutcome::AlreadyWritten);
            }
            self.rows.extend_from_slice(records);
            Ok(BatchOutcome::Written)
        }
    }

    fn id(sequence: u64) -> TransactionId {
        TransactionId {
            job_id: "job".into(),
            operator_uid: "sink".into(),
            subtask: 0,
            run: 1,
            attempt: 0,
            sequence,
        }
    }

    #[test]
    fn a_batch_committed_again_by_a_restore_is_written_once() {
        let mut sink = WriteAhead(Marked::default());
        let mut batch = sink.begin_transaction(id(0)).expect("begins");
        sink.invoke_batch(&mut batch, vec![1, 2]).expect("keeps");
        sink.invoke(&mut batch, 3).expect("keeps");
        sink.pre_commit(&mut batch).expect("nothing to do");
        // The state keeps the records until the commit.
        let kept: WriteAheadBatch<u32> =
            postcard::from_bytes(&postcard::to_allocvec(&batch).expect("encodes"))
                .expect("decodes");
        sink.commit(&batch).expect("writes");
        sink.recover_and_commit(&kept).expect("finds the marker");
        assert_eq!(sink.0.rows, [1, 2, 3]);
    }

    #[test]
    fn an_empty_batch_writes_nothing_not_even_a_marker() {
        let mut sink = WriteAhead(Marked::default());
        let batch = sink.begin_transaction(id(1)).expect("begins");
        sink.commit(&batch).expect("commits");
        assert!(sink.0.markers.is_empty());
    }
}
