//! An operator subtask's operator state (Flink's `OperatorStateStore`): the states its function
//! declared, by name, restored from a checkpoint when it opens and snapshotted at each barrier.

use super::broadcast_state::{BroadcastState, BroadcastStateDescriptor};
use super::error::OperatorStateError;
use super::list_state::{ListState, UnionListState};
use super::registered_state::{ElementsWriter, RegisteredState};
use super::snapshot::{
    restore_share, OperatorStateSnapshotRef, RestoredState, StateEntryRef, FORMAT_VERSION,
};
use super::state_kind::{OperatorStateValue, StateKind};
use crate::error::BoxError;
use crate::task::operator::{OperatorInfo, StateWriter};
use std::collections::BTreeMap;

/// The operator state of one operator subtask.
///
/// It promises: opened with [`OperatorStateStore::open`], it holds this subtask's share of what
/// the restored checkpoint recorded for the operator (see [`super::redistribute`]); a state is
/// declared under one name, kind and type for the operator's whole life, across restores (a
/// mismatch is an [`OperatorStateError`]); [`OperatorStateStore::snapshot`] returns at once and
/// leaves the encoding to the writer it returns. Operators written with
/// [`crate::DataStream::transform`] can hold one to get operator state without a
/// [`super::CheckpointedFunction`].
pub struct OperatorStateStore {
    uid: String,
    index: u32,
    parallelism: u32,
    is_restored: bool,
    /// Restored states not declared yet; written back as they are.
    restored: BTreeMap<String, RestoredState>,
    states: BTreeMap<String, Box<dyn RegisteredState>>,
}

impl std::fmt::Debug for OperatorStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorStateStore")
            .field("uid", &self.uid)
            .field("index", &self.index)
            .field("is_restored", &self.is_restored)
            .field("declared", &self.states.keys().collect::<Vec<_>>())
            .field("undeclared", &self.restored.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl OperatorStateStore {
    /// The store of the operator subtask `info` describes, holding its share of the state the
    /// job restores (from every subtask of the checkpoint, see
    /// [`OperatorInfo::restored_chain_states`]); empty when nothing is
    /// restored.
    pub fn open(info: &OperatorInfo) -> Result<OperatorStateStore, OperatorStateError> {
        let subtask = &info.subtask;
        let restored = restore_share(
            &info.uid,
            info.restored_chain_states(),
            subtask.parallelism,
            subtask.index,
        )?;
        Ok(OperatorStateStore {
            uid: info.uid.clone(),
            index: subtask.index,
            parallelism: subtask.parallelism,
            is_restored: restored.is_some(),
            restored: restored.unwrap_or_default(),
            states: BTreeMap::new(),
        })
    }

    /// Whether the operator's state was restored from a checkpoint.
    pub fn is_restored(&self) -> bool {
        self.is_restored
    }

    /// The context a function declares its states with.
    pub fn context(&mut self) -> OperatorStateContext<'_> {
        OperatorStateContext { store: self }
    }

    /// Declares (or finds again) state `name` of `kind`, built from its restored elements by
    /// `make` the first time.
    fn declare<S: RegisteredState + Clone + 'static>(
        &mut self,
        name: &str,
        kind: StateKind,
        type_name: &'static str,
        make: impl FnOnce(&[Vec<u8>]) -> Result<S, postcard::Error>,
    ) -> Result<S, OperatorStateError> {
        if let Some(existing) = self.states.get(name) {
            self.check(name, existing.kind(), existing.type_name(), kind, type_name)?;
            return existing
                .as_any()
                .downcast_ref::<S>()
                .cloned()
                .ok_or_else(|| OperatorStateError::TypeChanged {
                    uid: self.uid.clone(),
                    state: name.to_string(),
                    existing: existing.type_name().to_string(),
                    declared: type_name.to_string(),
                });
        }
        let state = match self.restored.get(name) {
            Some(r) => {
                self.check(name, r.kind, &r.type_name, kind, type_name)?;
                let state = make(&r.elements).map_err(|source| OperatorStateError::Decode {
                    uid: self.uid.clone(),
                    state: name.to_string(),
                    source,
                })?;
                self.restored.remove(name);
                state
            }
            None => make(&[]).map_err(|source| OperatorStateError::Decode {
                uid: self.uid.clone(),
                state: name.to_string(),
                source,
            })?,
        };
        self.states
            .insert(name.to_string(), Box::new(state.clone()));
        Ok(state)
    }

    fn check(
        &self,
        name: &str,
        existing_kind: StateKind,
        existing_type: &str,
        kind: StateKind,
        type_name: &str,
    ) -> Result<(), OperatorStateError> {
        if existing_kind != kind {
            return Err(OperatorStateError::KindChanged {
                uid: self.uid.clone(),
                state: name.to_string(),
                existing: existing_kind,
                declared: kind,
            });
        }
        if existing_type != type_name {
            return Err(OperatorStateError::TypeChanged {
                uid: self.uid.clone(),
                state: name.to_string(),
                existing: existing_type.to_string(),
                declared: type_name.to_string(),
            });
        }
        Ok(())
    }

    fn list<T: OperatorStateValue>(
        &mut self,
        name: &str,
        kind: StateKind,
    ) -> Result<ListState<T>, OperatorStateError> {
        self.declare(name, kind, std::any::type_name::<T>(), |elements| {
            let items = elements
                .iter()
                .map(|e| postcard::from_bytes::<T>(e))
                .collect::<Result<Vec<T>, postcard::Error>>()?;
            Ok(ListState::new(kind, items))
        })
    }

    pub(crate) fn broadcast<K, V>(
        &mut self,
        descriptor: &BroadcastStateDescriptor<K, V>,
    ) -> Result<BroadcastState<K, V>, OperatorStateError>
    where
        K: Ord + OperatorStateValue,
        V: OperatorStateValue,
    {
        let type_name = std::any::type_name::<(K, V)>();
        self.declare(
            descriptor.name(),
            StateKind::Broadcast,
            type_name,
            |elements| {
                let entries = elements
                    .iter()
                    .map(|e| postcard::from_bytes::<(K, V)>(e))
                    .collect::<Result<BTreeMap<K, V>, postcard::Error>>()?;
                Ok(BroadcastState::new(entries))
            },
        )
    }

    /// Fixes every state's contents for a checkpoint (an `Arc` clone per state) and returns the
    /// writer that encodes them, with the restored states nobody declared, unchanged.
    pub fn snapshot(&self) -> StateWriter {
        let uid = self.uid.clone();
        let declared: Vec<(String, StateKind, &'static str, ElementsWriter)> = self
            .states
            .iter()
            .map(|(name, s)| (name.clone(), s.kind(), s.type_name(), s.snapshot()))
            .collect();
        let undeclared: Vec<(String, RestoredState)> = self
            .restored
            .iter()
            .map(|(name, r)| (name.clone(), r.clone()))
            .collect();
        Box::new(move || -> Result<Vec<u8>, BoxError> {
            let mut encoded = Vec::with_capacity(declared.len());
            for (name, kind, type_name, write) in declared {
                let elements = write().map_err(|source| OperatorStateError::Encode {
                    uid: uid.clone(),
                    state: name.clone(),
                    source,
                })?;
                encoded.push((name, kind, type_name, elements));
            }
            let mut states: Vec<StateEntryRef<'_>> = encoded
                .iter()
                .map(|(name, kind, type_name, elements)| StateEntryRef {
                    name,
                    kind: *kind,
                    type_name,
                    elements,
                })
                .collect();
            states.extend(undeclared.iter().map(|(name, r)| StateEntryRef {
                name,
                kind: r.kind,
                type_name: &r.type_name,
                elements: &r.elements,
            }));
            let snapshot = OperatorStateSnapshotRef {
                version: FORMAT_VERSION,
                states,
            };
            Ok(postcard::to_allocvec(&snapshot)?)
        })
    }
}

/// The bytes [`OperatorStateStore::snapshot`] writes for a store that holds only list state
/// `name` with `items`: for an operator that keeps its list outside a store (the
/// two-phase-commit sink, whose list is known only once its thread pre-committed) and restores
/// it through [`OperatorStateContext::list_state`].
pub(crate) fn encode_list_state<T: OperatorStateValue>(
    name: &str,
    items: &[T],
) -> Result<Vec<u8>, BoxError> {
    let elements = (items.iter())
        .map(postcard::to_allocvec)
        .collect::<Result<Vec<_>, _>>()?;
    let snapshot = OperatorStateSnapshotRef {
        version: FORMAT_VERSION,
        states: vec![StateEntryRef {
            name,
            kind: StateKind::List,
            type_name: std::any::type_name::<T>(),
            elements: &elements,
        }],
    };
    Ok(postcard::to_allocvec(&snapshot)?)
}

/// Where a function declares its operator states, in its `open` (Flink's
/// `FunctionInitializationContext`). A declared state already holds what the restored checkpoint
/// recorded for this subtask.
pub struct OperatorStateContext<'a> {
    store: &'a mut OperatorStateStore,
}

impl OperatorStateContext<'_> {
    /// Declares list state `name` of `T` (split evenly over the subtasks on a restore at another
    /// parallelism). Declaring the same name again returns a handle to the same list; a name
    /// restored or declared as another kind or type is an error naming the operator and state.
    pub fn list_state<T: OperatorStateValue>(
        &mut self,
        name: &str,
    ) -> Result<ListState<T>, OperatorStateError> {
        self.store.list(name, StateKind::List)
    }

    /// Declares union list state `name` of `T` (every subtask restores every subtask's
    /// elements). Same rules as [`OperatorStateContext::list_state`].
    pub fn union_list_state<T: OperatorStateValue>(
        &mut self,
        name: &str,
    ) -> Result<UnionListState<T>, OperatorStateError> {
        self.store
            .list(name, StateKind::UnionList)
            .map(UnionListState)
    }

    /// Declares the broadcast state `descriptor` names (every subtask restores a full copy).
    /// The function must update it identically on every subtask (only from broadcast input).
    pub fn broadcast_state<K, V>(
        &mut self,
        descriptor: &BroadcastStateDescriptor<K, V>,
    ) -> Result<BroadcastState<K, V>, OperatorStateError>
    where
        K: Ord + OperatorStateValue,
        V: OperatorStateValue,
    {
        self.store.broadcast(descriptor)
    }

    /// Whether the operator's state was restored from a checkpoint (Flink's `isRestored`).
    pub fn is_restored(&self) -> bool {
        self.store.is_restored
    }

    /// The operator's uid.
    pub fn uid(&self) -> &str {
        &self.store.uid
    }

    /// This subtask's index, from 0.
    pub fn subtask_index(&self) -> u32 {
        self.store.index
    }

    /// The operator's parallelism.
    pub fn parallelism(&self) -> u32 {
        self.store.parallelism
    }
}
