//! The files an incremental RocksDB checkpoint uploads, written and deleted through the storage
//! so they pass the same gate as discards.
//!
//! # Guarantees
//!
//! - [`FileSystemCheckpointStorage::upload_file`] is refused once its checkpoint is discarded,
//!   and a discard waits for the copy in flight: after a discard returns, nothing of its
//!   checkpoint appears again, neither in `chk-<n>/` nor in `shared/`.
//! - Every copy is fsynced before it returns; [`FileSystemCheckpointStorage::sync_upload_dirs`]
//!   makes the new directory entries durable.

use super::{discarded_error, FileSystemCheckpointStorage};
use crate::checkpoint::durable::{
    copy_durably, create_dir_durably, remove_file_if_present, sync_dir,
};
use crate::checkpoint::paths;
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::StorageError;
use weir_actors::CheckpointId;

impl FileSystemCheckpointStorage {
    /// Copies local file `from` into the storage as `relative`, a location checkpoint
    /// `checkpoint` records (`shared/<name>`, or a path in the checkpoint's directory), creating
    /// its directory durably; returns the bytes copied. Refused with [`StorageError::Io`] once the
    /// checkpoint is discarded.
    pub fn upload_file(
        &self,
        checkpoint: CheckpointId,
        from: &Path,
        relative: &Path,
    ) -> Result<u64, StorageError> {
        let to = self.resolve(checkpoint, relative)?;
        self.gate().write(
            checkpoint,
            || discarded_error(&to),
            || {
                if let Some(dir) = to.parent() {
                    create_dir_durably(dir)?;
                }
                copy_durably(from, &to)
            },
        )
    }

    /// Fsyncs the directories `files` (locations of checkpoint `checkpoint`, as given to
    /// [`upload_file`](Self::upload_file)) were uploaded into, making their entries durable.
    /// Refused once the checkpoint is discarded.
    pub fn sync_upload_dirs(
        &self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError> {
        let mut dirs = std::collections::BTreeSet::new();
        for file in files {
            if let Some(dir) = self.resolve(checkpoint, file)?.parent() {
                dirs.insert(dir.to_path_buf());
            }
        }
        let checkpoint_dir = self.checkpoint_dir(checkpoint);
        self.gate().write(
            checkpoint,
            || discarded_error(&checkpoint_dir),
            || dirs.iter().try_for_each(|dir| sync_dir(dir)),
        )
    }

    /// Deletes what an upload for `checkpoint` copied before it failed (`relative` locations as
    /// given to [`upload_file`](Self::upload_file)), and the directories in the checkpoint's
    /// directory that are left empty. Files already gone are not an error.
    pub fn delete_uploads(
        &self,
        checkpoint: CheckpointId,
        relative: &[PathBuf],
    ) -> Result<(), StorageError> {
        let mut paths = Vec::with_capacity(relative.len());
        for file in relative {
            paths.push(self.resolve(checkpoint, file)?);
        }
        self.gate().exclusive(|| {
            for path in &paths {
                remove_file_if_present(path)?;
            }
            let checkpoint_dir = self.checkpoint_dir(checkpoint);
            // Only empty directories go; one still in use stays.
            for path in &paths {
                if let Some(dir) = path.parent().filter(|d| d.starts_with(&checkpoint_dir)) {
                    let _ = fs::remove_dir(dir);
                }
            }
            let _ = fs::remove_dir(&checkpoint_dir);
            Ok(())
        })
    }

    /// The size of shared file `relative` (`shared/<name>`), if it is there.
    pub fn shared_file_size(&self, relative: &Path) -> Option<u64> {
        let name = paths::shared_name_of(relative)?;
        fs::metadata(self.shared_dir().join(name))
            .ok()
            .map(|m| m.len())
    }

    /// Deletes shared files (`shared/<name>`, relative to the job directory), with no write in
    /// flight: those a [`SharedFileRegistry`](crate::checkpoint::shared_file_registry::SharedFileRegistry)
    /// released. A file already gone is not an error.
    pub fn delete_shared_files(&self, files: &[PathBuf]) -> Result<(), StorageError> {
        let shared_dir = self.shared_dir();
        let mut names = Vec::with_capacity(files.len());
        for file in files {
            let name = paths::shared_name_of(file).ok_or_else(|| StorageError::Corrupt {
                path: self.job_dir().join(file),
                reason: "not a shared file".to_owned(),
            })?;
            names.push(shared_dir.join(name));
        }
        self.gate().exclusive(|| {
            for path in &names {
                remove_file_if_present(path)?;
            }
            if !names.is_empty() {
                sync_dir(&shared_dir)?;
            }
            Ok(())
        })
    }
}
