//! Keyed state kept in memory: one map per declared state, from key to value, snapshotted by key
//! group.
//!
//! A keyed operator registers its states by name when it opens and reads or writes them for the
//! key of the record being processed, through the [`KeyedContext`] it is given. A snapshot copies
//! the maps in its synchronous part and serializes them, grouped by key group, in its
//! asynchronous part. A restored state whose type differs from the registered one is an error
//! naming the state.

use crate::error::BoxError;
use crate::operator::StateWriter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::RangeInclusive;
use weir_actors::key_group::{assign_to_key_group, StableBuildHasher};

/// Bounds of a value kept in keyed state.
pub trait StateValue: Clone + Serialize + DeserializeOwned + Send + 'static {}
impl<V: Clone + Serialize + DeserializeOwned + Send + 'static> StateValue for V {}

/// Bounds of a key of keyed state.
pub trait StateKey: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + 'static {}
impl<K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + 'static> StateKey for K {}

type Map<K, V> = HashMap<K, V, StableBuildHasher>;

/// One state's entries as a snapshot stores them.
#[derive(Serialize, Deserialize)]
struct StateSnapshot {
    name: String,
    value_type: String,
    /// Postcard of `Vec<(key group, Vec<(K, V)>)>`.
    entries: Vec<u8>,
}

trait StateTable<K>: Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn snapshot(
        &self,
        max_parallelism: u32,
    ) -> Box<dyn FnOnce() -> Result<Vec<u8>, BoxError> + Send>;
    fn restore(&mut self, entries: &[u8], key_groups: &RangeInclusive<u32>)
        -> Result<(), BoxError>;
}

struct ValueTable<K, V>(Map<K, V>);

impl<K: StateKey, V: StateValue> StateTable<K> for ValueTable<K, V> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.0
    }

    fn snapshot(
        &self,
        max_parallelism: u32,
    ) -> Box<dyn FnOnce() -> Result<Vec<u8>, BoxError> + Send> {
        let copy: Vec<(K, V)> = self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Box::new(move || {
            let mut groups: BTreeMap<u32, Vec<(K, V)>> = BTreeMap::new();
            for (k, v) in copy {
                groups
                    .entry(assign_to_key_group(&k, max_parallelism))
                    .or_default()
                    .push((k, v));
            }
            let groups: Vec<(u32, Vec<(K, V)>)> = groups.into_iter().collect();
            Ok(postcard::to_allocvec(&groups)?)
        })
    }

    fn restore(
        &mut self,
        entries: &[u8],
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        let groups: Vec<(u32, Vec<(K, V)>)> = postcard::from_bytes(entries)?;
        for (group, pairs) in groups {
            if key_groups.contains(&group) {
                self.0.extend(pairs);
            }
        }
        Ok(())
    }
}

struct RegisteredState<K> {
    name: String,
    value_type: &'static str,
    table: Box<dyn StateTable<K>>,
}

/// The keyed states of one operator subtask.
pub struct KeyedStateBackend<K> {
    states: Vec<RegisteredState<K>>,
    /// Restored states not (yet) registered: kept and carried into later snapshots.
    unclaimed: Vec<StateSnapshot>,
    max_parallelism: u32,
    key_groups: RangeInclusive<u32>,
    operator: String,
}

impl<K: StateKey> KeyedStateBackend<K> {
    /// An empty backend for the subtask owning `key_groups` of `max_parallelism`; `operator`
    /// names the operator in errors.
    pub fn new(max_parallelism: u32, key_groups: RangeInclusive<u32>, operator: &str) -> Self {
        KeyedStateBackend {
            states: Vec::new(),
            unclaimed: Vec::new(),
            max_parallelism,
            key_groups,
            operator: operator.to_string(),
        }
    }

    fn register<V: StateValue>(&mut self, name: &str) -> Result<usize, BoxError> {
        let value_type = std::any::type_name::<V>();
        if let Some(i) = self.states.iter().position(|s| s.name == name) {
            let s = &self.states[i];
            if s.value_type != value_type {
                return Err(format!(
                    "operator {}: state {name:?} is registered as {} and cannot be used as {value_type}",
                    self.operator, s.value_type
                )
                .into());
            }
            return Ok(i);
        }
        let mut table: Box<dyn StateTable<K>> = Box::new(ValueTable::<K, V>(Map::default()));
        if let Some(pos) = self.unclaimed.iter().position(|s| s.name == name) {
            let restored = self.unclaimed.remove(pos);
            if restored.value_type != value_type {
                return Err(format!(
                    "operator {}: state {name:?} was checkpointed as {} but is now declared as {value_type}; \
                     a state's type cannot change across a restore",
                    self.operator, restored.value_type
                )
                .into());
            }
            table
                .restore(&restored.entries, &self.key_groups)
                .map_err(|e| {
                    format!(
                        "operator {}: state {name:?} cannot be restored: {e}",
                        self.operator
                    )
                })?;
        }
        self.states.push(RegisteredState {
            name: name.to_string(),
            value_type,
            table,
        });
        Ok(self.states.len() - 1)
    }

    fn map<V: 'static>(&mut self, index: usize) -> &mut Map<K, V> {
        match self
            .states
            .get_mut(index)
            .and_then(|s| s.table.as_any_mut().downcast_mut::<Map<K, V>>())
        {
            Some(map) => map,
            None => panic!("keyed state used before the operator's open() registered it"),
        }
    }

    /// Copies every state (synchronous part) and returns the writer that serializes them.
    pub fn snapshot(&self) -> StateWriter {
        let writers: Vec<_> = self
            .states
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.value_type.to_string(),
                    s.table.snapshot(self.max_parallelism),
                )
            })
            .collect();
        let unclaimed: Vec<StateSnapshot> = self
            .unclaimed
            .iter()
            .map(|s| StateSnapshot {
                name: s.name.clone(),
                value_type: s.value_type.clone(),
                entries: s.entries.clone(),
            })
            .collect();
        Box::new(move || {
            let mut all = unclaimed;
            for (name, value_type, write) in writers {
                all.push(StateSnapshot {
                    name,
                    value_type,
                    entries: write()?,
                });
            }
            Ok(postcard::to_allocvec(&all)?)
        })
    }

    /// Loads a snapshot; each state is filled now if registered, or when it is registered.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        self.unclaimed = postcard::from_bytes(bytes).map_err(|e| {
            format!(
                "operator {}: keyed state does not decode: {e}",
                self.operator
            )
        })?;
        for state in std::mem::take(&mut self.states) {
            self.reregister(state)?;
        }
        Ok(())
    }

    fn reregister(&mut self, state: RegisteredState<K>) -> Result<(), BoxError> {
        let Some(pos) = self.unclaimed.iter().position(|s| s.name == state.name) else {
            self.states.push(state);
            return Ok(());
        };
        let restored = self.unclaimed.remove(pos);
        if restored.value_type != state.value_type {
            return Err(format!(
                "operator {}: state {:?} was checkpointed as {} but is now declared as {}",
                self.operator, state.name, restored.value_type, state.value_type
            )
            .into());
        }
        let mut state = state;
        state.table.restore(&restored.entries, &self.key_groups)?;
        self.states.push(state);
        Ok(())
    }
}

/// Where a keyed operator declares its states, once, when it opens.
pub struct RuntimeContext<'a, K> {
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
}

impl<K: StateKey> RuntimeContext<'_, K> {
    /// The value state called `name`: one `V` per key. Asking again for the same name returns the
    /// same state; asking for it with another type is an error naming the state.
    pub fn value_state<V: StateValue>(&mut self, name: &str) -> Result<ValueState<V>, BoxError> {
        Ok(ValueState {
            index: self.backend.register::<V>(name)?,
            _v: PhantomData,
        })
    }
}

/// Access to the state of the key being processed.
pub struct KeyedContext<'a, K> {
    pub(crate) key: &'a K,
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
}

impl<K> KeyedContext<'_, K> {
    /// The key of the record being processed.
    pub fn current_key(&self) -> &K {
        self.key
    }
}

/// A handle to a value state: one `V` per key. Registered in `open` through [`RuntimeContext`];
/// using a handle that was never registered panics (which fails the subtask, naming the operator).
pub struct ValueState<V> {
    index: usize,
    _v: PhantomData<fn(V) -> V>,
}

impl<V> Default for ValueState<V> {
    fn default() -> Self {
        ValueState {
            index: usize::MAX,
            _v: PhantomData,
        }
    }
}

impl<V> Clone for ValueState<V> {
    fn clone(&self) -> Self {
        ValueState {
            index: self.index,
            _v: PhantomData,
        }
    }
}

impl<V: StateValue> ValueState<V> {
    /// The current key's value, if it has one.
    pub fn value<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) -> Option<V> {
        ctx.backend.map::<V>(self.index).get(ctx.key).cloned()
    }

    /// Sets the current key's value.
    pub fn update<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, value: V) {
        let key = ctx.key.clone();
        ctx.backend.map::<V>(self.index).insert(key, value);
    }

    /// Changes the current key's value in place, starting from `init` when it has none; returns a
    /// reference to the new value.
    pub fn modify<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
        init: impl FnOnce() -> V,
        f: impl FnOnce(&mut V),
    ) -> &'c V {
        let map = ctx.backend.map::<V>(self.index);
        if !map.contains_key(ctx.key) {
            map.insert(ctx.key.clone(), init());
        }
        match map.get_mut(ctx.key) {
            Some(v) => {
                f(v);
                v
            }
            None => unreachable!("the key was inserted just above"),
        }
    }

    /// Removes the current key's value.
    pub fn clear<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) {
        ctx.backend.map::<V>(self.index).remove(ctx.key);
    }
}
