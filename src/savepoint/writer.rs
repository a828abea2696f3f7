//! [`FileSavepointWriter`]: a completed checkpoint copied from the job's storage into a
//! savepoint directory of its own, `_metadata` at its top (see [`super`]'s layout).

use super::SAVEPOINT_DIR_PREFIX;
use crate::checkpoint::durable::{copy_durably, create_dir_durably, io_error};
use crate::checkpoint::paths;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::savepoint::SavepointWriter;
use weir_actors::checkpoint::storage::{CheckpointMetadata, CheckpointStorage, StorageError};

/// Writes savepoints from a job's storage: state bytes read through the storage (memory or
/// filesystem alike), an incremental RocksDB state's own and shared files copied from the
/// job's directory.
pub(crate) struct FileSavepointWriter {
    /// The job's storage.
    pub(crate) storage: Arc<dyn CheckpointStorage>,
    /// The same, when it is a directory (incremental RocksDB files are there).
    pub(crate) files: Option<FileSystemCheckpointStorage>,
}

impl SavepointWriter for FileSavepointWriter {
    fn write(&self, dir: &Path, metadata: &CheckpointMetadata) -> Result<PathBuf, StorageError> {
        let id = metadata.checkpoint_id;
        let name = format!(
            "{SAVEPOINT_DIR_PREFIX}{}-{id}",
            paths::job_dir_name(&metadata.job_id)
        );
        let target = dir.join(name);
        if target.exists() {
            return Err(StorageError::Io {
                operation: "create",
                path: target,
                reason: "a savepoint of this checkpoint is there already".into(),
            });
        }
        create_dir_durably(&target)?;
        let dest = FileSystemCheckpointStorage::at_snapshot_dir(&target);
        let mut copy = metadata.clone();
        for handle in &mut copy.states {
            let bytes = self.storage.read_state(id, handle)?;
            handle.location = dest.write_state(id, &handle.vertex_uid, handle.subtask, &bytes)?;
            let Some(files) = &self.files else { continue };
            for private in paths::private_dir_names(handle) {
                let from = files.checkpoint_dir(id).join(&private);
                if from.is_dir() {
                    copy_dir(&from, &dest.checkpoint_dir(id).join(&private))?;
                }
            }
            for file in &handle.shared {
                let to = target.join(&file.path);
                if let Some(parent) = to.parent() {
                    create_dir_durably(parent)?;
                }
                copy_durably(&files.job_dir().join(&file.path), &to)?;
            }
        }
        dest.write_metadata(&copy)?;
        Ok(target)
    }
}

/// Copies the files of directory `from` (no subdirectories) into `to`, each fsynced.
fn copy_dir(from: &Path, to: &Path) -> Result<(), StorageError> {
    create_dir_durably(to)?;
    let entries = fs::read_dir(from).map_err(|e| io_error("list", from, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", from, &e))?;
        copy_durably(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}
