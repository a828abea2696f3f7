//! The pure decisions of a two-phase-commit sink's restore: what to commit, what to abort, and
//! which earlier subtasks' leftovers a subtask cleans up.

use super::transaction_id::TransactionId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use weir_actors::CheckpointId;

/// One transaction as the operator state keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TransactionState<X> {
    /// Its id.
    pub id: TransactionId,
    /// The checkpoint whose barrier pre-committed it; `None` for the transaction that was open
    /// when the snapshot was taken.
    pub checkpoint: Option<CheckpointId>,
    /// When it was pre-committed, in milliseconds since the Unix epoch (for the timeout report
    /// only; 0 while open).
    pub prepared_at_ms: u64,
    /// What the sink keeps of it.
    pub transaction: X,
}

/// What a restore does with the transactions it finds in the operator state.
#[derive(Debug)]
pub(crate) struct RestorePlan<X> {
    /// Pre-committed transactions, by checkpoint order: commit each (its checkpoint completed).
    pub commit: Vec<TransactionState<X>>,
    /// Transactions that were open: abort each.
    pub abort: Vec<TransactionState<X>>,
}

/// Splits restored transactions into those to commit (in checkpoint order, then by id) and
/// those to abort.
pub(crate) fn restore_plan<X>(restored: Vec<TransactionState<X>>) -> RestorePlan<X> {
    let (mut commit, abort): (Vec<_>, Vec<_>) =
        restored.into_iter().partition(|t| t.checkpoint.is_some());
    commit.sort_by(|a, b| (a.checkpoint, &a.id).cmp(&(b.checkpoint, &b.id)));
    RestorePlan { commit, abort }
}

/// The subtask indices whose leftover prepared transactions subtask `index` of `parallelism`
/// cleans up, when the restored checkpoint ran at `old_parallelism`: its own, and each index
/// the new parallelism no longer has that falls to it round-robin. Every index below
/// `max(parallelism, old_parallelism)` belongs to exactly one subtask.
pub(crate) fn owned_subtasks(index: u32, parallelism: u32, old_parallelism: u32) -> Vec<u32> {
    let step = parallelism.max(1) as usize;
    (index..old_parallelism.max(parallelism))
        .step_by(step)
        .filter(|&j| j == index || j >= parallelism)
        .collect()
}

/// Whether a transaction pre-committed at `prepared_at_ms` is at least `timeout` old at `now_ms`
/// (a zero timeout makes every commit late).
pub(crate) fn is_timed_out(prepared_at_ms: u64, now_ms: u64, timeout: Option<Duration>) -> bool {
    timeout.is_some_and(|t| {
        prepared_at_ms > 0 && now_ms.saturating_sub(prepared_at_ms) >= t.as_millis() as u64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(checkpoint: Option<u64>, sequence: u64) -> TransactionState<u64> {
        TransactionState {
            id: TransactionId {
                job_id: "j".into(),
                operator_uid: "s".into(),
                subtask: 0,
                run: 1,
                attempt: 0,
                sequence,
            },
            checkpoint,
            prepared_at_ms: 0,
            transaction: sequence,
        }
    }

    #[test]
    fn pre_committed_transactions_commit_in_checkpoint_order_and_open_ones_abort() {
        let plan = restore_plan(vec![
            state(Some(5), 2),
            state(None, 3),
            state(Some(3), 1),
            state(Some(3), 0),
        ]);
        let commit: Vec<_> = plan.commit.iter().map(|t| t.transaction).collect();
        assert_eq!(commit, [0, 1, 2]);
        let abort: Vec<_> = plan.abort.iter().map(|t| t.transaction).collect();
        assert_eq!(abort, [3]);
    }

    #[test]
    fn every_old_index_is_cleaned_by_exactly_one_new_subtask() {
        for old in 1..9 {
            for new in 1..9 {
                let mut all: Vec<u32> =
                    (0..new).flat_map(|i| owned_subtasks(i, new, old)).collect();
                all.sort_unstable();
                assert_eq!(all, (0..old.max(new)).collect::<Vec<_>>(), "{old} -> {new}");
            }
        }
        assert_eq!(owned_subtasks(1, 2, 5), [1, 3]);
        assert_eq!(owned_subtasks(0, 2, 5), [0, 2, 4]);
        assert_eq!(owned_subtasks(3, 4, 2), [3]);
    }

    #[test]
    fn only_a_prepared_transaction_as_old_as_the_timeout_is_timed_out() {
        let t = Some(Duration::from_secs(1));
        assert!(!is_timed_out(10_000, 10_999, t));
        assert!(is_timed_out(10_000, 11_000, t));
        assert!(is_timed_out(10_000, 10_000, Some(Duration::ZERO)));
        assert!(!is_timed_out(10_000, 99_000, None));
        assert!(!is_timed_out(0, 99_000, t), "never pre-committed");
    }
}
