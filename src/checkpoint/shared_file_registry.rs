//! [`SharedFileRegistry`]: which retained checkpoints refer to which shared files (Flink's
//! `SharedStateRegistry`), as pure bookkeeping. The caller deletes what
//! [`SharedFileRegistry::release`] returns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use weir_actors::CheckpointId;

/// Reference counts of shared files across the checkpoints that are retained (Flink's
/// `SharedStateRegistry`). Pure bookkeeping: the caller deletes what
/// [`release`](Self::release) returns, e.g. with [`IncrementalCheckpointer::delete_shared_files`](crate::state::rocksdb::incremental::IncrementalCheckpointer::delete_shared_files).
///
/// A checkpoint is registered when its files are uploaded (so an aborted checkpoint's files are
/// released like a subsumed one's) and released when it is subsumed, aborted or declined. After
/// a restart, registering every retained checkpoint rebuilds the counts.
#[derive(Debug, Clone, Default)]
pub struct SharedFileRegistry {
    /// How many registered checkpoints refer to each file.
    references: BTreeMap<PathBuf, usize>,
    /// The files each registered checkpoint refers to.
    checkpoints: BTreeMap<CheckpointId, BTreeSet<PathBuf>>,
}

impl SharedFileRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `checkpoint` refers to `files`. May be called once per subtask of the
    /// checkpoint; a file named twice for the same checkpoint counts once.
    pub fn register<P: Into<PathBuf>>(
        &mut self,
        checkpoint: CheckpointId,
        files: impl IntoIterator<Item = P>,
    ) {
        let known = self.checkpoints.entry(checkpoint).or_default();
        for file in files {
            let file = file.into();
            if known.insert(file.clone()) {
                *self.references.entry(file).or_default() += 1;
            }
        }
    }

    /// Forgets `checkpoint`; returns, sorted, the files no other registered checkpoint refers
    /// to, which may now be deleted. Releasing an unknown checkpoint returns nothing.
    pub fn release(&mut self, checkpoint: CheckpointId) -> Vec<PathBuf> {
        let mut unreferenced = Vec::new();
        for file in self.checkpoints.remove(&checkpoint).unwrap_or_default() {
            if let Some(count) = self.references.get_mut(&file) {
                *count -= 1;
                if *count == 0 {
                    self.references.remove(&file);
                    unreferenced.push(file);
                }
            }
        }
        unreferenced
    }

    /// The registered checkpoints, ascending.
    pub fn checkpoints(&self) -> impl Iterator<Item = CheckpointId> + '_ {
        self.checkpoints.keys().copied()
    }

    /// Every file some registered checkpoint refers to, sorted.
    pub fn referenced_files(&self) -> impl Iterator<Item = &Path> {
        self.references.keys().map(PathBuf::as_path)
    }

    /// How many registered checkpoints refer to `file`.
    pub fn reference_count(&self, file: &Path) -> usize {
        self.references.get(file).copied().unwrap_or(0)
    }
}
