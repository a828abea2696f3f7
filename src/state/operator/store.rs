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
use crate::state::type_identity::TypeIdentity;
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
    states: BTreeMap<String, DeclaredState>,
}

/// A declared state and the type identity it is recorded with.
struct DeclaredState {
    identity: TypeIdentity,
    state: Box<dyn RegisteredState>,
}

/// What a function declares: a state's name, kind and type identity, and the `type_name` of
/// its elements (for the error when a name is declared again with another Rust type).
struct Declaration<'a> {
    name: &'a str,
    kind: StateKind,
    identity: TypeIdentity,
    rust_type: &'static str,
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
        OperatorStateContext {
            store: self,
            type_id: None,
        }
    }

    /// Declares (or finds again) the state `d` describes, built from its restored elements by
    /// `make` the first time.
    fn declare<S: RegisteredState + Clone + 'static>(
        &mut self,
        d: Declaration<'_>,
        make: impl FnOnce(&[Vec<u8>]) -> Result<S, postcard::Error>,
    ) -> Result<S, OperatorStateError> {
        let name = d.name;
        if let Some(existing) = self.states.get(name) {
            let state = &existing.state;
            self.check(&d, state.kind(), existing.identity.as_str())?;
            return (state.as_any().downcast_ref::<S>().cloned()).ok_or_else(|| {
                OperatorStateError::TypeChanged {
                    uid: self.uid.clone(),
                    state: name.to_string(),
                    existing: state.type_name().to_string(),
                    declared: d.rust_type.to_string(),
                }
            });
        }
        let state = match self.restored.get(name) {
            Some(r) => {
                self.check(&d, r.kind, &r.type_name)?;
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
        let declared = DeclaredState {
            identity: d.identity,
            state: Box::new(state.clone()),
        };
        self.states.insert(name.to_string(), declared);
        Ok(state)
    }

    /// Checks declaration `d` against the kind and the type identity the state has (restored,
    /// possibly a full `type_name` of an earlier weir, or first declared): identities are
    /// compared after normalizing both.
    fn check(
        &self,
        d: &Declaration<'_>,
        existing_kind: StateKind,
        existing_identity: &str,
    ) -> Result<(), OperatorStateError> {
        if existing_kind != d.kind {
            return Err(OperatorStateError::KindChanged {
                uid: self.uid.clone(),
                state: d.name.to_string(),
                existing: existing_kind,
                declared: d.kind,
            });
        }
        if !TypeIdentity::matches(existing_identity, d.identity.as_str()) {
            return Err(OperatorStateError::TypeChanged {
                uid: self.uid.clone(),
                state: d.name.to_string(),
                existing: existing_identity.to_string(),
                declared: d.identity.to_string(),
            });
        }
        Ok(())
    }

    fn list<T: OperatorStateValue>(
        &mut self,
        name: &str,
        kind: StateKind,
        explicit: Option<TypeIdentity>,
    ) -> Result<ListState<T>, OperatorStateError> {
        let declaration = Declaration {
            name,
            kind,
            identity: explicit.unwrap_or_else(TypeIdentity::of::<T>),
            rust_type: std::any::type_name::<T>(),
        };
        self.declare(declaration, |elements| {
            let items = elements
                .iter()
                .map(|e| postcard::from_bytes::<T>(e))
                .collect::<Result<Vec<T>, postcard::Error>>()?;
            Ok(ListState::new(kind, items))
        })
    }

    /// Declares the broadcast state `descriptor` names, recorded with the identity `explicit`,
    /// else the descriptor's, else that of `(K, V)`.
    pub(crate) fn broadcast<K, V>(
        &mut self,
        descriptor: &BroadcastStateDescriptor<K, V>,
        explicit: Option<TypeIdentity>,
    ) -> Result<BroadcastState<K, V>, OperatorStateError>
    where
        K: Ord + OperatorStateValue,
        V: OperatorStateValue,
    {
        let identity = (explicit.or_else(|| descriptor.type_id().map(TypeIdentity::named)))
            .unwrap_or_else(TypeIdentity::of::<(K, V)>);
        let declaration = Declaration {
            name: descriptor.name(),
            kind: StateKind::Broadcast,
            identity,
            rust_type: std::any::type_name::<(K, V)>(),
        };
        self.declare(declaration, |elements| {
            let entries = elements
                .iter()
                .map(|e| postcard::from_bytes::<(K, V)>(e))
                .collect::<Result<BTreeMap<K, V>, postcard::Error>>()?;
            Ok(BroadcastState::new(entries))
        })
    }

    /// Fixes every state's contents for a checkpoint (an `Arc` clone per state) and returns the
    /// writer that encodes them, with the restored states nobody declared, unchanged.
    pub fn snapshot(&self) -> StateWriter {
        let uid = self.uid.clone();
        let declared: Vec<(String, StateKind, String, ElementsWriter)> = (self.states.iter())
            .map(|(name, d)| {
                let identity = d.identity.to_string();
                (name.clone(), d.state.kind(), identity, d.state.snapshot())
            })
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
    let identity = TypeIdentity::of::<T>();
    let snapshot = OperatorStateSnapshotRef {
        version: FORMAT_VERSION,
        states: vec![StateEntryRef {
            name,
            kind: StateKind::List,
            type_name: identity.as_str(),
            elements: &elements,
        }],
    };
    Ok(postcard::to_allocvec(&snapshot)?)
}

/// Where a function declares its operator states, in its `open` (Flink's
/// `FunctionInitializationContext`). A declared state already holds what the restored checkpoint
/// recorded for this subtask.
///
/// Each state is recorded with its kind and the [`TypeIdentity`] of its elements (their
/// `type_name` without module paths), or an identity given with
/// [`with_type_id`](Self::with_type_id). A restore compares the recorded identity with the
/// declared one after normalizing both: a recompiled job, a type moved to another module or a
/// checkpoint of an earlier weir (full `type_name` paths) restores; a changed type or id is an
/// [`OperatorStateError::TypeChanged`] naming the operator uid and the state.
pub struct OperatorStateContext<'a> {
    store: &'a mut OperatorStateStore,
    /// The explicit type identity of the states declared through this context.
    type_id: Option<TypeIdentity>,
}

impl OperatorStateContext<'_> {
    /// A context whose states are recorded with the type identity `id` instead of the one
    /// derived from their element type: `ctx.with_type_id("offsets/v1").list_state::<Offset>(
    /// "offsets")`. Renaming or moving the element type then keeps restores working; declaring
    /// a restored state with another id is an error naming the operator uid and the state. For
    /// broadcast state it takes precedence over
    /// [`BroadcastStateDescriptor::with_type_id`].
    pub fn with_type_id(&mut self, id: impl Into<TypeIdentity>) -> OperatorStateContext<'_> {
        OperatorStateContext {
            store: self.store,
            type_id: Some(id.into()),
        }
    }

    /// Declares list state `name` of `T` (split evenly over the subtasks on a restore at another
    /// parallelism). Declaring the same name again returns a handle to the same list; a name
    /// restored or declared as another kind or type is an error naming the operator and state.
    pub fn list_state<T: OperatorStateValue>(
        &mut self,
        name: &str,
    ) -> Result<ListState<T>, OperatorStateError> {
        self.store.list(name, StateKind::List, self.type_id.clone())
    }

    /// Declares union list state `name` of `T` (every subtask restores every subtask's
    /// elements). Same rules as [`OperatorStateContext::list_state`].
    pub fn union_list_state<T: OperatorStateValue>(
        &mut self,
        name: &str,
    ) -> Result<UnionListState<T>, OperatorStateError> {
        self.store
            .list(name, StateKind::UnionList, self.type_id.clone())
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
        self.store.broadcast(descriptor, self.type_id.clone())
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
