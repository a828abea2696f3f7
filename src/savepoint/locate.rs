//! Finding a savepoint's or retained checkpoint's files from the path a user gives.

use super::{SavepointError, SAVEPOINT_DIR_PREFIX};
use crate::checkpoint::paths;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::CheckpointId;

/// A snapshot found on disk: the storage its files are read through, and its checkpoint id.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The storage: the snapshot's own directory (a savepoint, `_metadata` at its top), or the
    /// job directory holding its `chk-<n>` (a retained checkpoint, or a savepoint an earlier
    /// weir wrote).
    pub storage: FileSystemCheckpointStorage,
    /// The checkpoint.
    pub id: CheckpointId,
}

impl Located {
    /// The directory holding the snapshot's `_metadata`.
    pub fn dir(&self) -> PathBuf {
        self.storage.checkpoint_dir(self.id)
    }

    /// Whether it is a savepoint: its directory (or the one holding its `chk-<n>`) is named
    /// `savepoint-…`.
    pub fn is_savepoint(&self) -> bool {
        (self.storage.job_dir().file_name())
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(SAVEPOINT_DIR_PREFIX))
    }
}

/// The snapshot `path` names: a directory with a `_metadata` at its top (a savepoint's), a
/// `chk-<n>` directory (a retained checkpoint's), a directory holding exactly one `chk-<n>`
/// (a savepoint an earlier weir wrote), or the `_metadata` file of any of these.
pub(crate) fn locate(path: &Path) -> Result<Located, SavepointError> {
    let not = |reason: &str| SavepointError::NotASavepoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let dir = if path
        .file_name()
        .is_some_and(|n| n == paths::METADATA_FILE_NAME)
    {
        path.parent().ok_or_else(|| not("no parent directory"))?
    } else {
        path
    };
    if let Some(id) = checkpoint_id_of(dir) {
        let job_dir = dir.parent().ok_or_else(|| not("no parent directory"))?;
        let storage = FileSystemCheckpointStorage::at_job_dir(job_dir);
        return Ok(Located { storage, id });
    }
    let storage = FileSystemCheckpointStorage::at_snapshot_dir(dir);
    if let Some(id) = storage.snapshot_id()? {
        return Ok(Located { storage, id });
    }
    let entries = fs::read_dir(dir).map_err(|e| not(&format!("cannot list it: {e}")))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let chk = entry.path();
        if let Some(id) = checkpoint_id_of(&chk) {
            found.push(id);
        }
    }
    match found[..] {
        [id] => Ok(Located {
            storage: FileSystemCheckpointStorage::at_job_dir(dir),
            id,
        }),
        [] => Err(not(
            "it holds no _metadata, nor a chk-<n> directory with one",
        )),
        _ => Err(not(
            "it holds several checkpoints: name the chk-<n> directory",
        )),
    }
}

/// `n` when `dir` is a directory named `chk-<n>` holding a `_metadata` file.
fn checkpoint_id_of(dir: &Path) -> Option<CheckpointId> {
    let id = paths::parse_checkpoint_dir_name(dir.file_name()?.to_str()?)?;
    dir.join(paths::METADATA_FILE_NAME).is_file().then_some(id)
}
