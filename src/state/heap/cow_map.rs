//! [`CowMap`]: the per-key map behind every in-memory keyed state, split by key group so that a
//! snapshot's synchronous part is cheap and does not grow with the state's size.
//!
//! Each of the subtask's key groups has its own hash map, owned by the state and written without
//! any synchronization. A snapshot moves every group into an `Arc` it shares (one move per key
//! group, whatever the number of keys). The first write to a shared group afterwards takes the
//! map back if the snapshot has finished with it, or copies it if the snapshot still holds it
//! (copy on write, group by group, like Flink's `CopyOnWriteStateMap` copies lazily). The
//! asynchronous part of the snapshot serializes the groups it holds while processing goes on.
//!
//! # Keys of another subtask
//! A key whose group the subtask does not own (see [`KeyGroups::index_of`]) is never filed under
//! one of its groups: the access is recorded in the backend's [`ErrorSlot`] (the operator fails
//! after the call) and served by a scratch map that no snapshot ever includes.

use crate::state::access_error::{AccessFailure, ErrorSlot, FailedAccess};
use crate::state::key_groups::KeyGroups;
use crate::state::stable_map::Map;
use crate::state::state_key::StateKey;
use std::sync::Arc;

/// One key group's map: owned by the state (written without any synchronization), or shared
/// with a snapshot that has not finished writing it.
#[derive(Debug)]
enum Group<K, V> {
    Owned(Map<K, V>),
    Shared(Arc<Map<K, V>>),
}

impl<K: StateKey, V: Clone> Group<K, V> {
    #[inline]
    fn map(&self) -> &Map<K, V> {
        match self {
            Group::Owned(m) => m,
            Group::Shared(m) => m,
        }
    }

    /// The map to write: a shared group becomes owned again, taken back from the snapshot if it
    /// is done with it, or copied if it still holds it (the copy-on-write).
    #[inline]
    fn map_mut(&mut self) -> &mut Map<K, V> {
        if let Group::Shared(shared) = self {
            let shared = std::mem::replace(shared, Arc::new(Map::default()));
            let owned = Arc::try_unwrap(shared).unwrap_or_else(|still| (*still).clone());
            *self = Group::Owned(owned);
        }
        match self {
            Group::Owned(m) => m,
            Group::Shared(_) => unreachable!("the group was made owned just above"),
        }
    }

    /// Shares the group with a snapshot (moving, not copying, an owned map).
    fn share(&mut self) -> Arc<Map<K, V>> {
        if let Group::Owned(owned) = self {
            let owned = std::mem::take(owned);
            *self = Group::Shared(Arc::new(owned));
        }
        match self {
            Group::Shared(m) => m.clone(),
            Group::Owned(_) => unreachable!("the group was shared just above"),
        }
    }
}

/// A map from key to `V`, stored by key group with copy-on-write groups.
#[derive(Debug)]
pub(crate) struct CowMap<K, V> {
    /// One map per owned group, then the scratch map of keys the subtask does not own.
    groups: Vec<Group<K, V>>,
    key_groups: KeyGroups,
    /// The state's name, for errors.
    state: Arc<str>,
    errors: ErrorSlot,
}

/// A snapshot's view of a [`CowMap`]: the groups as they were, shared until written again.
pub(crate) type CowView<K, V> = Vec<(u32, Arc<Map<K, V>>)>;

impl<K: StateKey, V: Clone> CowMap<K, V> {
    /// An empty map of state `state` for the subtask owning `groups`; an access to a key of
    /// another group is recorded in `errors`.
    pub fn new(groups: &KeyGroups, state: &str, errors: &ErrorSlot) -> Self {
        CowMap {
            groups: (0..=groups.len())
                .map(|_| Group::Owned(Map::default()))
                .collect(),
            key_groups: groups.clone(),
            state: state.into(),
            errors: errors.clone(),
        }
    }

    /// The index of `key`'s group in `groups`; for a key of a group the subtask does not own,
    /// the scratch map's, with the failure recorded.
    #[inline]
    fn slot(&self, key: &K) -> usize {
        match self.key_groups.index_of(key) {
            Ok(index) => index,
            Err(key_group) => self.out_of_range(key_group),
        }
    }

    #[cold]
    fn out_of_range(&self, key_group: u32) -> usize {
        FailedAccess {
            state: self.state.to_string(),
            failure: AccessFailure::OutOfRange {
                key_group,
                range: self.key_groups.range.clone(),
            },
        }
        .record(&self.errors);
        self.groups.len() - 1
    }

    /// The owned groups with their key-group numbers (the scratch map left out).
    fn owned(&self) -> impl Iterator<Item = (u32, &Group<K, V>)> {
        let first = self.key_groups.first();
        let owned = self.groups.len() - 1;
        self.groups[..owned]
            .iter()
            .enumerate()
            .map(move |(i, g)| (first + i as u32, g))
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.groups[self.slot(key)].map().get(key)
    }

    /// The group map of `key`, made owned first if a snapshot shares it.
    #[inline]
    fn group_mut(&mut self, key: &K) -> &mut Map<K, V> {
        let slot = self.slot(key);
        self.groups[slot].map_mut()
    }

    /// The value of `key`, to change in place.
    #[inline]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.group_mut(key).get_mut(key)
    }

    /// Sets the value of `key`.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.group_mut(&key).insert(key, value)
    }

    /// Removes the value of `key`, handing back the stored key too.
    #[inline]
    pub fn remove_entry(&mut self, key: &K) -> Option<(K, V)> {
        self.group_mut(key).remove_entry(key)
    }

    /// Removes the value of `key`.
    #[inline]
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.group_mut(key).remove(key)
    }

    /// The value of `key`, inserted by `init` first when it has none (one group lookup).
    #[inline]
    pub fn get_or_insert_with(&mut self, key: &K, init: impl FnOnce() -> V) -> &mut V {
        let group = self.group_mut(key);
        if !group.contains_key(key) {
            group.insert(key.clone(), init());
        }
        match group.get_mut(key) {
            Some(v) => v,
            None => unreachable!("the key was inserted just above"),
        }
    }

    /// Every non-empty group's map, by key group (a read-only walk, e.g. to rebuild an index).
    pub fn groups(&self) -> impl Iterator<Item = (u32, &Map<K, V>)> {
        self.owned()
            .filter(|(_, g)| !g.map().is_empty())
            .map(|(group, g)| (group, g.map()))
    }

    /// The snapshot view: one `Arc` per non-empty key group, whatever the number of keys. The
    /// groups stay shared until next written, so the view keeps the values of this moment.
    pub fn view(&mut self) -> CowView<K, V> {
        let first = self.key_groups.first();
        let owned = self.groups.len() - 1;
        self.groups[..owned]
            .iter_mut()
            .enumerate()
            .filter(|(_, g)| !g.map().is_empty())
            .map(|(i, g)| (first + i as u32, g.share()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::keyed::error::KeyedStateError;
    use weir_actors::graph::key_group::assign_to_key_group;

    fn map<V: Clone>(range: std::ops::RangeInclusive<u32>) -> (CowMap<u64, V>, ErrorSlot) {
        let errors = ErrorSlot::default();
        (
            CowMap::new(&KeyGroups::new(128, range), "s", &errors),
            errors,
        )
    }

    #[test]
    fn a_view_keeps_the_values_of_its_moment_while_the_map_changes() {
        let (mut m, _) = map::<u64>(0..=127);
        for k in 0..1000 {
            m.insert(k, k);
        }
        let view = m.view();
        for k in 0..1000 {
            *m.get_or_insert_with(&k, || 0) += 1;
        }
        m.insert(5000, 1);
        let seen: u64 = view.iter().map(|(_, g)| g.values().sum::<u64>()).sum();
        assert_eq!(seen, (0..1000).sum::<u64>());
        assert_eq!(m.get(&10), Some(&11));
        assert_eq!(m.get(&5000), Some(&1));
    }

    #[test]
    fn each_key_lands_in_its_key_group() {
        let (mut m, errors) = map::<()>(0..=127);
        for k in 0..500 {
            m.insert(k, ());
        }
        for (group, map) in m.view() {
            assert!(map.keys().all(|k| assign_to_key_group(k, 128) == group));
        }
        assert_eq!(*errors.lock(), None);
    }

    #[test]
    fn a_key_of_a_group_the_subtask_does_not_own_is_an_error_and_never_snapshotted() {
        let (mut m, errors) = map::<u64>(0..=63);
        let foreign = (0..)
            .find(|k| assign_to_key_group(k, 128) > 63)
            .expect("a key");
        let own = (0..)
            .find(|k| assign_to_key_group(k, 128) <= 63)
            .expect("a key");
        m.insert(own, 1);
        m.insert(foreign, 2);
        let error = errors.lock().take().map(|e| e.into_error("Count [count]"));
        assert_eq!(
            error,
            Some(KeyedStateError::KeyGroupOutOfRange {
                operator: "Count [count]".into(),
                state: "s".into(),
                key_group: assign_to_key_group(&foreign, 128),
                range: 0..=63,
            })
        );
        let filed: Vec<u64> = m
            .view()
            .iter()
            .flat_map(|(_, g)| g.keys().copied())
            .collect();
        assert_eq!(filed, vec![own], "the foreign key is in no group");
        assert!(m.groups().all(|(group, _)| group <= 63));
    }
}
