//! How operator state moves to the subtasks of a restored job: a pure function, ready for
//! restores at another parallelism.

use super::state_kind::StateKind;

/// What new subtask `index` of `new_parallelism` gets of one state, given the old subtasks'
/// elements of it (`old[i]` is old subtask `i`'s list; for broadcast state the old subtasks that
/// hold it, whose copies are equal). Flink's rules (its `RoundRobinOperatorStateRepartitioner`):
///
/// - [`StateKind::List`]: at the same parallelism each subtask keeps its own list. Otherwise the
///   old lists are concatenated in old-subtask order and cut into `new_parallelism`
///   **contiguous** runs of nearly equal length: subtask `i` gets `total / new_parallelism`
///   elements, one more when `i < total % new_parallelism`. (Flink calls this round-robin
///   repartitioning; what it does with the elements is this even, contiguous split.) Over all
///   new subtasks no element is lost or duplicated.
/// - [`StateKind::UnionList`]: every subtask gets the concatenation of every old list.
/// - [`StateKind::Broadcast`]: every subtask gets one copy (the first); an empty `old` gives an
///   empty state.
///
/// `index` must be below `new_parallelism`; an index out of range gets nothing.
pub fn redistribute<T: Clone>(
    kind: StateKind,
    old: &[Vec<T>],
    new_parallelism: u32,
    index: u32,
) -> Vec<T> {
    if index >= new_parallelism {
        return Vec::new();
    }
    match kind {
        StateKind::List if old.len() == new_parallelism as usize => {
            old.get(index as usize).cloned().unwrap_or_default()
        }
        StateKind::List => {
            let total: usize = old.iter().map(Vec::len).sum();
            let (p, i) = (new_parallelism as usize, index as usize);
            let (base, extra) = (total / p, total % p);
            let start = i * base + i.min(extra);
            let len = base + usize::from(i < extra);
            old.iter()
                .flatten()
                .skip(start)
                .take(len)
                .cloned()
                .collect()
        }
        StateKind::UnionList => old.iter().flatten().cloned().collect(),
        StateKind::Broadcast => old.first().cloned().unwrap_or_default(),
    }
}
