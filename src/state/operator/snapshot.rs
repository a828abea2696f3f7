//! The bytes of an operator's state in a checkpoint, and how a restored subtask gathers its share
//! from the bytes of every subtask of the checkpoint.
//!
//! Each state is written as its name, kind, type identity and elements, every element encoded on its
//! own (postcard), so a state can be redistributed without knowing its element type — as Flink
//! records an offset per element of an operator state.

use super::error::OperatorStateError;
use super::redistribution::redistribute;
use super::state_kind::StateKind;
use crate::state::type_identity::TypeIdentity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The version of the format below; a restore refuses another.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// An operator's states in one subtask's snapshot.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct OperatorStateSnapshot {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// Every state, by name order.
    pub states: Vec<StateEntry>,
}

/// One state in a snapshot.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateEntry {
    pub name: String,
    pub kind: StateKind,
    /// Its [`TypeIdentity`] (an earlier weir wrote the full `std::any::type_name`).
    pub type_name: String,
    /// List elements, or broadcast map entries as `(key, value)`, each postcard-encoded.
    pub elements: Vec<Vec<u8>>,
}

/// [`StateEntry`] borrowed, for writing (same encoding).
#[derive(Serialize)]
pub(crate) struct StateEntryRef<'a> {
    pub name: &'a str,
    pub kind: StateKind,
    pub type_name: &'a str,
    pub elements: &'a [Vec<u8>],
}

/// [`OperatorStateSnapshot`] borrowed, for writing (same encoding).
#[derive(Serialize)]
pub(crate) struct OperatorStateSnapshotRef<'a> {
    pub version: u32,
    pub states: Vec<StateEntryRef<'a>>,
}

/// A borrowed view of [`crate::task::stream_task::ChainSnapshot`] (same encoding: postcard writes a
/// `Vec<u8>` as its length and its bytes, as it writes a byte slice), so reading one operator's
/// entry out of another subtask's state copies nothing else.
#[derive(Deserialize)]
struct ChainSnapshotView<'a> {
    #[serde(borrow)]
    #[allow(dead_code)]
    source: Option<&'a [u8]>,
    #[serde(borrow)]
    operators: Vec<(&'a str, &'a [u8])>,
}

/// A restored state before the function declares it: what the checkpoint says it is, and this
/// subtask's share of its elements.
#[derive(Debug, Clone)]
pub(crate) struct RestoredState {
    pub kind: StateKind,
    pub type_name: String,
    pub elements: Arc<Vec<Vec<u8>>>,
}

/// One state as gathered from every old subtask.
struct Gathered {
    kind: StateKind,
    type_name: String,
    /// Elements by old subtask index (empty where a subtask has none).
    per_subtask: Vec<Vec<Vec<u8>>>,
    /// The old subtasks that hold the state (for broadcast state: the copies to choose from).
    holders: Vec<usize>,
}

/// Reads operator `uid`'s entry out of one subtask's task state, if it has one.
fn operator_entry(
    uid: &str,
    subtask: u32,
    task_state: &[u8],
) -> Result<Option<OperatorStateSnapshot>, OperatorStateError> {
    let corrupt = |reason: String| OperatorStateError::CorruptSnapshot {
        uid: uid.to_string(),
        subtask,
        reason,
    };
    let view: ChainSnapshotView<'_> =
        postcard::from_bytes(task_state).map_err(|e| corrupt(format!("task state: {e}")))?;
    let Some((_, bytes)) = view.operators.iter().find(|(u, _)| *u == uid) else {
        return Ok(None);
    };
    let snapshot: OperatorStateSnapshot =
        postcard::from_bytes(bytes).map_err(|e| corrupt(e.to_string()))?;
    if snapshot.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} (this weir reads {FORMAT_VERSION})",
            snapshot.version
        )));
    }
    Ok(Some(snapshot))
}

/// What subtask `index` of `parallelism` restores for operator `uid`, given every old subtask's
/// task state (`vertex_states[i]` for old subtask `i`): each state's share by [`redistribute`].
/// `None` when no old subtask has state of the operator.
pub(crate) fn restore_share(
    uid: &str,
    vertex_states: &[Option<Arc<Vec<u8>>>],
    parallelism: u32,
    index: u32,
) -> Result<Option<BTreeMap<String, RestoredState>>, OperatorStateError> {
    let old_parallelism = vertex_states.len();
    let mut found = false;
    let mut gathered: BTreeMap<String, Gathered> = BTreeMap::new();
    for (i, task_state) in vertex_states.iter().enumerate() {
        let Some(task_state) = task_state else {
            continue;
        };
        let subtask = i as u32;
        let Some(snapshot) = operator_entry(uid, subtask, task_state)? else {
            continue;
        };
        found = true;
        for entry in snapshot.states {
            let g = gathered
                .entry(entry.name.clone())
                .or_insert_with(|| Gathered {
                    kind: entry.kind,
                    type_name: entry.type_name.clone(),
                    per_subtask: vec![Vec::new(); old_parallelism],
                    holders: Vec::new(),
                });
            if g.kind != entry.kind || !TypeIdentity::matches(&g.type_name, &entry.type_name) {
                return Err(OperatorStateError::CorruptSnapshot {
                    uid: uid.to_string(),
                    subtask,
                    reason: format!(
                        "state {:?} is {} of {} here but {} of {} in another subtask",
                        entry.name, entry.kind, entry.type_name, g.kind, g.type_name
                    ),
                });
            }
            g.per_subtask[i] = entry.elements;
            g.holders.push(i);
        }
    }
    if !found {
        return Ok(None);
    }
    let share = gathered
        .into_iter()
        .map(|(name, g)| {
            let elements = match g.kind {
                StateKind::Broadcast => {
                    let copies: Vec<Vec<Vec<u8>>> = g
                        .holders
                        .first()
                        .map(|&h| g.per_subtask[h].clone())
                        .into_iter()
                        .collect();
                    redistribute(g.kind, &copies, parallelism, index)
                }
                _ => redistribute(g.kind, &g.per_subtask, parallelism, index),
            };
            let restored = RestoredState {
                kind: g.kind,
                type_name: g.type_name,
                elements: Arc::new(elements),
            };
            (name, restored)
        })
        .collect();
    Ok(Some(share))
}
