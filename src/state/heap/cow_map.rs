//! [`CowMap`]: the per-key map behind every in-memory keyed state, split by key group so that a
//! snapshot's synchronous part is cheap and does not grow with the state's size.
//!
//! Each of the subtask's key groups has its own hash map, owned by the state and written without
//! any synchronization. A snapshot moves every group into an `Arc` it shares (one move per key
//! group, whatever the number of keys). The first write to a shared group afterwards takes the
//! map back if the snapshot has finished with it, or copies it if the snapshot still holds it
//! (copy on write, group by group, like Flink's `CopyOnWriteStateMap` copies lazily). The
//! asynchronous part of the snapshot serializes the groups it holds while processing goes on.

use crate::state::keyed::backend::{Map, StateKey};
use std::ops::RangeInclusive;
use std::sync::Arc;
#[cfg(test)]
use weir_actors::graph::key_group::assign_to_key_group;
use weir_actors::graph::key_group::stable_hash;

/// The key groups a subtask owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyGroups {
    /// The job's max parallelism.
    pub max_parallelism: u32,
    /// The subtask's inclusive range.
    pub range: RangeInclusive<u32>,
}

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
    groups: Vec<Group<K, V>>,
    first: u32,
    max_parallelism: u32,
}

/// A snapshot's view of a [`CowMap`]: the groups as they were, shared until written again.
pub(crate) type CowView<K, V> = Vec<(u32, Arc<Map<K, V>>)>;

impl<K: StateKey, V: Clone> CowMap<K, V> {
    /// An empty map for the subtask owning `groups`.
    pub fn new(groups: &KeyGroups) -> Self {
        let count = (groups.range.end().saturating_sub(*groups.range.start()) + 1) as usize;
        CowMap {
            groups: (0..count.max(1))
                .map(|_| Group::Owned(Map::default()))
                .collect(),
            first: *groups.range.start(),
            max_parallelism: groups.max_parallelism.max(1),
        }
    }

    /// The index of `key`'s group in `groups` (a key outside the subtask's range, which the
    /// partitioner never sends, is kept in the nearest group rather than lost).
    #[inline]
    fn slot(&self, key: &K) -> usize {
        let hash = stable_hash(key);
        // Same result as `assign_to_key_group`; a mask instead of a division for the usual
        // power-of-two max parallelism (this runs on every state access).
        let group = if self.max_parallelism.is_power_of_two() {
            (hash & u64::from(self.max_parallelism - 1)) as u32
        } else {
            (hash % u64::from(self.max_parallelism)) as u32
        };
        (group.saturating_sub(self.first) as usize).min(self.groups.len() - 1)
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

    /// Adds every pair.
    pub fn extend(&mut self, pairs: impl IntoIterator<Item = (K, V)>) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }

    /// Every non-empty group's map, by key group (a read-only walk, e.g. to rebuild an index).
    pub fn groups(&self) -> impl Iterator<Item = (u32, &Map<K, V>)> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.map().is_empty())
            .map(|(i, g)| (self.first + i as u32, g.map()))
    }

    /// The snapshot view: one `Arc` per non-empty key group, whatever the number of keys. The
    /// groups stay shared until next written, so the view keeps the values of this moment.
    pub fn view(&mut self) -> CowView<K, V> {
        let first = self.first;
        self.groups
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

    fn groups() -> KeyGroups {
        KeyGroups {
            max_parallelism: 128,
            range: 0..=127,
        }
    }

    #[test]
    fn a_view_keeps_the_values_of_its_moment_while_the_map_changes() {
        let mut m: CowMap<u64, u64> = CowMap::new(&groups());
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
        let mut m: CowMap<u64, ()> = CowMap::new(&groups());
        for k in 0..500 {
            m.insert(k, ());
        }
        for (group, map) in m.view() {
            assert!(map.keys().all(|k| assign_to_key_group(k, 128) == group));
        }
    }
}
