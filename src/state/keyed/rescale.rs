//! Which old subtasks' keyed state a subtask restores from when the job restores at another
//! parallelism: every old subtask whose key-group range overlaps the new subtask's range.
//!
//! A keyed state backend restores each of those snapshots and keeps only the entries of the key
//! groups it owns; scaling in merges several old subtasks' ranges into one, scaling out splits
//! one old range over several new subtasks.

use crate::state::keyed::error::KeyedStateError;
use crate::task::stream_task::ChainSnapshot;
use std::ops::RangeInclusive;
use std::sync::Arc;
use weir_actors::graph::key_group::key_group_range;

/// The old subtasks (of `old_parallelism`) whose key-group range overlaps `range`, for a job of
/// `max_parallelism`.
pub fn overlapping_subtasks(
    max_parallelism: u32,
    old_parallelism: u32,
    range: &RangeInclusive<u32>,
) -> Vec<u32> {
    (0..old_parallelism)
        .filter(|&i| {
            let old = key_group_range(max_parallelism, old_parallelism, i);
            old.start() <= range.end() && range.start() <= old.end()
        })
        .collect()
}

/// The keyed state bytes of operator `uid` in each old subtask of `vertex_states` whose
/// key-group range overlaps `range` (subtasks without state for `uid` are skipped).
pub(crate) fn overlapping_snapshots(
    uid: &str,
    vertex_states: &[Option<Arc<Vec<u8>>>],
    max_parallelism: u32,
    range: &RangeInclusive<u32>,
) -> Result<Vec<Vec<u8>>, KeyedStateError> {
    let old_parallelism = vertex_states.len() as u32;
    let mut found = Vec::new();
    for i in overlapping_subtasks(max_parallelism, old_parallelism, range) {
        let Some(Some(bytes)) = vertex_states.get(i as usize) else {
            continue;
        };
        let chain = ChainSnapshot::decode(bytes).map_err(|e| KeyedStateError::Restore {
            operator: uid.to_string(),
            state: "*".to_string(),
            reason: format!("the state of old subtask {i}: {e}"),
        })?;
        if let Some((_, state)) = chain.operators.into_iter().find(|(u, _)| u == uid) {
            found.push(state);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_in_merges_and_scaling_out_splits_ranges() {
        // max 128: p=4 ranges [0,31] [32,63] [64,95] [96,127]; p=2 ranges [0,63] [64,127].
        assert_eq!(overlapping_subtasks(128, 4, &(0..=63)), vec![0, 1]);
        assert_eq!(overlapping_subtasks(128, 4, &(64..=127)), vec![2, 3]);
        assert_eq!(overlapping_subtasks(128, 2, &(43..=85)), vec![0, 1]);
        assert_eq!(overlapping_subtasks(128, 2, &(0..=42)), vec![0]);
        assert_eq!(overlapping_subtasks(128, 3, &(0..=127)), vec![0, 1, 2]);
    }
}
