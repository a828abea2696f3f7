//! A transactional file sink that fails at random (seeded) in chosen steps of the
//! two-phase-commit protocol, counting each failure it injects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use weir::sink::transactional_file::{FileTransaction, TransactionalFileSink};
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use weir::BoxError;

/// A step of the sink where [`Flaky`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Before writing a batch.
    Invoke,
    /// Before the pre-commit (the part is still in progress).
    PreCommit,
    /// After the commit renamed the parts (the retry or the restore finds them committed).
    AfterCommit,
    /// Before or after a restore's commit.
    RecoverCommit,
}

pub type Fired = Arc<Mutex<BTreeMap<Step, u64>>>;

/// The file sink, failing at random (seeded) in some steps.
pub struct Flaky {
    pub inner: TransactionalFileSink<u64>,
    pub rng: u64,
    pub per_mille: u64,
    pub fired: Fired,
}

impl Flaky {
    fn draw(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn maybe_fail(&mut self, step: Step) -> Result<(), BoxError> {
        // Writes are called once a batch, far more often than the other steps.
        let per_mille = match step {
            Step::Invoke => self.per_mille / 6,
            _ => self.per_mille,
        };
        if self.draw() % 1000 >= per_mille {
            return Ok(());
        }
        *self.fired.lock().expect("lock").entry(step).or_insert(0) += 1;
        Err(format!("injected failure at {step:?}").into())
    }
}

impl TwoPhaseCommitSink<u64> for Flaky {
    type Transaction = FileTransaction;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<FileTransaction, BoxError> {
        self.inner.begin_transaction(id)
    }

    fn invoke(&mut self, txn: &mut FileTransaction, record: u64) -> Result<(), BoxError> {
        self.invoke_batch(txn, vec![record])
    }

    fn invoke_batch(
        &mut self,
        txn: &mut FileTransaction,
        records: Vec<u64>,
    ) -> Result<(), BoxError> {
        self.maybe_fail(Step::Invoke)?;
        self.inner.invoke_batch(txn, records)
    }

    fn pre_commit(&mut self, txn: &mut FileTransaction) -> Result<(), BoxError> {
        self.maybe_fail(Step::PreCommit)?;
        self.inner.pre_commit(txn)
    }

    fn commit(&mut self, txn: &FileTransaction) -> Result<(), BoxError> {
        self.inner.commit(txn)?;
        self.maybe_fail(Step::AfterCommit)
    }

    fn abort(&mut self, txn: &FileTransaction) -> Result<(), BoxError> {
        self.inner.abort(txn)
    }

    fn recover_and_commit(&mut self, txn: &FileTransaction) -> Result<(), BoxError> {
        let before = self.draw() % 2 == 0;
        if before {
            self.maybe_fail(Step::RecoverCommit)?;
        }
        self.inner.recover_and_commit(txn)?;
        match before {
            true => Ok(()),
            false => self.maybe_fail(Step::RecoverCommit),
        }
    }

    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        self.inner.prepared_transactions(prefix)
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        self.inner.abort_prepared(name)
    }
}
