//! [`KeyGroups`]: the key groups one keyed operator subtask owns, and where a key falls among
//! them.
//!
//! A key's group comes from the job's one [`KeyGroupAssigner`], the same the key-group
//! partitioner routes records with, so state files a key exactly where its records are sent.
//!
//! # Guarantees
//! A key whose group the subtask does not own is never filed under another group:
//! [`KeyGroups::index_of`] says which group it has, and the state that met it reports
//! [`KeyedStateError::KeyGroupOutOfRange`](crate::KeyedStateError::KeyGroupOutOfRange), which
//! fails the subtask before anything the call emitted is sent.

use std::hash::Hash;
use std::ops::RangeInclusive;
use weir_actors::graph::key_group::KeyGroupAssigner;

/// The key groups a subtask owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyGroups {
    /// The job's key-group assignment (its max parallelism).
    pub assigner: KeyGroupAssigner,
    /// The subtask's inclusive range.
    pub range: RangeInclusive<u32>,
}

impl KeyGroups {
    /// The groups `range` of a job with `max_parallelism` key groups.
    pub fn new(max_parallelism: u32, range: RangeInclusive<u32>) -> Self {
        KeyGroups {
            assigner: KeyGroupAssigner::new(max_parallelism),
            range,
        }
    }

    /// The job's max parallelism.
    pub fn max_parallelism(&self) -> u32 {
        self.assigner.max_parallelism()
    }

    /// The first owned group.
    pub fn first(&self) -> u32 {
        *self.range.start()
    }

    /// How many groups the subtask owns.
    pub fn len(&self) -> usize {
        (self.range.end().saturating_sub(self.first()) as usize + 1).max(1)
    }

    /// The index of `key`'s group among the owned groups (0 for the first), or `Err` with the
    /// key's group when the subtask does not own it.
    #[inline]
    pub fn index_of<K: Hash + ?Sized>(&self, key: &K) -> Result<usize, u32> {
        let group = self.assigner.key_group(key);
        if self.range.contains(&group) {
            Ok((group - self.first()) as usize)
        } else {
            Err(group)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use weir_actors::graph::key_group::{stable_hash, KeyGroupAssigner};

    proptest! {
        #[test]
        fn the_assigner_gives_the_results_of_flinks_formulas(
            hash in any::<u64>(),
            max in 1u32..=32_768,
            parallelism_seed in any::<u32>(),
            power in 0u32..=15,
        ) {
            // Every max parallelism, and the powers of two the shortcut serves.
            for max in [max, 1 << power] {
                let assigner = KeyGroupAssigner::new(max);
                let group = assigner.key_group_of_hash(hash);
                prop_assert_eq!(u64::from(group), hash % u64::from(max));
                let parallelism = parallelism_seed % max + 1;
                let expected = u64::from(group) * u64::from(parallelism) / u64::from(max);
                prop_assert_eq!(u64::from(assigner.operator_index(group, parallelism)), expected);
            }
        }

        #[test]
        fn a_key_is_indexed_in_its_group_or_refused_with_it(key in any::<u64>(), split in 0u32..128) {
            let low = KeyGroups::new(128, 0..=split);
            let high = KeyGroups::new(128, split + 1..=127);
            let group = KeyGroupAssigner::new(128).key_group(&key);
            prop_assert_eq!(u64::from(group), stable_hash(&key) % 128);
            match (low.index_of(&key), high.index_of(&key)) {
                (Ok(i), Err(g)) => prop_assert!(i as u32 == group && g == group && group <= split),
                (Err(g), Ok(i)) => prop_assert!(i as u32 + split + 1 == group && g == group),
                other => prop_assert!(false, "owned by both or neither: {:?}", other),
            }
        }
    }
}
