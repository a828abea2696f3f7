//! A checkpoint or savepoint loaded to restore a job from: its metadata and every subtask's
//! state bytes, and where each operator's state is in it.

use crate::checkpoint::storage::{CheckpointMetadata, CheckpointStorage};
use std::collections::HashMap;
use std::sync::Arc;

/// A checkpoint loaded to restore from: its metadata and every subtask's state bytes.
#[derive(Debug, Clone)]
pub struct RestoredCheckpoint {
    /// The checkpoint's metadata.
    pub metadata: CheckpointMetadata,
    /// State bytes by (vertex uid, subtask index).
    pub states: HashMap<(String, u32), Arc<Vec<u8>>>,
}

impl RestoredCheckpoint {
    /// Loads checkpoint `id`'s metadata and every subtask's state from `storage`.
    pub fn load(
        storage: &dyn CheckpointStorage,
        id: crate::network::event::CheckpointId,
    ) -> Result<Self, crate::checkpoint::storage::StorageError> {
        let metadata = storage.load(id)?;
        let mut states = HashMap::new();
        for handle in &metadata.states {
            let bytes = storage.read_state(id, handle)?;
            states.insert((handle.vertex_uid.clone(), handle.subtask), Arc::new(bytes));
        }
        Ok(RestoredCheckpoint { metadata, states })
    }

    /// The state of every subtask of vertex `uid`, indexed by subtask index (as many as the
    /// vertex had subtasks in the checkpoint; `None` where a subtask has no state). Empty when
    /// the checkpoint does not know the vertex.
    pub fn vertex_states(&self, uid: &str) -> Vec<Option<Arc<Vec<u8>>>> {
        let parallelism = self
            .metadata
            .vertices
            .iter()
            .find(|v| v.uid == uid)
            .map_or(0, |v| v.parallelism);
        (0..parallelism)
            .map(|i| self.states.get(&(uid.to_string(), i)).cloned())
            .collect()
    }

    /// The state of every subtask of the vertex that held operator `operator_uid` when this
    /// checkpoint was taken — its chain's state, which holds the operator's among the other
    /// chained operators' — indexed by the subtask index it had then (`None` where a subtask
    /// has no state). Found by the operator's uid, so it does not matter whether the operator
    /// is chained the same way now. Empty when no vertex of the checkpoint held the operator.
    pub fn operator_chain_states(&self, operator_uid: &str) -> Vec<Option<Arc<Vec<u8>>>> {
        let holder = self.metadata.states.iter().find(|h| {
            h.vertex_uid == operator_uid || h.operator_uids.iter().any(|u| u == operator_uid)
        });
        holder.map_or_else(Vec::new, |h| self.vertex_states(&h.vertex_uid))
    }
}
