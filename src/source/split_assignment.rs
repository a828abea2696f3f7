//! Which subtask reads which split: a pure decision every subtask of a source computes alike, so
//! every split has exactly one reader without a coordinator.
//!
//! - Splits a checkpoint holds go where operator list state goes
//!   ([`redistribute`] with [`StateKind::List`]: each subtask its own at the same parallelism,
//!   even contiguous runs at another).
//! - Every other split — at the first start, or discovered later — goes to subtask
//!   `assignment_key % parallelism`. A split is "held by the checkpoint" when any old subtask
//!   recorded it, which every new subtask can tell, because each reads all old subtasks' lists.

use crate::source::split_source::SourceSplit;
use crate::state::operator::{redistribute, StateKind};
use std::collections::HashSet;

/// A split as a checkpoint records it: its id and its encoded value.
pub(crate) type RecordedSplit = (String, Vec<u8>);

/// One subtask's view of which splits are whose.
#[derive(Debug, Clone)]
pub(crate) struct SplitAssignment {
    index: u32,
    parallelism: u32,
    /// Every split id already given to some subtask: restored anywhere, or discovered before.
    known: HashSet<String>,
}

impl SplitAssignment {
    /// Subtask `index` of `parallelism` at a start with nothing restored.
    pub(crate) fn fresh(index: u32, parallelism: u32) -> SplitAssignment {
        SplitAssignment {
            index,
            parallelism: parallelism.max(1),
            known: HashSet::new(),
        }
    }

    /// Subtask `index` of `parallelism` restoring from `old` (old subtask `i`'s recorded
    /// splits at `old[i]`): the assignment, and the recorded splits this subtask now reads.
    pub(crate) fn restored(
        old: &[Vec<RecordedSplit>],
        index: u32,
        parallelism: u32,
    ) -> (SplitAssignment, Vec<RecordedSplit>) {
        let mut assignment = SplitAssignment::fresh(index, parallelism);
        assignment.known = old.iter().flatten().map(|(id, _)| id.clone()).collect();
        let mine = redistribute(StateKind::List, old, assignment.parallelism, index);
        (assignment, mine)
    }

    /// The subtask that reads a split no checkpoint assigned.
    pub(crate) fn owner<S: SourceSplit>(split: &S, parallelism: u32) -> u32 {
        (split.assignment_key() % u64::from(parallelism.max(1))) as u32
    }

    /// Of `discovered`, the splits not known before that this subtask owns; every discovered
    /// split is known afterwards (a later discovery of it changes nothing).
    pub(crate) fn claim<S: SourceSplit>(&mut self, discovered: Vec<S>) -> Vec<S> {
        let mut mine = Vec::new();
        for split in discovered {
            if !self.known.insert(split.split_id()) {
                continue;
            }
            if Self::owner(&split, self.parallelism) == self.index {
                mine.push(split);
            }
        }
        mine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Part(u64);

    impl SourceSplit for Part {
        fn split_id(&self) -> String {
            format!("p{}", self.0)
        }
        fn assignment_key(&self) -> u64 {
            self.0
        }
    }

    fn parts(range: std::ops::Range<u64>) -> Vec<Part> {
        range.map(Part).collect()
    }

    #[test]
    fn a_fresh_start_gives_each_split_to_exactly_one_subtask() {
        for p in 1..6 {
            let mut owners = vec![0; 10];
            for i in 0..p {
                for part in SplitAssignment::fresh(i, p).claim(parts(0..10)) {
                    owners[part.0 as usize] += 1;
                }
            }
            assert!(owners.iter().all(|&n| n == 1), "p={p}: {owners:?}");
        }
    }

    #[test]
    fn a_restore_at_any_parallelism_reads_every_recorded_split_once_and_new_ones_once() {
        for old_p in 1..5u32 {
            // Old subtask i recorded the splits it owned of p0..p8.
            let old: Vec<Vec<RecordedSplit>> = (0..old_p)
                .map(|i| {
                    SplitAssignment::fresh(i, old_p)
                        .claim(parts(0..8))
                        .into_iter()
                        .map(|s| (s.split_id(), vec![s.0 as u8]))
                        .collect()
                })
                .collect();
            for new_p in 1..5u32 {
                let mut seen = Vec::new();
                for i in 0..new_p {
                    let (mut assignment, mine) = SplitAssignment::restored(&old, i, new_p);
                    seen.extend(mine.into_iter().map(|(id, _)| id));
                    // p8 and p9 were added since; p3 is discovered again.
                    seen.extend(assignment.claim(parts(3..10)).iter().map(Part::split_id));
                }
                seen.sort();
                let mut want: Vec<String> = parts(0..10).iter().map(Part::split_id).collect();
                want.sort();
                assert_eq!(seen, want, "old {old_p} → new {new_p}");
            }
        }
    }

    #[test]
    fn a_split_discovered_twice_is_claimed_once() {
        let mut a = SplitAssignment::fresh(0, 1);
        assert_eq!(a.claim(parts(0..2)).len(), 2);
        assert!(a.claim(parts(0..2)).is_empty());
        assert_eq!(a.claim(parts(0..3)), vec![Part(2)]);
    }
}
