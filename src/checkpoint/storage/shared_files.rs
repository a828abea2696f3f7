//! Garbage collection of the job's `shared/` area: after a checkpoint is discarded, the shared
//! files it wrote or referred to are deleted unless a complete checkpoint still refers to them.
//!
//! Nothing is kept in memory: the references are read from the metadata of the complete
//! checkpoints on disk each time, so the rule holds across restarts of the process, and a
//! restore never finds a file missing that its checkpoint needs (FAULTS.md 9 and 10).
//!
//! A checkpoint whose `_metadata` exists but cannot be read may refer to any shared file
//! uploaded by it or by an earlier checkpoint (a file is only ever referred to by the checkpoint
//! that uploaded it and later ones): those files are kept while it is there.

use super::FileSystemCheckpointStorage;
use crate::checkpoint::durable::{remove_file_if_present, sync_dir};
use crate::checkpoint::paths;
use crate::checkpoint::shared_file_registry::SharedFileRegistry;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::{CheckpointMetadata, CheckpointStorage, StorageError};
use weir_actors::CheckpointId;

/// The shared files the checkpoints on disk may need.
struct References {
    /// What the complete checkpoints refer to.
    registry: SharedFileRegistry,
    /// The newest checkpoint whose metadata exists but does not load, if any.
    unreadable_up_to: Option<CheckpointId>,
}

impl References {
    /// Whether `file` (relative to the job directory) may be needed.
    fn protect(&self, file: &Path) -> bool {
        if self.registry.reference_count(file) > 0 {
            return true;
        }
        let Some(limit) = self.unreadable_up_to else {
            return false;
        };
        let uploader = paths::shared_name_of(file)
            .and_then(|name| name.to_str())
            .and_then(paths::uploading_checkpoint);
        uploader.is_none_or(|id| id <= limit)
    }
}

impl FileSystemCheckpointStorage {
    /// What every checkpoint on disk but `except` may refer to.
    fn references(&self, except: CheckpointId) -> Result<References, StorageError> {
        let mut references = References {
            registry: SharedFileRegistry::new(),
            unreadable_up_to: None,
        };
        for id in self.list()?.into_iter().filter(|&id| id != except) {
            match self.load(id) {
                Ok(metadata) => references
                    .registry
                    .register(id, metadata.shared_files().map(Path::to_path_buf)),
                // No metadata: not complete, nothing may be restored from it.
                Err(StorageError::NotFound { .. }) => {}
                Err(error) => {
                    tracing::warn!(
                        checkpoint = id,
                        %error,
                        "keeping the shared files an unreadable checkpoint may refer to"
                    );
                    references.unreadable_up_to = references.unreadable_up_to.max(Some(id));
                }
            }
        }
        Ok(references)
    }

    /// Deletes the shared files of discarded checkpoint `checkpoint` that no complete checkpoint
    /// refers to: those its metadata (if it completed) lists, and those uploaded for it.
    pub(super) fn collect_shared_files(
        &self,
        checkpoint: CheckpointId,
        metadata: Option<&CheckpointMetadata>,
    ) -> Result<(), StorageError> {
        let mut candidates: BTreeSet<PathBuf> = metadata
            .map(|m| m.shared_files().map(Path::to_path_buf).collect())
            .unwrap_or_default();
        candidates.extend(self.shared_files_uploaded_by(checkpoint)?);
        self.delete_unreferenced(checkpoint, candidates).map(drop)
    }

    /// Deletes each of `files` (relative to the job directory) that no checkpoint other than
    /// `checkpoint` may need; returns those deleted. The caller holds the write gate alone.
    pub(super) fn delete_unreferenced(
        &self,
        checkpoint: CheckpointId,
        files: impl IntoIterator<Item = PathBuf>,
    ) -> Result<Vec<PathBuf>, StorageError> {
        let mut files = files.into_iter().peekable();
        if files.peek().is_none() {
            return Ok(Vec::new());
        }
        let references = self.references(checkpoint)?;
        let shared_dir = self.shared_dir();
        let mut deleted = Vec::new();
        for file in files {
            if references.protect(&file) {
                continue;
            }
            let Some(name) = paths::shared_name_of(&file) else {
                return Err(StorageError::Corrupt {
                    path: self.job_dir().join(&file),
                    reason: "a shared file outside the shared area".to_owned(),
                });
            };
            if remove_file_if_present(&shared_dir.join(name))? {
                deleted.push(file);
            }
        }
        if !deleted.is_empty() {
            sync_dir(&shared_dir)?;
        }
        Ok(deleted)
    }

    /// The highest checkpoint id in a shared file's name.
    pub(super) fn highest_shared_file_id(&self) -> Result<Option<CheckpointId>, StorageError> {
        Ok(self
            .shared_file_names()?
            .iter()
            .filter_map(|name| paths::uploading_checkpoint(name))
            .max())
    }

    /// Deletes every shared file no checkpoint may need; returns those deleted. The caller holds
    /// the write gate alone.
    pub(super) fn delete_unreferenced_shared_files(&self) -> Result<Vec<PathBuf>, StorageError> {
        let files = self
            .shared_file_names()?
            .into_iter()
            .map(|name| paths::shared_path(&name));
        // No checkpoint id is excluded: 0 is never a checkpoint's.
        self.delete_unreferenced(0, files)
    }

    /// The names of the files in the shared area.
    fn shared_file_names(&self) -> Result<Vec<String>, StorageError> {
        let dir = self.shared_dir();
        let io_error = |e: io::Error| crate::checkpoint::durable::io_error("list", &dir, &e);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            if let Some(name) = entry.map_err(io_error)?.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    /// The shared files whose name says `checkpoint` uploaded them.
    fn shared_files_uploaded_by(
        &self,
        checkpoint: CheckpointId,
    ) -> Result<Vec<PathBuf>, StorageError> {
        Ok(self
            .shared_file_names()?
            .into_iter()
            .filter(|name| paths::uploading_checkpoint(name) == Some(checkpoint))
            .map(|name| paths::shared_path(&name))
            .collect())
    }
}
