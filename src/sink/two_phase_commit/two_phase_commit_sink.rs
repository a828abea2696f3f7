//! [`TwoPhaseCommitSink`]: what a target implements to take records exactly once through
//! prepared transactions; the [module docs](super) say when each method is called.

use super::transaction_id::TransactionId;
use crate::error::BoxError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A target that takes records in transactions it can prepare, commit and abort (Flink's
/// `TwoPhaseCommitSinkFunction`).
///
/// Every method runs on the sink subtask's own thread (see the [module docs](super)); only
/// [`begin_transaction`](Self::begin_transaction), [`invoke`](Self::invoke),
/// [`pre_commit`](Self::pre_commit), [`commit`](Self::commit) and [`abort`](Self::abort) are
/// required.
pub trait TwoPhaseCommitSink<T>: Send + 'static {
    /// What the operator state keeps of a transaction, so that another process can commit or
    /// abort it: at least its [`TransactionId`] or the name derived from it.
    type Transaction: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    /// Begins transaction `id` (its name is [`TransactionId::name`], unique within the job).
    fn begin_transaction(&mut self, id: TransactionId) -> Result<Self::Transaction, BoxError>;

    /// Writes `record` in `transaction`.
    fn invoke(&mut self, transaction: &mut Self::Transaction, record: T) -> Result<(), BoxError>;

    /// Writes `records` in `transaction`, in order; by default one [`invoke`](Self::invoke)
    /// each.
    fn invoke_batch(
        &mut self,
        transaction: &mut Self::Transaction,
        records: Vec<T>,
    ) -> Result<(), BoxError> {
        for record in records {
            self.invoke(transaction, record)?;
        }
        Ok(())
    }

    /// Prepares `transaction` at a checkpoint barrier: after it returns, the transaction must
    /// survive a crash of this process and be committable from another one (`PREPARE
    /// TRANSACTION`, `XA PREPARE`, a flushed pending file). An error declines the checkpoint.
    fn pre_commit(&mut self, transaction: &mut Self::Transaction) -> Result<(), BoxError>;

    /// Commits a prepared `transaction`: its checkpoint completed. Retried on error.
    fn commit(&mut self, transaction: &Self::Transaction) -> Result<(), BoxError>;

    /// Aborts `transaction` (open or prepared) and discards what it wrote.
    fn abort(&mut self, transaction: &Self::Transaction) -> Result<(), BoxError>;

    /// Commits `transaction` on restore: its checkpoint completed, but this process does not
    /// know whether the commit happened. Must treat "not prepared any more" as "already
    /// committed" (PostgreSQL's SQLSTATE 42704, MariaDB's error 1397). By default
    /// [`commit`](Self::commit).
    fn recover_and_commit(&mut self, transaction: &Self::Transaction) -> Result<(), BoxError> {
        self.commit(transaction)
    }

    /// Aborts, on restore, the transaction that was open when the restored checkpoint was
    /// taken; "not there any more" is success. By default [`abort`](Self::abort).
    fn recover_and_abort(&mut self, transaction: &Self::Transaction) -> Result<(), BoxError> {
        self.abort(transaction)
    }

    /// The names of the transactions the target holds prepared whose name starts with
    /// `prefix` (a [`TransactionId::subtask_prefix`]): `pg_prepared_xacts`, `XA RECOVER`, the
    /// pending files of a directory. By default none (a target that keeps nothing prepared
    /// across a crash).
    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        let _ = prefix;
        Ok(Vec::new())
    }

    /// Aborts the prepared transaction called `name`, which a crashed deployment left and no
    /// complete checkpoint covers; "not there any more" is success.
    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        let _ = name;
        Ok(())
    }

    /// Every input ended; `transaction` is the open one, which the job's final checkpoint
    /// pre-commits and commits next. By default nothing.
    fn finish(&mut self, transaction: &mut Self::Transaction) -> Result<(), BoxError> {
        let _ = transaction;
        Ok(())
    }
}
