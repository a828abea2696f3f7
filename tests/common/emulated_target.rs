//! An in-memory target that behaves as a database with prepared transactions does (open →
//! prepared → committed, prepared transactions outliving their client, "not prepared" errors),
//! and the [`TwoPhaseCommitSink`] into it, which can fail on purpose at every step, from a seed.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use weir::BoxError;

/// Where a [`FlakySink`] fails, once each time its draw says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Writing a batch of records.
    Invoke,
    /// Preparing at a barrier.
    PreCommit,
    /// Committing on completion (every attempt of the retry fails).
    Commit,
    /// Committing on restore.
    RecoverCommit,
}

/// The target's content.
#[derive(Debug, Default)]
pub struct Tables {
    /// Rows of transactions begun and not prepared, by transaction name.
    pub open: BTreeMap<String, Vec<u64>>,
    /// Rows of prepared transactions, by name.
    pub prepared: BTreeMap<String, Vec<u64>>,
    /// Committed transactions, by name.
    pub committed: BTreeMap<String, Vec<u64>>,
    /// Committed rows, in commit order.
    pub rows: Vec<u64>,
    /// The checkpoint order of commits, per subtask: each commit's transaction's name.
    pub commit_order: Vec<String>,
    /// Failures injected, by step.
    pub fired: BTreeMap<Step, u64>,
}

/// A shared in-memory target.
#[derive(Debug, Clone, Default)]
pub struct Target(pub Arc<Mutex<Tables>>);

impl Target {
    /// Committed rows, sorted.
    pub fn sorted_rows(&self) -> Vec<u64> {
        let mut rows = self.0.lock().rows.clone();
        rows.sort_unstable();
        rows
    }
}

/// One transaction, as the operator state keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Txn {
    /// Its name.
    pub name: String,
}

/// A sink into a [`Target`] that fails at a step with probability `chance` per call (drawn
/// from `seed`, the subtask and its attempt).
pub struct FlakySink {
    /// The target.
    pub target: Target,
    /// The generator's state.
    pub rng: u64,
    /// The chance of a failure per call of a protocol step (pre-commit, commit, recovery), in
    /// 1/1000.
    pub per_mille: u64,
    /// The chance of a failure per batch written, in 1/1000.
    pub invoke_per_mille: u64,
    /// The steps that may fail.
    pub steps: Vec<Step>,
}

impl FlakySink {
    /// A sink that never fails.
    pub fn reliable(target: &Target) -> Self {
        FlakySink {
            target: target.clone(),
            rng: 1,
            per_mille: 0,
            invoke_per_mille: 0,
            steps: Vec::new(),
        }
    }

    fn fails(&mut self, step: Step) -> Result<(), BoxError> {
        if !self.steps.contains(&step) {
            return Ok(());
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let chance = match step {
            Step::Invoke => self.invoke_per_mille,
            _ => self.per_mille,
        };
        if self.rng % 1000 < chance {
            *self.target.0.lock().fired.entry(step).or_default() += 1;
            return Err(format!("injected failure at {step:?}").into());
        }
        Ok(())
    }
}

impl TwoPhaseCommitSink<u64> for FlakySink {
    type Transaction = Txn;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<Txn, BoxError> {
        let name = id.name();
        self.target.0.lock().open.insert(name.clone(), Vec::new());
        Ok(Txn { name })
    }

    fn invoke(&mut self, txn: &mut Txn, record: u64) -> Result<(), BoxError> {
        self.invoke_batch(txn, vec![record])
    }

    fn invoke_batch(&mut self, txn: &mut Txn, records: Vec<u64>) -> Result<(), BoxError> {
        self.fails(Step::Invoke)?;
        let mut t = self.target.0.lock();
        let open = t
            .open
            .get_mut(&txn.name)
            .ok_or("writing to a transaction not open")?;
        open.extend(records);
        Ok(())
    }

    fn pre_commit(&mut self, txn: &mut Txn) -> Result<(), BoxError> {
        self.fails(Step::PreCommit)?;
        let mut t = self.target.0.lock();
        let rows = t
            .open
            .remove(&txn.name)
            .ok_or("preparing a transaction not open")?;
        t.prepared.insert(txn.name.clone(), rows);
        Ok(())
    }

    fn commit(&mut self, txn: &Txn) -> Result<(), BoxError> {
        self.fails(Step::Commit)?;
        let mut t = self.target.0.lock();
        let rows = t.prepared.remove(&txn.name).ok_or("not prepared")?;
        t.rows.extend(&rows);
        t.commit_order.push(txn.name.clone());
        t.committed.insert(txn.name.clone(), rows);
        Ok(())
    }

    fn recover_and_commit(&mut self, txn: &Txn) -> Result<(), BoxError> {
        self.fails(Step::RecoverCommit)?;
        if self.target.0.lock().committed.contains_key(&txn.name) {
            return Ok(());
        }
        let steps = std::mem::take(&mut self.steps);
        let result = self.commit(txn);
        self.steps = steps;
        result
    }

    fn abort(&mut self, txn: &Txn) -> Result<(), BoxError> {
        let mut t = self.target.0.lock();
        t.open.remove(&txn.name);
        t.prepared.remove(&txn.name);
        Ok(())
    }

    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        let t = self.target.0.lock();
        Ok(t.prepared
            .keys()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        self.target.0.lock().prepared.remove(name);
        Ok(())
    }
}
