//! How a RocksDB snapshot's files are kept, and where a restore finds them again.
//!
//! With a filesystem checkpoint storage, a snapshot's files are in the storage and its handle
//! records them by paths relative to the directory the snapshot lives in — `shared/<name>`
//! relative to the job (or savepoint) directory, anything else relative to the snapshot's
//! `chk-<n>` directory — so a checkpoint or savepoint directory can be moved or copied and
//! still restores: [`SnapshotDirs`] says which directory the paths are resolved against. With
//! in-memory storage, the files are in the state bytes.

use crate::checkpoint::paths;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::error::BoxError;
use crate::state::backend::BackendSettings;
use crate::state::rocksdb::incremental::IncrementalHandle;
use crate::state::rocksdb::store::{RocksDbOptions, RocksDbStateStore};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::SharedFile;
use weir_actors::CheckpointId;

/// How a RocksDB snapshot's files are kept. The variants' order is part of the snapshot
/// format: new ones go last.
#[derive(Serialize, Deserialize)]
pub(crate) enum RocksFiles {
    /// Every file of the instance, in the state bytes (in-memory checkpoint storage).
    Full(Vec<(String, Vec<u8>)>),
    /// Written by an earlier weir: an incremental checkpoint whose paths are relative to the
    /// absolute job directory `job_dir` (read where [`SnapshotDirs`] says the checkpoint is
    /// now, if it knows).
    Incremental {
        /// The job directory the handle's paths were relative to when it was written.
        job_dir: PathBuf,
        /// The files.
        handle: IncrementalHandle,
    },
    /// Files in the storage, by relative paths (see the module's doc): a full snapshot's are
    /// all in the checkpoint's own directory, an incremental one's SST files in `shared/`.
    Files(IncrementalHandle),
}

impl RocksFiles {
    /// Bytes of the files this snapshot keeps in its checkpoint's own directory.
    pub(crate) fn private_bytes(&self) -> u64 {
        match self {
            RocksFiles::Full(_) => 0,
            RocksFiles::Incremental { handle, .. } | RocksFiles::Files(handle) => {
                handle.private.iter().map(|f| f.size).sum()
            }
        }
    }
}

/// Where the snapshots a subtask may restore keep their files: the job's own checkpoint
/// storage, and the storage of the snapshot the job starts from (a savepoint's directory, or a
/// retained checkpoint's job directory), wherever either was when it was written.
#[derive(Debug, Clone, Default)]
pub(crate) struct SnapshotDirs {
    /// The job's checkpoint storage (a filesystem's).
    pub job: Option<FileSystemCheckpointStorage>,
    /// The checkpoint the job starts from and the storage holding it.
    pub restored_from: Option<(CheckpointId, FileSystemCheckpointStorage)>,
}

impl SnapshotDirs {
    /// The directories a subtask of a job with `settings` restores from.
    pub(crate) fn of(settings: &BackendSettings) -> Self {
        SnapshotDirs {
            job: settings.storage.clone(),
            restored_from: settings.restored_from.clone(),
        }
    }

    /// The storage checkpoint `checkpoint`'s relative paths resolve in: the one it is restored
    /// from if it is the job's starting point, else the job's own (or the job directory
    /// `recorded`, the absolute one an earlier weir wrote down).
    fn storage_of(
        &self,
        checkpoint: CheckpointId,
        recorded: Option<&Path>,
    ) -> Result<FileSystemCheckpointStorage, String> {
        match (&self.restored_from, recorded, &self.job) {
            (Some((id, storage)), _, _) if *id == checkpoint => Ok(storage.clone()),
            (_, Some(job_dir), _) => Ok(FileSystemCheckpointStorage::at_job_dir(job_dir)),
            (_, None, Some(storage)) => Ok(storage.clone()),
            (_, None, None) => Err(format!(
                "checkpoint {checkpoint} keeps its RocksDB files in a checkpoint directory, \
                 and this job has none (set_checkpoint_dir)"
            )),
        }
    }
}

/// Opens the instance `files` hold in `working_dir`; for files in a storage, also the
/// directory they were read from and the handle (what an incremental checkpoint of that
/// directory can build on).
pub(crate) fn materialize(
    files: RocksFiles,
    working_dir: PathBuf,
    options: RocksDbOptions,
    dirs: &SnapshotDirs,
) -> Result<(RocksDbStateStore, Option<(PathBuf, IncrementalHandle)>), BoxError> {
    let (storage, handle) = match files {
        RocksFiles::Full(files) => {
            fs::create_dir_all(&working_dir)?;
            for (name, bytes) in files {
                let path = plain_child(&working_dir, &name)?;
                fs::write(&path, bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            let store = RocksDbStateStore::open_existing(working_dir, options)?;
            return Ok((store, None));
        }
        RocksFiles::Incremental { job_dir, handle } => (
            dirs.storage_of(handle.checkpoint_id, Some(&job_dir))?,
            handle,
        ),
        RocksFiles::Files(handle) => (dirs.storage_of(handle.checkpoint_id, None)?, handle),
    };
    let store = handle.restore(&storage, working_dir, options)?;
    Ok((store, Some((storage.job_dir().to_path_buf(), handle))))
}

/// `dir/name`, refusing a name that is not a plain file name (a corrupt snapshot).
fn plain_child(dir: &Path, name: &str) -> Result<PathBuf, BoxError> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains('/');
    if plain {
        Ok(dir.join(name))
    } else {
        Err(
            format!("a RocksDB snapshot names a file {name:?}, which is not a plain file name")
                .into(),
        )
    }
}

/// The shared files of `handle`, marking those `checkpoint` uploaded.
pub(super) fn shared_files(
    handle: &IncrementalHandle,
    checkpoint: CheckpointId,
) -> Vec<SharedFile> {
    handle
        .shared
        .iter()
        .map(|f| SharedFile {
            path: f.path.clone(),
            size: f.size,
            uploaded: paths::shared_name_of(&f.path)
                .and_then(|name| name.to_str())
                .and_then(paths::uploading_checkpoint)
                == Some(checkpoint),
        })
        .collect()
}
