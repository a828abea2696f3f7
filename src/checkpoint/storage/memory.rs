//! [`MemoryCheckpointStorage`]: checkpoints in the process's memory.

use super::{discarded_error, encode_metadata, newest_loadable};
use crate::checkpoint::paths;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, LatestCheckpoint, StateHandle, StateLocation,
    StorageError,
};
use weir_actors::CheckpointId;

/// Checkpoints kept in memory, for tests and jobs that need no durability. Clones share the same
/// checkpoints, so a test can hand one storage to successive runs of a job.
#[derive(Debug, Clone)]
pub struct MemoryCheckpointStorage {
    job_id: String,
    checkpoints: Arc<Mutex<BTreeMap<CheckpointId, MemoryCheckpoint>>>,
    discarded: Arc<Mutex<HashSet<CheckpointId>>>,
}

#[derive(Debug, Default)]
struct MemoryCheckpoint {
    /// Set by `write_metadata`: the checkpoint is complete.
    metadata: Option<CheckpointMetadata>,
    /// Bytes of state written for it.
    state_bytes: u64,
}

impl MemoryCheckpointStorage {
    /// An empty storage for job `job_id`.
    pub fn new(job_id: &str) -> Self {
        MemoryCheckpointStorage {
            job_id: job_id.to_owned(),
            checkpoints: Arc::default(),
            discarded: Arc::default(),
        }
    }

    /// Bytes of state written for `checkpoint` and not discarded (0 if it has no entry).
    pub fn state_bytes(&self, checkpoint: CheckpointId) -> u64 {
        self.checkpoints
            .lock()
            .get(&checkpoint)
            .map_or(0, |c| c.state_bytes)
    }

    /// The name errors give to `file` of `checkpoint`: `memory:<job id>/chk-<n>/<file>`.
    fn path_of(&self, checkpoint: CheckpointId, file: &Path) -> PathBuf {
        paths::memory_checkpoint_path(&self.job_id, checkpoint).join(file)
    }
}

impl CheckpointStorage for MemoryCheckpointStorage {
    fn write_state(
        &self,
        checkpoint: CheckpointId,
        _vertex_uid: &str,
        _subtask: u32,
        bytes: &[u8],
    ) -> Result<StateLocation, StorageError> {
        let mut checkpoints = self.checkpoints.lock();
        if self.discarded.lock().contains(&checkpoint) {
            return Err(discarded_error(&self.path_of(checkpoint, Path::new(""))));
        }
        let entry = checkpoints.entry(checkpoint).or_default();
        entry.state_bytes = entry.state_bytes.saturating_add(bytes.len() as u64);
        Ok(StateLocation::Inline(bytes.to_vec()))
    }

    fn read_state(
        &self,
        checkpoint: CheckpointId,
        handle: &StateHandle,
    ) -> Result<Vec<u8>, StorageError> {
        match &handle.location {
            StateLocation::Inline(bytes) => Ok(bytes.clone()),
            StateLocation::File(file) => Err(StorageError::NotFound {
                path: self.path_of(checkpoint, &file.path),
            }),
        }
    }

    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        let path = self.path_of(metadata.checkpoint_id, Path::new(paths::METADATA_FILE_NAME));
        let size = encode_metadata(&path, metadata)?.len() as u64;
        let mut checkpoints = self.checkpoints.lock();
        checkpoints
            .entry(metadata.checkpoint_id)
            .or_default()
            .metadata = Some(metadata.clone());
        Ok(size)
    }

    fn discard(&self, checkpoint: CheckpointId) -> Result<(), StorageError> {
        let mut checkpoints = self.checkpoints.lock();
        self.discarded.lock().insert(checkpoint);
        checkpoints.remove(&checkpoint);
        Ok(())
    }

    fn load(&self, checkpoint: CheckpointId) -> Result<CheckpointMetadata, StorageError> {
        let checkpoints = self.checkpoints.lock();
        match checkpoints
            .get(&checkpoint)
            .and_then(|c| c.metadata.as_ref())
        {
            Some(metadata) => Ok(metadata.clone()),
            None => Err(StorageError::NotFound {
                path: self.path_of(checkpoint, Path::new(paths::METADATA_FILE_NAME)),
            }),
        }
    }

    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError> {
        newest_loadable(self.list()?, |id| self.load(id))
    }

    fn list(&self) -> Result<Vec<CheckpointId>, StorageError> {
        Ok(self.checkpoints.lock().keys().copied().collect())
    }

    fn describe(&self) -> String {
        format!("memory:{}", self.job_id)
    }
}
