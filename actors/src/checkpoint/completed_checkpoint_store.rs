//! The completed checkpoints a job retains, as a pure struct (Flink's
//! `CompletedCheckpointStore`).
//!
//! # Rules
//! - Adding checkpoint `n` keeps the newest `num_retained` completed checkpoints (at least one)
//!   and names the older ones to discard, oldest first.
//! - Every checkpoint still pending with an id below `n` is subsumed by `n`: `n` covers
//!   everything it would have, so it is aborted (as [`CheckpointFailureReason::Subsumed`], which
//!   does not count as a failure).
//! - The store holds only checkpoints completed in this run: the checkpoint a job was restored
//!   from is never discarded by retention (Flink's default claim mode, `NO_CLAIM`).
//!
//! [`CheckpointFailureReason::Subsumed`]: crate::checkpoint::failure_reason::CheckpointFailureReason::Subsumed

use crate::network::event::CheckpointId;
use std::collections::VecDeque;

/// What adding a completed checkpoint decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subsumption {
    /// Completed checkpoints beyond `num_retained`, to discard, oldest first.
    pub(crate) discard: Vec<CheckpointId>,
    /// Pending checkpoints older than the added one, to abort as subsumed, oldest first.
    pub(crate) abort: Vec<CheckpointId>,
}

/// The retained completed checkpoints of one run, oldest first.
#[derive(Debug)]
pub(crate) struct CompletedCheckpointStore {
    retained: VecDeque<CheckpointId>,
    num_retained: usize,
}

impl CompletedCheckpointStore {
    /// A store keeping the newest `num_retained` checkpoints (at least one).
    pub(crate) fn new(num_retained: u32) -> CompletedCheckpointStore {
        CompletedCheckpointStore {
            retained: VecDeque::new(),
            num_retained: num_retained.max(1) as usize,
        }
    }

    /// Adds completed checkpoint `id`, with `pending` still in flight; says what to discard
    /// and what is subsumed.
    pub(crate) fn add(
        &mut self,
        id: CheckpointId,
        pending: impl IntoIterator<Item = CheckpointId>,
    ) -> Subsumption {
        self.retained.push_back(id);
        let excess = self.retained.len().saturating_sub(self.num_retained);
        let discard = self.retained.drain(..excess).collect();
        let mut abort: Vec<CheckpointId> = pending.into_iter().filter(|p| *p < id).collect();
        abort.sort_unstable();
        Subsumption { discard, abort }
    }

    /// The newest completed checkpoint, if any.
    pub(crate) fn latest(&self) -> Option<CheckpointId> {
        self.retained.back().copied()
    }

    /// Whether `id` is retained.
    pub(crate) fn contains(&self, id: CheckpointId) -> bool {
        self.retained.contains(&id)
    }

    /// Removes and returns every retained checkpoint, oldest first (the job ends and its
    /// checkpoints are not kept).
    pub(crate) fn take_all(&mut self) -> Vec<CheckpointId> {
        self.retained.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_num_retained_checkpoints_are_kept_and_older_ones_discarded_oldest_first() {
        let mut store = CompletedCheckpointStore::new(2);
        assert_eq!(store.add(1, []).discard, Vec::<u64>::new());
        assert_eq!(store.add(2, []).discard, Vec::<u64>::new());
        assert_eq!(store.add(3, []).discard, [1]);
        assert_eq!(store.add(4, []).discard, [2]);
        assert!(store.contains(3) && store.contains(4) && !store.contains(2));
        assert_eq!(store.latest(), Some(4));
    }

    #[test]
    fn num_retained_zero_still_keeps_the_latest_checkpoint() {
        let mut store = CompletedCheckpointStore::new(0);
        store.add(1, []);
        assert_eq!(store.add(2, []).discard, [1]);
        assert_eq!(store.latest(), Some(2));
    }

    #[test]
    fn pending_checkpoints_older_than_the_completed_one_are_subsumed_and_newer_ones_not() {
        let mut store = CompletedCheckpointStore::new(1);
        let subsumption = store.add(5, [7, 3, 4, 6]);
        assert_eq!(subsumption.abort, [3, 4]);
    }

    #[test]
    fn taking_all_empties_the_store() {
        let mut store = CompletedCheckpointStore::new(3);
        store.add(1, []);
        store.add(2, []);
        assert_eq!(store.take_all(), [1, 2]);
        assert_eq!(store.latest(), None);
    }
}
