//! Tolerable-failure counting, as a pure struct (Flink's `CheckpointFailureManager`,
//! `execution.checkpointing.tolerable-failed-checkpoints`).
//!
//! # Rules
//! - Only reasons for which [`CheckpointFailureReason::counts_as_failure`] holds are counted
//!   (expired, declined, metadata not written); subsumption, a task failure, a terminating job or
//!   a refused trigger never are.
//! - Failures are counted consecutively; a completed checkpoint newer than every earlier success
//!   resets the count. A failure of a checkpoint older than the last success is not counted.
//! - Each checkpoint is counted once, however many subtasks decline it.
//! - The count passing `tolerable` is reported exactly once ([`FailureVerdict::Exceeded`]); later
//!   failures are not counted until [`CheckpointFailureManager::reset`] (the tasks restart).

use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::network::event::CheckpointId;
use std::collections::BTreeSet;

/// What a failed checkpoint did to the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureVerdict {
    /// Not counted (the reason does not count, the checkpoint was counted already, it is older
    /// than the last success, or the limit was already reported).
    NotCounted,
    /// Counted; the job tolerates this many consecutive failures.
    Tolerated {
        /// Consecutive failures so far.
        consecutive: u32,
    },
    /// Counted, and more consecutive failures than tolerated: fail the job (once).
    Exceeded {
        /// Consecutive failures so far.
        consecutive: u32,
    },
}

/// Counts consecutive failed checkpoints against the tolerable number.
#[derive(Debug)]
pub(crate) struct CheckpointFailureManager {
    tolerable: u32,
    consecutive: u32,
    counted: BTreeSet<CheckpointId>,
    last_succeeded: Option<CheckpointId>,
    reported: bool,
}

impl CheckpointFailureManager {
    /// A manager tolerating `tolerable` consecutive failures.
    pub(crate) fn new(tolerable: u32) -> CheckpointFailureManager {
        CheckpointFailureManager {
            tolerable,
            consecutive: 0,
            counted: BTreeSet::new(),
            last_succeeded: None,
            reported: false,
        }
    }

    /// Checkpoint `id` failed for `reason`.
    pub(crate) fn on_failure(
        &mut self,
        id: CheckpointId,
        reason: &CheckpointFailureReason,
    ) -> FailureVerdict {
        let older_than_success = self.last_succeeded.is_some_and(|last| id <= last);
        if !reason.counts_as_failure()
            || older_than_success
            || self.reported
            || !self.counted.insert(id)
        {
            return FailureVerdict::NotCounted;
        }
        self.consecutive += 1;
        if self.consecutive > self.tolerable {
            self.reported = true;
            FailureVerdict::Exceeded {
                consecutive: self.consecutive,
            }
        } else {
            FailureVerdict::Tolerated {
                consecutive: self.consecutive,
            }
        }
    }

    /// Checkpoint `id` completed.
    pub(crate) fn on_success(&mut self, id: CheckpointId) {
        if self.last_succeeded.is_none_or(|last| id > last) {
            self.last_succeeded = Some(id);
            self.consecutive = 0;
            self.counted.clear();
        }
    }

    /// Tasks restart: counting starts over, and passing the limit is reported again.
    pub(crate) fn reset(&mut self) {
        self.consecutive = 0;
        self.counted.clear();
        self.reported = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const EXPIRED: CheckpointFailureReason = CheckpointFailureReason::Expired(Duration::ZERO);

    #[test]
    fn zero_tolerable_failures_exceed_at_the_first_counted_failure() {
        let mut m = CheckpointFailureManager::new(0);
        assert_eq!(
            m.on_failure(1, &EXPIRED),
            FailureVerdict::Exceeded { consecutive: 1 }
        );
    }

    #[test]
    fn n_tolerable_failures_exceed_at_n_plus_one_in_a_row() {
        let mut m = CheckpointFailureManager::new(2);
        assert_eq!(
            m.on_failure(1, &EXPIRED),
            FailureVerdict::Tolerated { consecutive: 1 }
        );
        assert_eq!(
            m.on_failure(2, &EXPIRED),
            FailureVerdict::Tolerated { consecutive: 2 }
        );
        assert_eq!(
            m.on_failure(3, &EXPIRED),
            FailureVerdict::Exceeded { consecutive: 3 }
        );
    }

    #[test]
    fn a_success_resets_the_count() {
        let mut m = CheckpointFailureManager::new(1);
        m.on_failure(1, &EXPIRED);
        m.on_success(2);
        assert_eq!(
            m.on_failure(3, &EXPIRED),
            FailureVerdict::Tolerated { consecutive: 1 }
        );
    }

    #[test]
    fn a_failure_older_than_the_last_success_is_not_counted() {
        let mut m = CheckpointFailureManager::new(0);
        m.on_success(5);
        assert_eq!(m.on_failure(4, &EXPIRED), FailureVerdict::NotCounted);
        // An older success does not reset a newer count.
        assert_eq!(
            m.on_failure(6, &EXPIRED),
            FailureVerdict::Exceeded { consecutive: 1 }
        );
    }

    #[test]
    fn each_checkpoint_is_counted_once() {
        let mut m = CheckpointFailureManager::new(1);
        assert_eq!(
            m.on_failure(1, &EXPIRED),
            FailureVerdict::Tolerated { consecutive: 1 }
        );
        assert_eq!(m.on_failure(1, &EXPIRED), FailureVerdict::NotCounted);
    }

    #[test]
    fn reasons_that_do_not_count_leave_the_count_alone() {
        let mut m = CheckpointFailureManager::new(0);
        for reason in [
            CheckpointFailureReason::Subsumed,
            CheckpointFailureReason::TaskFailure,
            CheckpointFailureReason::JobTerminating,
            CheckpointFailureReason::NoRunningSources,
        ] {
            assert_eq!(m.on_failure(1, &reason), FailureVerdict::NotCounted);
        }
        assert!(matches!(
            m.on_failure(2, &EXPIRED),
            FailureVerdict::Exceeded { .. }
        ));
    }

    #[test]
    fn the_limit_is_reported_once_until_the_tasks_restart() {
        let mut m = CheckpointFailureManager::new(0);
        assert!(matches!(
            m.on_failure(1, &EXPIRED),
            FailureVerdict::Exceeded { .. }
        ));
        assert_eq!(m.on_failure(2, &EXPIRED), FailureVerdict::NotCounted);
        m.reset();
        assert_eq!(
            m.on_failure(3, &EXPIRED),
            FailureVerdict::Exceeded { consecutive: 1 }
        );
    }
}
