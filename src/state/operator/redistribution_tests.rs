use super::redistribute;
use super::StateKind;
use proptest::prelude::*;

fn all_subtasks(kind: StateKind, old: &[Vec<u32>], p: u32) -> Vec<Vec<u32>> {
    (0..p).map(|i| redistribute(kind, old, p, i)).collect()
}

#[test]
fn list_state_at_the_same_parallelism_stays_with_its_subtask() {
    let old = vec![vec![1, 2, 3], vec![], vec![4]];
    assert_eq!(all_subtasks(StateKind::List, &old, 3), old);
}

#[test]
fn list_state_is_split_into_contiguous_runs_with_the_remainder_first() {
    let old = vec![vec![1, 2, 3, 4], vec![5, 6, 7]];
    assert_eq!(
        all_subtasks(StateKind::List, &old, 3),
        vec![vec![1, 2, 3], vec![4, 5], vec![6, 7]]
    );
    assert_eq!(
        all_subtasks(StateKind::List, &old, 1),
        vec![vec![1, 2, 3, 4, 5, 6, 7]]
    );
}

#[test]
fn list_state_with_fewer_elements_than_subtasks_leaves_the_last_ones_empty() {
    let old = vec![vec![1], vec![2]];
    assert_eq!(
        all_subtasks(StateKind::List, &old, 4),
        vec![vec![1], vec![2], vec![], vec![]]
    );
}

#[test]
fn union_list_state_gives_every_subtask_every_element() {
    let old = vec![vec![1, 2], vec![3]];
    assert_eq!(
        all_subtasks(StateKind::UnionList, &old, 2),
        vec![vec![1, 2, 3], vec![1, 2, 3]]
    );
}

#[test]
fn broadcast_state_gives_every_subtask_one_copy() {
    let old = vec![vec![7, 8], vec![7, 8]];
    assert_eq!(
        all_subtasks(StateKind::Broadcast, &old, 3),
        vec![vec![7, 8], vec![7, 8], vec![7, 8]]
    );
    assert_eq!(
        redistribute::<u32>(StateKind::Broadcast, &[], 2, 1),
        Vec::<u32>::new()
    );
}

#[test]
fn an_index_out_of_range_gets_nothing() {
    assert!(redistribute(StateKind::UnionList, &[vec![1]], 2, 2).is_empty());
}

/// Old subtasks' lists (1 to 8 of them) of unique elements, and a new parallelism of 1 to 8.
fn old_lists_and_parallelism() -> impl Strategy<Value = (Vec<Vec<u32>>, u32)> {
    (
        prop::collection::vec(prop::collection::vec(any::<u16>(), 0..20), 1..=8),
        1u32..=8,
    )
        .prop_map(|(lists, p)| {
            // Make every element unique so duplicates would show.
            let mut next = 0u32;
            let unique = lists
                .into_iter()
                .map(|l| {
                    l.into_iter()
                        .map(|_| {
                            next += 1;
                            next
                        })
                        .collect()
                })
                .collect();
            (unique, p)
        })
}

proptest! {
    #[test]
    fn list_state_loses_and_duplicates_no_element((old, p) in old_lists_and_parallelism()) {
        let mut all: Vec<u32> = all_subtasks(StateKind::List, &old, p).concat();
        let mut expected: Vec<u32> = old.concat();
        all.sort_unstable();
        expected.sort_unstable();
        prop_assert_eq!(all, expected);
    }

    #[test]
    fn list_state_shares_differ_by_at_most_one_after_a_rescale((old, p) in old_lists_and_parallelism()) {
        prop_assume!(old.len() != p as usize);
        let lens: Vec<usize> = all_subtasks(StateKind::List, &old, p).iter().map(Vec::len).collect();
        let (min, max) = (lens.iter().min().copied(), lens.iter().max().copied());
        prop_assert!(max.unwrap_or(0) - min.unwrap_or(0) <= 1, "shares {:?}", lens);
    }

    #[test]
    fn union_list_state_reaches_every_subtask_whole((old, p) in old_lists_and_parallelism()) {
        let expected: Vec<u32> = old.concat();
        for share in all_subtasks(StateKind::UnionList, &old, p) {
            prop_assert_eq!(&share, &expected);
        }
    }

    #[test]
    fn broadcast_state_reaches_every_subtask_as_one_copy((old, p) in old_lists_and_parallelism()) {
        let copies: Vec<Vec<u32>> = old.iter().map(|_| old[0].clone()).collect();
        for share in all_subtasks(StateKind::Broadcast, &copies, p) {
            prop_assert_eq!(&share, &old[0]);
        }
    }
}
