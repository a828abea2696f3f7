//! A checkpoint that has been triggered and is collecting acknowledgements (Flink's
//! `PendingCheckpoint`), as a pure struct.

use crate::checkpoint::stats::SubtaskCheckpointStats;
use crate::checkpoint::storage::StateHandle;
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::CheckpointId;
use std::collections::BTreeSet;

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// Recorded; others are still missing.
    Accepted,
    /// Recorded, and it was the last one missing: the checkpoint can complete.
    Complete,
    /// The subtask already acknowledged (the new handle is discarded).
    Duplicate,
    /// The subtask was not expected to acknowledge this checkpoint.
    Unexpected,
}

/// Where a subtask stands in a pending checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtaskRole {
    /// It has yet to acknowledge.
    Expected,
    /// It acknowledged already.
    Acknowledged,
    /// The checkpoint does not wait for it: another attempt of the subtask, or no subtask of the
    /// checkpoint at all.
    Unknown,
}

/// A checkpoint waiting for every expected subtask to acknowledge it.
#[derive(Debug)]
pub struct PendingCheckpoint {
    /// Its id.
    pub id: CheckpointId,
    expected: BTreeSet<SubtaskKey>,
    acknowledged: BTreeSet<SubtaskKey>,
    /// State handles received so far.
    pub handles: Vec<StateHandle>,
    /// Per-subtask statistics received so far.
    pub stats: Vec<SubtaskCheckpointStats>,
}

impl PendingCheckpoint {
    /// Checkpoint `id`, expecting an acknowledgement from each of `expected`.
    pub fn new(id: CheckpointId, expected: impl IntoIterator<Item = SubtaskKey>) -> Self {
        PendingCheckpoint {
            id,
            expected: expected.into_iter().collect(),
            acknowledged: BTreeSet::new(),
            handles: Vec::new(),
            stats: Vec::new(),
        }
    }

    /// Records `key`'s acknowledgement.
    pub fn acknowledge(
        &mut self,
        key: SubtaskKey,
        handle: StateHandle,
        stats: SubtaskCheckpointStats,
    ) -> AckOutcome {
        if self.acknowledged.contains(&key) {
            return AckOutcome::Duplicate;
        }
        if !self.expected.remove(&key) {
            return AckOutcome::Unexpected;
        }
        self.acknowledged.insert(key);
        self.handles.push(handle);
        self.stats.push(stats);
        self.outcome()
    }

    /// `key` finished without acknowledging (its input ended before the barrier could reach it):
    /// it is no longer waited for. Returns whether the checkpoint is now complete.
    pub fn subtask_finished(&mut self, key: SubtaskKey) -> bool {
        self.expected.remove(&key) && self.is_complete()
    }

    /// Where `key` stands in this checkpoint.
    pub fn role(&self, key: &SubtaskKey) -> SubtaskRole {
        if self.expected.contains(key) {
            SubtaskRole::Expected
        } else if self.acknowledged.contains(key) {
            SubtaskRole::Acknowledged
        } else {
            SubtaskRole::Unknown
        }
    }

    /// Whether `key` has yet to acknowledge.
    pub fn is_expected(&self, key: &SubtaskKey) -> bool {
        self.expected.contains(key)
    }

    /// Whether every expected subtask has acknowledged.
    pub fn is_complete(&self) -> bool {
        self.expected.is_empty()
    }

    /// Subtasks still missing.
    pub fn missing(&self) -> impl Iterator<Item = &SubtaskKey> {
        self.expected.iter()
    }

    fn outcome(&self) -> AckOutcome {
        if self.is_complete() {
            AckOutcome::Complete
        } else {
            AckOutcome::Accepted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::storage::StateLocation;

    fn key(vertex: usize, index: u32) -> SubtaskKey {
        SubtaskKey {
            vertex,
            index,
            attempt: 0,
        }
    }

    fn handle(index: u32) -> StateHandle {
        StateHandle {
            vertex_uid: "v".into(),
            subtask: index,
            operator_uids: vec![],
            location: StateLocation::Inline(vec![]),
            size: 0,
            shared: vec![],
        }
    }

    #[test]
    fn completes_when_the_last_expected_subtask_acknowledges() {
        let mut p = PendingCheckpoint::new(1, [key(0, 0), key(1, 0)]);
        assert_eq!(
            p.acknowledge(key(1, 0), handle(0), Default::default()),
            AckOutcome::Accepted
        );
        assert_eq!(
            p.acknowledge(key(0, 0), handle(0), Default::default()),
            AckOutcome::Complete
        );
        assert_eq!(p.handles.len(), 2);
    }

    #[test]
    fn a_duplicate_acknowledgement_is_reported_and_not_recorded() {
        let mut p = PendingCheckpoint::new(1, [key(0, 0), key(0, 1)]);
        p.acknowledge(key(0, 0), handle(0), Default::default());
        assert_eq!(
            p.acknowledge(key(0, 0), handle(0), Default::default()),
            AckOutcome::Duplicate
        );
        assert_eq!(p.handles.len(), 1);
    }

    #[test]
    fn an_acknowledgement_from_an_unknown_subtask_is_unexpected() {
        let mut p = PendingCheckpoint::new(1, [key(0, 0)]);
        assert_eq!(
            p.acknowledge(key(5, 0), handle(0), Default::default()),
            AckOutcome::Unexpected
        );
        assert!(!p.is_complete());
    }

    #[test]
    fn a_subtask_is_expected_then_acknowledged_and_another_attempt_is_unknown() {
        let mut p = PendingCheckpoint::new(1, [key(0, 0)]);
        assert_eq!(p.role(&key(0, 0)), SubtaskRole::Expected);
        p.acknowledge(key(0, 0), handle(0), Default::default());
        assert_eq!(p.role(&key(0, 0)), SubtaskRole::Acknowledged);
        let earlier = SubtaskKey {
            attempt: 1,
            ..key(0, 0)
        };
        assert_eq!(p.role(&earlier), SubtaskRole::Unknown);
    }

    #[test]
    fn a_subtask_that_finished_is_no_longer_waited_for() {
        let mut p = PendingCheckpoint::new(1, [key(0, 0), key(1, 0)]);
        p.acknowledge(key(0, 0), handle(0), Default::default());
        assert!(p.subtask_finished(key(1, 0)));
        assert_eq!(p.missing().count(), 0);
    }
}
