//! Idempotent output: every record is written under a deterministic key (`INSERT … ON CONFLICT
//! DO UPDATE`, `… ON DUPLICATE KEY UPDATE`), so writing it again after a restore overwrites it
//! with the same value.
//!
//! Implement [`UpsertSink`] and apply it with
//! [`DataStream::sink_to_upsert`](crate::DataStream::sink_to_upsert). Records are buffered and
//! written in batches of the configured size, and at every checkpoint barrier and at end of
//! input whatever is buffered is written before the checkpoint is acknowledged, so a complete
//! checkpoint covers every record before its barrier. It runs on the two-phase-commit operator
//! ([`crate::sink::two_phase_commit`]) for its thread: writes never block the arbiter.
//!
//! # What is and is not guaranteed
//! - **Eventually consistent on replay.** After a failure the records since the last complete
//!   checkpoint are written again: a reader can see a key go back to an older value and forward
//!   again while the job catches up; once it has, every key holds what a failure-free run
//!   writes (if the value a key ends with depends only on the records, not on their timing).
//! - Records of the same key must reach the same subtask (key the stream first), or two
//!   subtasks race on the key.

use crate::error::BoxError;
use crate::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};

/// A target written by key (an upsert), where writing a record twice leaves what writing it
/// once does.
pub trait UpsertSink<T>: Send + 'static {
    /// Writes `records`, in order, durably (committed) before it returns.
    fn upsert(&mut self, records: &[T]) -> Result<(), BoxError>;
}

/// Runs an [`UpsertSink`] as a [`TwoPhaseCommitSink`]: a transaction is only a name; the
/// buffer is written when it is full and at every pre-commit.
pub(crate) struct Upserting<T, U> {
    pub(crate) sink: U,
    pub(crate) batch_size: usize,
    pub(crate) buffer: Vec<T>,
}

impl<T, U: UpsertSink<T>> Upserting<T, U> {
    fn flush(&mut self) -> Result<(), BoxError> {
        if !self.buffer.is_empty() {
            self.sink.upsert(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl<T: Send + 'static, U: UpsertSink<T>> TwoPhaseCommitSink<T> for Upserting<T, U> {
    type Transaction = TransactionId;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<TransactionId, BoxError> {
        Ok(id)
    }

    fn invoke(&mut self, _: &mut TransactionId, record: T) -> Result<(), BoxError> {
        self.buffer.push(record);
        if self.buffer.len() >= self.batch_size.max(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn pre_commit(&mut self, _: &mut TransactionId) -> Result<(), BoxError> {
        self.flush()
    }

    fn commit(&mut self, _: &TransactionId) -> Result<(), BoxError> {
        Ok(())
    }

    fn abort(&mut self, _: &TransactionId) -> Result<(), BoxError> {
        self.buffer.clear();
        Ok(())
    }

    /// Without checkpointing no barrier comes: the end of input writes what is buffered.
    fn finish(&mut self, _: &mut TransactionId) -> Result<(), BoxError> {
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Table {
        writes: Vec<Vec<u32>>,
    }

    impl UpsertSink<u32> for Table {
        fn upsert(&mut self, records: &[u32]) -> Result<(), BoxError> {
            self.writes.push(records.to_vec());
            Ok(())
        }
    }

    #[test]
    fn records_go_out_in_batches_and_whatever_is_buffered_at_the_barrier_and_the_end() {
        let mut sink = Upserting {
            sink: Table::default(),
            batch_size: 2,
            buffer: Vec::new(),
        };
        let id = TransactionId {
            job_id: "job".into(),
            operator_uid: "sink".into(),
            subtask: 0,
            run: 1,
            attempt: 0,
            sequence: 0,
        };
        let mut txn = sink.begin_transaction(id).expect("begins");
        sink.invoke_batch(&mut txn, vec![1, 2, 3]).expect("writes");
        sink.pre_commit(&mut txn).expect("flushes");
        sink.pre_commit(&mut txn)
            .expect("nothing buffered, nothing written");
        sink.invoke(&mut txn, 4).expect("buffers");
        sink.finish(&mut txn).expect("flushes");
        assert_eq!(sink.sink.writes, [vec![1, 2], vec![3], vec![4]]);
    }
}
