//! Keyed state kept in memory: one table per declared state, from key to the key's state,
//! snapshotted by key group.
//!
//! A keyed operator declares its states by name when it opens, through the [`RuntimeContext`]
//! it is given, and reads or writes them for the key of the record being processed through the
//! [`KeyedContext`]. The kinds are Flink's: [`ValueState`], [`ListState`](crate::ListState),
//! [`MapState`](crate::MapState), [`ReducingState`](crate::ReducingState) and
//! [`AggregatingState`](crate::AggregatingState); the handles live in [`crate::state`].
//!
//! # Backends
//! A state's entries live in memory or in the subtask's RocksDB instance, as the job's
//! [`StateBackend`](crate::StateBackend) says; timers always live in
//! memory.
//!
//! # Snapshots
//! In memory, a snapshot shares every table's key groups in its synchronous part and serializes
//! them, grouped by key group, in its asynchronous part; RocksDB states are snapshotted together
//! through a RocksDB checkpoint. Each state is recorded with its
//! name and a type string made of its kind and the types it stores (`ValueState<u64>`,
//! `MapState<alloc::string::String, u64>`…), so a restore can check both. The snapshot also
//! records the backend that wrote it.
//!
//! # Restore rules
//! - A restored state is filled with the entries of the key groups this subtask owns, either at
//!   once (if already declared) or when it is declared.
//! - A restored state declared under another kind or with other types is an error naming the
//!   operator and the state; a state's kind and type cannot change across a restore.
//! - A restored state nobody declares is kept and carried into later snapshots.
//! - A snapshot of one backend restored by the other is an error naming the operator and both
//!   backends.

use crate::error::BoxError;
use crate::operators::keyed_process::JobClock;
use crate::state::backend::{BackendSettings, RocksDbStateBackend, StateBackend};
pub(crate) use crate::state::heap::cow_map::{CowMap, KeyGroups};
use crate::state::rocksdb::keyed_backend::{RocksFiles, RocksKeyed};
pub(crate) use crate::state::state_map::{StateMap, TableContext};
use crate::state::{KeyedStateError, StateTtlConfig};
use crate::task::operator::{OperatorInfo, SharedStateWriter, StateWriter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::ops::RangeInclusive;
use weir_actors::graph::key_group::StableBuildHasher;
use weir_actors::graph::task::TaskSnapshot;
use weir_actors::CheckpointId;

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

/// A keyed operator's snapshot: the backend that wrote it, the states kept in memory, and the
/// RocksDB instance's files (RocksDB backend).
#[derive(Serialize, Deserialize)]
struct KeyedSnapshot {
    /// `hashmap` or `rocksdb`.
    backend: String,
    /// States kept in memory (every state with the hashmap backend; timers with RocksDB).
    heap: Vec<StateSnapshot>,
    /// The RocksDB states' names and types, and the instance's files.
    rocks: Option<(Vec<(String, String)>, RocksFiles)>,
}

/// A restored state not (yet) declared: its entries if it was kept in memory.
struct Unclaimed {
    name: String,
    state_type: String,
    entries: Option<Vec<u8>>,
}

/// The entries of one declared state, behind the kind-specific handle.
pub(crate) trait StateTable<K>: Send {
    /// The table itself, for the handle to downcast.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The synchronous part of a snapshot of an in-memory table: fixes the entries now and
    /// returns the writer that serializes them, grouped by key group. A RocksDB table writes
    /// back its cached entry and returns `None` (the instance is snapshotted as a whole).
    fn snapshot(&mut self) -> Option<StateWriter>;
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
pub(crate) fn snapshot_entries<K, S>(map: &mut CowMap<K, S>) -> StateWriter
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
    unclaimed: Vec<Unclaimed>,
    max_parallelism: u32,
    key_groups: RangeInclusive<u32>,
    operator: String,
    /// The RocksDB instance, with the RocksDB backend.
    rocks: Option<RocksKeyed>,
    /// The clock time-to-live is measured on.
    clock: JobClock,
}

impl<K: StateKey> KeyedStateBackend<K> {
    /// An empty in-memory backend for the subtask owning `key_groups` of `max_parallelism`;
    /// `operator` names the operator in errors.
    pub fn new(max_parallelism: u32, key_groups: RangeInclusive<u32>, operator: &str) -> Self {
        KeyedStateBackend {
            states: Vec::new(),
            unclaimed: Vec::new(),
            max_parallelism,
            key_groups,
            operator: operator.to_string(),
            rocks: None,
            clock: JobClock::starting_at(tokio::time::Instant::now()),
        }
    }

    /// Measures time-to-live on `clock` (the job clock; by default a clock started when the
    /// backend was made). Set before states are declared.
    pub(crate) fn set_clock(&mut self, clock: JobClock) {
        self.clock = clock;
    }

    /// An empty backend of the job's state backend for the operator subtask `info` describes,
    /// owning `key_groups`.
    pub fn open(info: &OperatorInfo, key_groups: RangeInclusive<u32>) -> Result<Self, BoxError> {
        let s = &info.subtask;
        let mut backend = Self::new(s.max_parallelism, key_groups, &info.label());
        if let StateBackend::RocksDb(config) = &info.backend.backend {
            backend.use_rocksdb(&info.backend, config, &info.uid, s.index)?;
        }
        Ok(backend)
    }

    /// Keeps the states declared from now on in a new RocksDB instance of subtask `subtask` of
    /// operator `uid`.
    pub(crate) fn use_rocksdb(
        &mut self,
        settings: &BackendSettings,
        config: &RocksDbStateBackend,
        uid: &str,
        subtask: u32,
    ) -> Result<(), BoxError> {
        let rocks = RocksKeyed::open(settings, config, uid, subtask, self.max_parallelism)
            .map_err(|e| KeyedStateError::Backend {
                operator: self.operator.clone(),
                reason: format!("cannot open its RocksDB state: {e}"),
            })?;
        self.rocks = Some(rocks);
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        match self.rocks {
            Some(_) => "rocksdb",
            None => "hashmap",
        }
    }

    /// Declares the state `name` with table type `T` (built by `make` if new), filling it from
    /// the restored snapshot if there is one; returns the index its handle uses.
    pub(crate) fn register<T: StateTable<K> + 'static>(
        &mut self,
        name: &str,
        mut state_type: StateType,
        ttl: Option<StateTtlConfig>,
        make: impl FnOnce(&TableContext<'_>) -> Result<T, BoxError>,
    ) -> Result<usize, BoxError> {
        if ttl.is_some() {
            state_type.declared.push_str(" with TTL");
            state_type.recorded.push_str(" with TTL");
        }
        if let Some(i) = self.states.iter().position(|s| s.name == name) {
            let s = &self.states[i];
            if s.state_type.declared != state_type.declared || s.table_type != TypeId::of::<T>() {
                return Err(KeyedStateError::Redeclared {
                    operator: self.operator.clone(),
                    state: name.to_string(),
                    registered: s.state_type.declared.clone(),
                    requested: state_type.declared,
                }
                .into());
            }
            return Ok(i);
        }
        let table = make(&TableContext {
            groups: KeyGroups {
                max_parallelism: self.max_parallelism,
                range: self.key_groups.clone(),
            },
            name,
            rocks: self.rocks.as_ref(),
            ttl: ttl.map(|ttl| (ttl, self.clock)),
        })
        .map_err(|e| KeyedStateError::Backend {
            operator: self.operator.clone(),
            reason: format!("state {name:?}: {e}"),
        })?;
        let state = RegisteredState {
            name: name.to_string(),
            state_type,
            table_type: TypeId::of::<T>(),
            table: Box::new(table),
        };
        self.claim(state)?;
        Ok(self.states.len() - 1)
    }

    /// Fills `state` from its unclaimed snapshot, if any, and adds it to the declared states.
    fn claim(&mut self, mut state: RegisteredState<K>) -> Result<(), BoxError> {
        if let Some(pos) = self.unclaimed.iter().position(|s| s.name == state.name) {
            let restored = self.unclaimed.remove(pos);
            if restored.state_type != state.state_type.recorded {
                return Err(KeyedStateError::TypeChanged {
                    operator: self.operator.clone(),
                    state: state.name.clone(),
                    checkpointed: restored.state_type,
                    declared: state.state_type.recorded.clone(),
                }
                .into());
            }
            if let Some(entries) = &restored.entries {
                state
                    .table
                    .restore(entries, &self.key_groups)
                    .map_err(|e| KeyedStateError::Restore {
                        operator: self.operator.clone(),
                        state: format!("{:?} ({})", state.name, restored.state_type),
                        reason: e.to_string(),
                    })?;
            }
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

    /// The first error a RocksDB read or write hit since the last call (the operator fails with
    /// it); always `None` in memory.
    pub fn take_error(&mut self) -> Option<String> {
        let error = self.rocks.as_ref()?.take_error()?;
        Some(format!("operator {}: {error}", self.operator))
    }

    /// The synchronous part of the snapshot for `checkpoint` (one step per key group in memory;
    /// a memtable flush and a hard-linked RocksDB checkpoint with RocksDB) and the writer that
    /// produces its bytes.
    pub fn snapshot(&mut self, checkpoint: CheckpointId) -> Result<SharedStateWriter, BoxError> {
        let mut heap_writers = Vec::new();
        let mut rocks_states = Vec::new();
        for s in &mut self.states {
            match s.table.snapshot() {
                Some(write) => {
                    heap_writers.push((s.name.clone(), s.state_type.recorded.clone(), write))
                }
                None => rocks_states.push((s.name.clone(), s.state_type.recorded.clone())),
            }
        }
        let mut heap: Vec<StateSnapshot> = Vec::new();
        for u in &self.unclaimed {
            match &u.entries {
                Some(entries) => heap.push(StateSnapshot {
                    name: u.name.clone(),
                    state_type: u.state_type.clone(),
                    entries: entries.clone(),
                }),
                None => rocks_states.push((u.name.clone(), u.state_type.clone())),
            }
        }
        let rocks = match &mut self.rocks {
            Some(rocks) => {
                Some(
                    rocks
                        .snapshot(checkpoint)
                        .map_err(|e| KeyedStateError::Backend {
                            operator: self.operator.clone(),
                            reason: format!("RocksDB snapshot failed: {e}"),
                        })?,
                )
            }
            None => None,
        };
        let backend = self.backend_name().to_string();
        Ok(Box::new(move || {
            for (name, state_type, write) in heap_writers {
                heap.push(StateSnapshot {
                    name,
                    state_type,
                    entries: write()?,
                });
            }
            let mut shared = Vec::new();
            let rocks = match rocks {
                Some(write) => {
                    let (files, uploaded) = write()?;
                    shared = uploaded;
                    Some((rocks_states, files))
                }
                None => None,
            };
            let bytes = postcard::to_allocvec(&KeyedSnapshot {
                backend,
                heap,
                rocks,
            })?;
            Ok(TaskSnapshot { bytes, shared })
        }))
    }

    /// Compacts the RocksDB instance fully (tests start incremental checkpoints from it).
    #[cfg(test)]
    pub(crate) fn compact_rocksdb(&self) {
        if let Some(rocks) = &self.rocks {
            rocks.compact();
        }
    }

    /// Checkpoint `checkpoint` completed (the base of the next incremental RocksDB checkpoint).
    pub fn notify_complete(&mut self, checkpoint: CheckpointId) {
        if let Some(rocks) = &mut self.rocks {
            rocks.notify_complete(checkpoint);
        }
    }

    /// Loads a snapshot; each state is filled now if registered, or when it is registered.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let snapshot: KeyedSnapshot =
            postcard::from_bytes(bytes).map_err(|e| KeyedStateError::Restore {
                operator: self.operator.clone(),
                state: "*".to_string(),
                reason: format!("the checkpointed keyed state does not decode: {e}"),
            })?;
        if snapshot.backend != self.backend_name() {
            return Err(KeyedStateError::BackendMismatch {
                operator: self.operator.clone(),
                checkpoint_backend: snapshot.backend,
                job_backend: self.backend_name().to_string(),
            }
            .into());
        }
        self.unclaimed = snapshot
            .heap
            .into_iter()
            .map(|s| Unclaimed {
                name: s.name,
                state_type: s.state_type,
                entries: Some(s.entries),
            })
            .collect();
        if let (Some((states, files)), Some(rocks)) = (snapshot.rocks, self.rocks.as_mut()) {
            let declared: Vec<&str> = self.states.iter().map(|s| s.name.as_str()).collect();
            rocks
                .restore(files, &self.key_groups, declared.iter().copied())
                .map_err(|e| KeyedStateError::Restore {
                    operator: self.operator.clone(),
                    state: "*".to_string(),
                    reason: format!("the RocksDB instance cannot be restored: {e}"),
                })?;
            self.unclaimed
                .extend(states.into_iter().map(|(name, state_type)| Unclaimed {
                    name,
                    state_type,
                    entries: None,
                }));
        }
        for state in std::mem::take(&mut self.states) {
            self.claim(state)?;
        }
        Ok(())
    }
}

pub use super::context::{KeyedContext, RuntimeContext};
