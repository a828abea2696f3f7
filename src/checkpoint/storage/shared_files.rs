//! Garbage collection of the job's `shared/` area: after a checkpoint is discarded, the shared
//! files it wrote or referred to are deleted unless a complete checkpoint still refers to them.
//!
//! Nothing is kept in memory: the references are read from the metadata of the complete
//! checkpoints on disk each time, so the rule holds across restarts of the process, and a
//! restore never finds a file missing that its checkpoint needs (FAULTS.md 9 and 10).

use super::{FileSystemCheckpointStorage, SHARED_DIR_NAME};
use crate::checkpoint::file_format::{io_error, sync_dir};
use crate::state::rocksdb::incremental::SharedFileRegistry;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::{CheckpointMetadata, CheckpointStorage, StorageError};
use weir_actors::CheckpointId;

/// The checkpoint that uploaded a shared file, from its name
/// `<uid>-<subtask>-<checkpoint id>-<file name>` (the file name has no `-`).
pub(crate) fn uploading_checkpoint(name: &str) -> Option<CheckpointId> {
    let mut parts = name.rsplitn(3, '-');
    let _file = parts.next()?;
    let id = parts.next()?.parse().ok()?;
    parts.next().map(|_| id)
}

impl FileSystemCheckpointStorage {
    /// The shared files of every complete checkpoint but `except`, as a registry.
    fn referenced_shared_files(
        &self,
        except: CheckpointId,
    ) -> Result<SharedFileRegistry, StorageError> {
        let mut registry = SharedFileRegistry::new();
        for id in self.list()?.into_iter().filter(|&id| id != except) {
            // A checkpoint without intact metadata is not complete: nothing may be restored
            // from it, so it protects no file.
            if let Ok(metadata) = self.load(id) {
                registry.register(id, metadata.shared_files().map(Path::to_path_buf));
            }
        }
        Ok(registry)
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
        self.delete_unreferenced(checkpoint, candidates)
    }

    /// Deletes each of `files` (relative to the job directory) that no complete checkpoint other
    /// than `checkpoint` refers to.
    pub(super) fn delete_unreferenced(
        &self,
        checkpoint: CheckpointId,
        files: impl IntoIterator<Item = PathBuf>,
    ) -> Result<(), StorageError> {
        let mut files = files.into_iter().peekable();
        if files.peek().is_none() {
            return Ok(());
        }
        let referenced = self.referenced_shared_files(checkpoint)?;
        let shared_dir = self.shared_dir();
        let mut deleted = false;
        for file in files {
            if referenced.reference_count(&file) > 0 {
                continue;
            }
            let Some(name) = shared_file_name(&file) else {
                return Err(StorageError::Corrupt {
                    path: self.job_dir().join(&file),
                    reason: "a shared file outside the shared area".to_owned(),
                });
            };
            let path = shared_dir.join(name);
            match fs::remove_file(&path) {
                Ok(()) => deleted = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("delete", &path, &e)),
            }
        }
        if deleted {
            sync_dir(&shared_dir)?;
        }
        Ok(())
    }

    /// The highest checkpoint id in a shared file's name.
    pub(super) fn highest_shared_file_id(&self) -> Result<Option<CheckpointId>, StorageError> {
        Ok(self
            .shared_file_names()?
            .iter()
            .filter_map(|name| uploading_checkpoint(name))
            .max())
    }

    /// Deletes every shared file no complete checkpoint refers to.
    pub(super) fn delete_unreferenced_shared_files(&self) -> Result<(), StorageError> {
        let files = self
            .shared_file_names()?
            .into_iter()
            .map(|name| Path::new(SHARED_DIR_NAME).join(name));
        // No checkpoint id is excluded: 0 is never a checkpoint's.
        self.delete_unreferenced(0, files)
    }

    /// The names of the files in the shared area.
    fn shared_file_names(&self) -> Result<Vec<String>, StorageError> {
        let dir = self.shared_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &dir, &e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", &dir, &e))?;
            if let Some(name) = entry.file_name().to_str() {
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
            .filter(|name| uploading_checkpoint(name) == Some(checkpoint))
            .map(|name| Path::new(SHARED_DIR_NAME).join(name))
            .collect())
    }
}

/// The name of a file given as `shared/<name>`, refusing anything else.
fn shared_file_name(file: &Path) -> Option<&std::ffi::OsStr> {
    let mut components = file.components();
    match (components.next(), components.next(), components.next()) {
        (
            Some(std::path::Component::Normal(dir)),
            Some(std::path::Component::Normal(name)),
            None,
        ) if dir == SHARED_DIR_NAME => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uploading_checkpoint_is_read_from_the_end_of_the_name() {
        assert_eq!(
            uploading_checkpoint("count-by-key-1-17-000012.sst"),
            Some(17)
        );
        assert_eq!(uploading_checkpoint("a-0-3-000009.sst"), Some(3));
        assert_eq!(uploading_checkpoint("000009.sst"), None);
        assert_eq!(uploading_checkpoint("x-y-000009.sst"), None);
    }

    #[test]
    fn only_plain_shared_paths_are_accepted() {
        assert!(shared_file_name(Path::new("shared/a-0-1-1.sst")).is_some());
        assert!(shared_file_name(Path::new("shared/../x")).is_none());
        assert!(shared_file_name(Path::new("chk-1/x")).is_none());
        assert!(shared_file_name(Path::new("shared/a/b")).is_none());
    }
}
