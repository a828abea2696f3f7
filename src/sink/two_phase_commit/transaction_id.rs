//! [`TransactionId`]: the name of one transaction of a two-phase-commit sink, never reused, and
//! findable after a crash by the prefix of the subtask that opened it.

use serde::{Deserialize, Serialize};
use std::fmt;
use weir_actors::graph::key_group::stable_hash;
use weir_actors::CheckpointId;

/// Identifies one transaction of a two-phase-commit sink.
///
/// It promises: two transactions of the same job never share an id — not across subtasks, not
/// across restarts of a subtask, not across runs of the job restored from its checkpoints —
/// because `run` (the first checkpoint id of the run, above every id an earlier run used) and
/// `attempt` (the subtask's restart count within the run) tell deployments apart and
/// `sequence` counts the transactions of one deployment. Its [`name`](Self::name) is short
/// enough for every target (at most 64 bytes: an XA `gtrid`), and starts with
/// [`subtask_prefix`](Self::subtask_prefix), so a restored sink can list what a crashed
/// deployment of the same subtask left prepared (`pg_prepared_xacts`, `XA RECOVER`, a
/// directory).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TransactionId {
    /// The job's id.
    pub job_id: String,
    /// The sink operator's uid.
    pub operator_uid: String,
    /// The subtask that opened the transaction.
    pub subtask: u32,
    /// The first checkpoint id of the run that opened it.
    pub run: CheckpointId,
    /// The subtask's attempt (restart count) within that run.
    pub attempt: u32,
    /// The transaction's number within that deployment of the subtask, from 0.
    pub sequence: u64,
}

impl TransactionId {
    /// The prefix every transaction name of subtask `subtask` of sink `operator_uid` in job
    /// `job_id` starts with: `weir-<12 hex digits of a stable hash of job and uid>-<subtask>-`.
    pub fn subtask_prefix(job_id: &str, operator_uid: &str, subtask: u32) -> String {
        let scope = stable_hash(&(job_id, operator_uid)) >> 16;
        format!("weir-{scope:012x}-{subtask}-")
    }

    /// The transaction's name in the target:
    /// `<subtask prefix><run>-<attempt>-<sequence>`.
    pub fn name(&self) -> String {
        let prefix = Self::subtask_prefix(&self.job_id, &self.operator_uid, self.subtask);
        format!("{prefix}{}-{}-{}", self.run, self.attempt, self.sequence)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(subtask: u32, run: u64, attempt: u32, sequence: u64) -> TransactionId {
        TransactionId {
            job_id: "job".into(),
            operator_uid: "sink".into(),
            subtask,
            run,
            attempt,
            sequence,
        }
    }

    #[test]
    fn names_differ_by_every_part_and_start_with_their_subtask_prefix() {
        let ids = [
            id(0, 1, 0, 0),
            id(1, 1, 0, 0),
            id(0, 2, 0, 0),
            id(0, 1, 1, 0),
            id(0, 1, 0, 1),
        ];
        let names: std::collections::BTreeSet<_> = ids.iter().map(TransactionId::name).collect();
        assert_eq!(names.len(), ids.len());
        for i in &ids {
            assert!(i
                .name()
                .starts_with(&TransactionId::subtask_prefix("job", "sink", i.subtask)));
        }
        // Subtask 1's prefix is not a prefix of subtask 10's names.
        let ten = id(10, 1, 0, 0).name();
        assert!(!ten.starts_with(&TransactionId::subtask_prefix("job", "sink", 1)));
    }

    #[test]
    fn a_name_fits_an_xa_gtrid_even_with_large_numbers() {
        let big = id(u32::MAX, 999_999_999_999, 1_000_000, 999_999_999_999);
        assert!(big.name().len() <= 64, "{} bytes", big.name().len());
    }

    #[test]
    fn another_job_or_uid_has_another_prefix() {
        let a = TransactionId::subtask_prefix("job", "sink", 0);
        assert_ne!(a, TransactionId::subtask_prefix("job2", "sink", 0));
        assert_ne!(a, TransactionId::subtask_prefix("job", "sink2", 0));
    }
}
