//! Keyed state kept in memory: one table per declared state, from key to the key's state,
//! snapshotted by key group.
//!
//! A keyed operator declares its states by name when it opens, through the [`RuntimeContext`]
//! it is given, and reads or writes them for the key of the record being processed through the
//! [`KeyedContext`]. The kinds are Flink's: [`ValueState`], [`ListState`](crate::ListState),
//! [`MapState`](crate::MapState), [`ReducingState`](crate::ReducingState) and
//! [`AggregatingState`](crate::AggregatingState); the handles live in [`crate::state`].
//!
//! # Snapshots
//! A snapshot copies every table in its synchronous part and serializes the copies, grouped by
//! key group, in its asynchronous part. Each state is recorded with its name and a type string
//! made of its kind and the types it stores (`ValueState<u64>`, `MapState<alloc::string::String,
//! u64>`…), so a restore can check both.
//!
//! # Restore rules
//! - A restored state is filled with the entries of the key groups this subtask owns, either at
//!   once (if already declared) or when it is declared.
//! - A restored state declared under another kind or with other types is an error naming the
//!   operator and the state; a state's kind and type cannot change across a restore.
//! - A restored state nobody declares is kept and carried into later snapshots.

pub(crate) use crate::cow_map::{CowMap, KeyGroups};
use crate::error::BoxError;
use crate::operator::StateWriter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::ops::RangeInclusive;
use weir_actors::key_group::StableBuildHasher;

pub use crate::state::ValueState;

/// Bounds of a value kept in keyed state.
pub trait StateValue: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<V: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> StateValue for V {}

/// Bounds of a key of keyed state (and of a [`MapState`](crate::MapState)'s user key).
pub trait StateKey:
    Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static> StateKey for K {}

/// The hash map every table uses, with the stable hasher.
pub(crate) type Map<K, V> = HashMap<K, V, StableBuildHasher>;

/// One state's entries as a snapshot stores them.
#[derive(Serialize, Deserialize)]
struct StateSnapshot {
    name: String,
    /// The state's kind and stored types, e.g. `ListState<u64>`.
    state_type: String,
    /// Postcard of `Vec<(key group, Vec<(K, per-key state)>)>`.
    entries: Vec<u8>,
}

/// The entries of one declared state, behind the kind-specific handle.
pub(crate) trait StateTable<K>: Send {
    /// The table itself, for the handle to downcast.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Copies the entries now; the writer serializes them later, grouped by key group.
    fn snapshot(&mut self, max_parallelism: u32) -> StateWriter;
    /// Adds the entries of `entries` whose key group is in `key_groups`.
    fn restore(&mut self, entries: &[u8], key_groups: &RangeInclusive<u32>)
        -> Result<(), BoxError>;
}

/// How a state is described: `declared` is checked when a name is declared again in the same
/// subtask, `recorded` is written to snapshots and checked on restore. They differ only where a
/// type is not stored (an aggregating state's input and output types).
pub(crate) struct StateType {
    pub(crate) declared: String,
    pub(crate) recorded: String,
}

impl StateType {
    /// A state whose declared types are all stored.
    pub(crate) fn stored(description: String) -> Self {
        StateType {
            declared: description.clone(),
            recorded: description,
        }
    }
}

/// Takes `map`'s snapshot view (the synchronous part: one `Arc` per key group) and returns the
/// writer that serializes it as `Vec<(key group, Vec<(K, S)>)>`.
pub(crate) fn snapshot_entries<K, S>(map: &mut CowMap<K, S>, _max_parallelism: u32) -> StateWriter
where
    K: StateKey,
    S: Clone + Serialize + Send + Sync + 'static,
{
    let view = map.view();
    Box::new(move || {
        let groups: Vec<(u32, Vec<(&K, &S)>)> =
            view.iter().map(|(g, m)| (*g, m.iter().collect())).collect();
        Ok(postcard::to_allocvec(&groups)?)
    })
}

/// Adds to `map` the entries [`snapshot_entries`] wrote whose key group is in `key_groups`.
pub(crate) fn restore_entries<K, S>(
    map: &mut CowMap<K, S>,
    entries: &[u8],
    key_groups: &RangeInclusive<u32>,
) -> Result<(), BoxError>
where
    K: StateKey,
    S: DeserializeOwned + Clone,
{
    let groups: Vec<(u32, Vec<(K, S)>)> = postcard::from_bytes(entries)?;
    for (group, pairs) in groups {
        if key_groups.contains(&group) {
            map.extend(pairs);
        }
    }
    Ok(())
}

struct RegisteredState<K> {
    name: String,
    state_type: StateType,
    table_type: TypeId,
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

    /// Declares the state `name` with table type `T` (built by `make` if new), filling it from
    /// the restored snapshot if there is one; returns the index its handle uses.
    pub(crate) fn register<T: StateTable<K> + 'static>(
        &mut self,
        name: &str,
        state_type: StateType,
        make: impl FnOnce(&KeyGroups) -> T,
    ) -> Result<usize, BoxError> {
        if let Some(i) = self.states.iter().position(|s| s.name == name) {
            let s = &self.states[i];
            if s.state_type.declared != state_type.declared || s.table_type != TypeId::of::<T>() {
                return Err(format!(
                    "operator {}: state {name:?} is registered as {} and cannot be used as {}",
                    self.operator, s.state_type.declared, state_type.declared
                )
                .into());
            }
            return Ok(i);
        }
        let state = RegisteredState {
            name: name.to_string(),
            state_type,
            table_type: TypeId::of::<T>(),
            table: Box::new(make(&KeyGroups {
                max_parallelism: self.max_parallelism,
                range: self.key_groups.clone(),
            })),
        };
        self.claim(state)?;
        Ok(self.states.len() - 1)
    }

    /// Fills `state` from its unclaimed snapshot, if any, and adds it to the declared states.
    fn claim(&mut self, mut state: RegisteredState<K>) -> Result<(), BoxError> {
        if let Some(pos) = self.unclaimed.iter().position(|s| s.name == state.name) {
            let restored = self.unclaimed.remove(pos);
            if restored.state_type != state.state_type.recorded {
                return Err(format!(
                    "operator {}: state {:?} was checkpointed as {} but is now declared as {}; \
                     a state's kind and type cannot change across a restore",
                    self.operator, state.name, restored.state_type, state.state_type.recorded
                )
                .into());
            }
            state
                .table
                .restore(&restored.entries, &self.key_groups)
                .map_err(|e| {
                    format!(
                        "operator {}: state {:?} ({}) cannot be restored: {e}",
                        self.operator, state.name, restored.state_type
                    )
                })?;
        }
        self.states.push(state);
        Ok(())
    }

    /// The table of the state registered at `index`.
    ///
    /// # Panics
    /// If no state of table type `T` is registered at `index`: the handle was never registered
    /// (or belongs to another operator). The subtask fails, naming the operator.
    pub(crate) fn table<T: 'static>(&mut self, index: usize) -> &mut T {
        match self
            .states
            .get_mut(index)
            .and_then(|s| s.table.as_any_mut().downcast_mut::<T>())
        {
            Some(table) => table,
            None => panic!("keyed state used before the operator's open() registered it"),
        }
    }

    /// Shares every state's key groups with the snapshot (synchronous part, one step per key
    /// group) and returns the writer that serializes them.
    pub fn snapshot(&mut self) -> StateWriter {
        let max_parallelism = self.max_parallelism;
        let writers: Vec<_> = self
            .states
            .iter_mut()
            .map(|s| {
                (
                    s.name.clone(),
                    s.state_type.recorded.clone(),
                    s.table.snapshot(max_parallelism),
                )
            })
            .collect();
        let unclaimed: Vec<StateSnapshot> = self
            .unclaimed
            .iter()
            .map(|s| StateSnapshot {
                name: s.name.clone(),
                state_type: s.state_type.clone(),
                entries: s.entries.clone(),
            })
            .collect();
        Box::new(move || {
            let mut all = unclaimed;
            for (name, state_type, write) in writers {
                all.push(StateSnapshot {
                    name,
                    state_type,
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
            self.claim(state)?;
        }
        Ok(())
    }
}

/// Where a keyed operator declares its states, once, when it opens.
///
/// Each kind has its method: [`value_state`](Self::value_state),
/// [`list_state`](Self::list_state), [`map_state`](Self::map_state),
/// [`reducing_state`](Self::reducing_state), [`aggregating_state`](Self::aggregating_state).
/// Asking again for the same name returns the same state; asking for it under another kind or
/// with other types is an error naming the state.
pub struct RuntimeContext<'a, K> {
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
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

impl<K: StateKey> KeyedContext<'_, K> {
    /// The current key and the table of the state registered at `index` (see
    /// [`KeyedStateBackend::table`] for when it panics).
    pub(crate) fn table<T: 'static>(&mut self, index: usize) -> (&K, &mut T) {
        (self.key, self.backend.table::<T>(index))
    }
}
