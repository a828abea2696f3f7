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
//! name and a type string made of its kind and the [`TypeIdentity`] of the types it stores
//! (`ValueState<u64>`, `MapState<String, u64>`: the `type_name` without module paths), or the
//! identity given with [`RuntimeContext::with_type_id`](crate::RuntimeContext::with_type_id)
//! (`ValueState<click/v2>`), so a restore can check both. The snapshot also records the backend
//! that wrote it and the processing time it was taken at, from which the restored job clock
//! continues (see [`crate::time::job_clock`]).
//!
//! # Restore rules
//! - A restored state is filled with the entries of the key groups this subtask owns, either at
//!   once (if already declared) or when it is declared.
//! - A restored state declared under another kind or with other types is an error naming the
//!   operator and the state; a state's kind and type cannot change across a restore. The
//!   recorded and the declared type strings are compared after normalizing both
//!   ([`TypeIdentity::matches`]): a state recorded by an earlier weir with full `type_name`
//!   paths (`ValueState<alloc::string::String>`) restores into `ValueState<String>`, and a type
//!   moved to another module or renamed under an explicit identity restores too.
//! - A restored state nobody declares is kept and carried into later snapshots.
//! - A snapshot of either backend restores into the other (see [`super::cross_backend`]); a
//!   canonical savepoint ([`SnapshotKind`]) holds entries only, whichever backend wrote it.
//!
//! # Errors during a call
//! A state access that fails (a key of a key group the subtask does not own, a RocksDB read or
//! write) is recorded and returned by [`KeyedStateBackend::take_error`] after the call, as a
//! [`KeyedStateError`] naming the operator, the state and the key group; the operator fails
//! with it before anything the call emitted is sent.

use crate::error::BoxError;
use crate::state::access_error::ErrorSlot;
use crate::state::backend::{BackendSettings, RocksDbStateBackend, StateBackend};
use crate::state::key_groups::KeyGroups;
use crate::state::keyed::cross_backend;
use crate::state::keyed::error::KeyedStateError;
use crate::state::keyed::snapshot::{KeyedSnapshot, StateEntries, StateSnapshot};
use crate::state::keyed::state_table::{StateTable, StateType};
use crate::state::rocksdb::keyed_backend::{
    RocksFiles, RocksKeyed, RocksWriter, SnapshotDirs, StagedWriter,
};
use crate::state::rocksdb::store::MAX_KEY_GROUP;
use crate::state::state_map::TableContext;
use crate::state::ttl::StateTtlConfig;
use crate::state::type_identity::TypeIdentity;
use crate::task::operator::{OperatorInfo, SharedStateWriter};
use crate::time::job_clock::JobClock;
use std::any::TypeId;
use std::ops::RangeInclusive;
use weir_actors::checkpoint::snapshot_kind::SnapshotKind;
use weir_actors::config::configuration::StateBackendKind;
use weir_actors::graph::task::TaskSnapshot;
use weir_actors::CheckpointId;

pub use crate::state::state_key::{StateKey, StateValue};

/// A restored state not (yet) declared: its entries, unless the RocksDB instance keeps it.
struct Unclaimed {
    name: String,
    state_type: String,
    entries: Option<StateEntries>,
}

/// The RocksDB part of a snapshot in progress.
enum RocksPart {
    /// The instance's files (a checkpoint, a native savepoint).
    Native(RocksWriter, Vec<(String, String)>),
    /// A staged copy of the instance to read its states' entries from (a canonical savepoint).
    Canonical(StagedWriter, Vec<(String, String)>),
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
    key_groups: KeyGroups,
    operator: String,
    /// The RocksDB instance, with the RocksDB backend.
    rocks: Option<RocksKeyed>,
    /// The processing time time-to-live and timers are measured on.
    clock: JobClock,
    /// The first state access that failed since the operator last looked.
    errors: ErrorSlot,
    /// Where the RocksDB snapshots it may restore keep their files.
    dirs: SnapshotDirs,
}

impl<K: StateKey> KeyedStateBackend<K> {
    /// An empty in-memory backend for the subtask owning `key_groups` of `max_parallelism`;
    /// `operator` names the operator in errors. Its clock reads 0 now (see
    /// [`JobClock::starting_at`]).
    pub fn new(max_parallelism: u32, key_groups: RangeInclusive<u32>, operator: &str) -> Self {
        KeyedStateBackend {
            states: Vec::new(),
            unclaimed: Vec::new(),
            key_groups: KeyGroups::new(max_parallelism, key_groups),
            operator: operator.to_string(),
            rocks: None,
            clock: JobClock::starting_at(tokio::time::Instant::now()),
            errors: ErrorSlot::default(),
            dirs: SnapshotDirs::default(),
        }
    }

    /// Measures time-to-live on `clock`. Set before states are declared.
    pub(crate) fn set_clock(&mut self, clock: JobClock) {
        self.clock = clock;
    }

    /// The clock time-to-live and timers are measured on.
    pub(crate) fn clock(&self) -> &JobClock {
        &self.clock
    }

    /// An empty backend of the job's state backend for the operator subtask `info` describes,
    /// owning `key_groups`, on the job's clock.
    pub fn open(info: &OperatorInfo, key_groups: RangeInclusive<u32>) -> Result<Self, BoxError> {
        let s = &info.subtask;
        let mut backend = Self::new(s.max_parallelism, key_groups, &info.label());
        backend.set_clock(JobClock::new(s.job_start, info.backend.clock.clone()));
        backend.dirs = SnapshotDirs::of(&info.backend);
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
        let max_parallelism = self.key_groups.max_parallelism();
        let rocks =
            RocksKeyed::open(settings, config, uid, subtask, max_parallelism).map_err(|e| {
                KeyedStateError::Backend {
                    operator: self.operator.clone(),
                    reason: format!("cannot open its RocksDB state: {e}"),
                }
            })?;
        self.rocks = Some(rocks);
        Ok(())
    }

    fn backend_kind(&self) -> StateBackendKind {
        match self.rocks {
            Some(_) => StateBackendKind::RocksDb,
            None => StateBackendKind::HashMap,
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
            groups: self.key_groups.clone(),
            name,
            rocks: self.rocks.as_ref(),
            errors: &self.errors,
            ttl: ttl.map(|ttl| (ttl, self.clock.clone())),
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
        // After a rescale a state has one restored part per old subtask it overlaps.
        // A refused declaration leaves the restored state unclaimed.
        while let Some(pos) = self.unclaimed.iter().position(|s| s.name == state.name) {
            let recorded = &self.unclaimed[pos].state_type;
            if !TypeIdentity::matches(recorded, &state.state_type.recorded) {
                return Err(KeyedStateError::TypeChanged {
                    operator: self.operator.clone(),
                    state: state.name.clone(),
                    checkpointed: recorded.clone(),
                    declared: state.state_type.recorded.clone(),
                }
                .into());
            }
            let restored = self.unclaimed.remove(pos);
            if let Some(entries) = &restored.entries {
                state
                    .table
                    .restore(entries, &self.key_groups.range)
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

    /// The first state access that failed since the last call (a key of a key group this
    /// subtask does not own; a RocksDB read or write): the operator fails with it.
    pub fn take_error(&mut self) -> Option<KeyedStateError> {
        let failed = self.errors.lock().take()?;
        Some(failed.into_error(&self.operator))
    }

    /// The synchronous part of the snapshot for `checkpoint` (one step per key group in memory;
    /// a memtable flush and a hard-linked RocksDB checkpoint with RocksDB) and the writer that
    /// produces its bytes. For a canonical savepoint (`kind`), the RocksDB states too are
    /// written as entries, read from that RocksDB checkpoint while processing goes on.
    pub fn snapshot(
        &mut self,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<SharedStateWriter, BoxError> {
        let mut table_writers = Vec::new();
        let mut rocks_states = Vec::new();
        for s in &mut self.states {
            let (name, recorded) = (s.name.clone(), s.state_type.recorded.clone());
            match s.table.snapshot() {
                Some(write) => table_writers.push((name, recorded, write)),
                None => rocks_states.push((name, recorded)),
            }
        }
        let mut states: Vec<StateSnapshot> = Vec::new();
        for u in &self.unclaimed {
            match &u.entries {
                Some(entries) => states.push(StateSnapshot {
                    name: u.name.clone(),
                    state_type: u.state_type.clone(),
                    entries: entries.clone(),
                }),
                None => rocks_states.push((u.name.clone(), u.state_type.clone())),
            }
        }
        let rocks = self.snapshot_rocks(checkpoint, kind, rocks_states)?;
        let (backend, clock_ms) = (self.backend_kind(), self.clock.now_ms());
        Ok(Box::new(move || {
            for (name, state_type, write) in table_writers {
                let entries = write()?;
                states.push(StateSnapshot {
                    name,
                    state_type,
                    entries,
                });
            }
            let (mut shared, mut files_bytes) = (Vec::new(), 0);
            let rocks = match rocks {
                Some(RocksPart::Native(write, rocks_states)) => {
                    let (files, uploaded) = write()?;
                    (shared, files_bytes) = (uploaded, files.private_bytes());
                    Some((rocks_states, files))
                }
                Some(RocksPart::Canonical(write, rocks_states)) => {
                    let staged = write()?;
                    let all = 0..=MAX_KEY_GROUP;
                    let entries =
                        cross_backend::canonical_states(staged.store(), &rocks_states, &all);
                    states.extend(entries?);
                    None
                }
                None => None,
            };
            let snapshot = KeyedSnapshot {
                backend,
                clock_ms,
                states,
                rocks,
            };
            Ok(TaskSnapshot {
                bytes: snapshot.encode()?,
                shared,
                files_bytes,
            })
        }))
    }

    /// The synchronous part of the RocksDB instance's snapshot, if there is one.
    fn snapshot_rocks(
        &mut self,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
        rocks_states: Vec<(String, String)>,
    ) -> Result<Option<RocksPart>, BoxError> {
        let Some(rocks) = &mut self.rocks else {
            return Ok(None);
        };
        let part = match kind.is_canonical() {
            true => {
                (rocks.snapshot_staged(checkpoint)).map(|w| RocksPart::Canonical(w, rocks_states))
            }
            false => (rocks.snapshot(checkpoint)).map(|w| RocksPart::Native(w, rocks_states)),
        };
        part.map(Some).map_err(|e| {
            KeyedStateError::Backend {
                operator: self.operator.clone(),
                reason: format!("RocksDB snapshot failed: {e}"),
            }
            .into()
        })
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

    /// Loads a snapshot; each state is filled now if registered, or when it is registered. The
    /// clock moves on to the snapshot's processing time if it is behind it.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        self.restore_all(&[bytes])
    }

    /// Loads the snapshots of every old subtask whose key groups overlap this subtask's (a
    /// restore at another parallelism), keeping the entries of the key groups this subtask
    /// owns from each; with one snapshot, the same as [`KeyedStateBackend::restore`]. The clock
    /// moves on to the latest snapshot's processing time.
    pub fn restore_all(&mut self, snapshots: &[&[u8]]) -> Result<(), BoxError> {
        let mut rocks_parts = Vec::new();
        let mut unclaimed = Vec::new();
        for bytes in snapshots {
            let snapshot = KeyedSnapshot::decode(bytes, &self.operator)?;
            self.clock.advance_to(snapshot.clock_ms);
            let mut states = snapshot.states;
            match (snapshot.rocks, self.rocks.is_some()) {
                (Some(part), true) => rocks_parts.push(part),
                // Written by RocksDB, restored into memory (see `cross_backend`).
                (Some((rocks_states, files)), false) => {
                    states.extend(self.rocks_to_heap(&rocks_states, files)?)
                }
                (None, _) => {}
            }
            unclaimed.extend(states.into_iter().map(|s| Unclaimed {
                name: s.name,
                state_type: s.state_type,
                entries: Some(s.entries),
            }));
        }
        self.unclaimed = unclaimed;
        self.restore_rocks(rocks_parts)?;
        for state in std::mem::take(&mut self.states) {
            self.claim(state)?;
        }
        Ok(())
    }

    /// A RocksDB snapshot part's states as in-memory snapshots of this subtask's key groups.
    fn rocks_to_heap(
        &self,
        states: &[(String, String)],
        files: RocksFiles,
    ) -> Result<Vec<StateSnapshot>, BoxError> {
        let range = &self.key_groups.range;
        cross_backend::rocks_to_heap(states, files, range, &self.dirs).map_err(|e| {
            KeyedStateError::Restore {
                operator: self.operator.clone(),
                state: "*".to_string(),
                reason: format!("the RocksDB state cannot be read into memory: {e}"),
            }
            .into()
        })
    }

    /// Restores the RocksDB instance from the snapshots' RocksDB parts (one per overlapping old
    /// subtask), keeping the owned key groups; states nobody declared yet stay unclaimed.
    fn restore_rocks(
        &mut self,
        parts: Vec<(Vec<(String, String)>, RocksFiles)>,
    ) -> Result<(), BoxError> {
        let Some(rocks) = self.rocks.as_mut() else {
            return Ok(());
        };
        let declared: Vec<&str> = self.states.iter().map(|s| s.name.as_str()).collect();
        let mut names: Vec<(String, String)> = Vec::new();
        let mut files = Vec::new();
        for (states, part) in parts {
            for s in states {
                if !names.iter().any(|(n, _)| *n == s.0) {
                    names.push(s);
                }
            }
            files.push(part);
        }
        let all: Vec<&str> = declared
            .iter()
            .copied()
            .chain(names.iter().map(|(n, _)| n.as_str()))
            .collect();
        rocks
            .restore_merged(files, &self.key_groups.range, &all)
            .map_err(|e| KeyedStateError::Restore {
                operator: self.operator.clone(),
                state: "*".to_string(),
                reason: format!("the RocksDB instance cannot be restored: {e}"),
            })?;
        self.unclaimed
            .extend(names.into_iter().map(|(name, state_type)| Unclaimed {
                name,
                state_type,
                entries: None,
            }));
        Ok(())
    }
}
