//! Incremental checkpoints of a [`RocksDbStateStore`]: only SST files that are new since the
//! previous checkpoint are copied to the job's `shared/` area, and a [`SharedFileRegistry`]
//! reference-counts them across retained checkpoints.
//!
//! # Layout
//! ```text
//! <job dir>/shared/<uid>-<subtask>-<checkpoint id>-<instance>.<sst name>   SST files, shared between checkpoints
//! <job dir>/chk-<n>/<uid>-<subtask>.rocksdb/<file>              MANIFEST, CURRENT, OPTIONS of checkpoint n
//! ```
//! A shared file's name carries the id of the checkpoint that uploaded it: RocksDB numbers its
//! files per instance, so after a restore from an older checkpoint the same SST name may come back
//! with other contents; with the checkpoint id and the uploading checkpointer's instance (unique
//! in the process, so a failed attempt's late upload never takes a later attempt's name) two
//! different files never share a name. Paths in an [`IncrementalHandle`] follow
//! [`StateLocation::File`](weir_actors::checkpoint::storage::StateLocation::File): `shared/...` is
//! relative to the job directory, anything else to the checkpoint's directory.
//!
//! # Guarantees
//! - An SST file already uploaded by the base checkpoint (same name, same size, still present) is
//!   referenced, not copied again; every other file is copied and fsynced.
//! - Every file is written through the job's one [`FileSystemCheckpointStorage`], under the gate
//!   its discards take: once the checkpoint is discarded (declined, aborted, timed out), the
//!   upload is refused and nothing of it is left, in `chk-<n>/` or in `shared/`.
//! - A failed upload removes what it copied for that checkpoint: no partial or orphan files.
//! - [`SharedFileRegistry::release`] returns a shared file only when no registered (retained)
//!   checkpoint refers to it any more: storage then holds exactly the files the retained
//!   checkpoints need, and never loses one of them.
//!
//! The checkpoint's steps are split as Flink splits them: [`IncrementalCheckpointer::snapshot`]
//! is the short synchronous part (flush and a hard-linked RocksDB checkpoint in a local staging
//! directory); [`IncrementalCheckpointer::upload`] is the asynchronous part.

use crate::checkpoint::paths;
pub use crate::checkpoint::shared_file_registry::SharedFileRegistry;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::state::rocksdb::store::{
    copy_file, create_empty_dir, io_error, RocksDbError, RocksDbOptions, RocksDbStateStore, SstFile,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::CheckpointId;

/// One file of an incremental checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointedFile {
    /// Its name in the RocksDB working directory.
    pub local_name: String,
    /// Where it is kept: `shared/<name>` (relative to the job directory) or a path relative to
    /// the checkpoint's directory.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// What one subtask's incremental checkpoint consists of: enough to restore its RocksDB instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncrementalHandle {
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// SST files in the job's `shared/` area, uploaded by this checkpoint or an earlier one.
    pub shared: Vec<CheckpointedFile>,
    /// The instance's other files, in the checkpoint's own directory.
    pub private: Vec<CheckpointedFile>,
    /// Bytes this checkpoint copied: its new SST files and its private files.
    pub uploaded_bytes: u64,
}

impl IncrementalHandle {
    /// The shared files this checkpoint refers to, relative to the job directory (what
    /// [`SharedFileRegistry::register`] takes).
    pub fn shared_paths(&self) -> impl Iterator<Item = &Path> {
        self.shared.iter().map(|f| f.path.as_path())
    }

    /// The size of the whole instance, shared and private files: what a full checkpoint copies.
    pub fn full_bytes(&self) -> u64 {
        self.shared
            .iter()
            .chain(&self.private)
            .map(|f| f.size)
            .sum()
    }

    /// Restores the instance into `working_dir` (created if missing, must be empty): copies
    /// every file back, checking its size, then opens it with every state registered.
    pub fn restore(
        &self,
        storage: &FileSystemCheckpointStorage,
        working_dir: impl Into<PathBuf>,
        options: RocksDbOptions,
    ) -> Result<RocksDbStateStore, RocksDbError> {
        let working_dir = working_dir.into();
        create_empty_dir(&working_dir)?;
        for file in self.shared.iter().chain(&self.private) {
            let from = storage.resolve(self.checkpoint_id, &file.path)?;
            let to = local_path(&working_dir, &file.local_name)?;
            let size = copy_file(&from, &to)?;
            if size != file.size {
                return Err(RocksDbError::SizeMismatch {
                    path: from,
                    expected: file.size,
                    actual: size,
                });
            }
        }
        RocksDbStateStore::open_existing(working_dir, options)
    }
}

/// A RocksDB checkpoint in the local staging directory, waiting to be uploaded. Dropping it
/// removes the staging directory.
#[derive(Debug)]
pub struct LocalSnapshot {
    checkpoint_id: CheckpointId,
    dir: PathBuf,
    files: Vec<SstFile>,
}

impl LocalSnapshot {
    /// The checkpoint it belongs to.
    pub fn checkpoint_id(&self) -> CheckpointId {
        self.checkpoint_id
    }

    /// Its files, sorted by name.
    pub fn files(&self) -> &[SstFile] {
        &self.files
    }
}

impl Drop for LocalSnapshot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Numbers the checkpointers of this process (see `IncrementalCheckpointer::instance`).
static CHECKPOINTERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Takes incremental checkpoints of one subtask's [`RocksDbStateStore`] into a
/// [`FileSystemCheckpointStorage`].
#[derive(Debug, Clone)]
pub struct IncrementalCheckpointer {
    storage: FileSystemCheckpointStorage,
    /// `<uid made safe>-<subtask>`: the start of every file name this subtask writes.
    file_prefix: String,
    /// Distinguishes this checkpointer's uploads from any other's (another attempt, another
    /// run in the same process) that might reuse a checkpoint id and an SST file number.
    instance: String,
    staging_dir: PathBuf,
}

impl IncrementalCheckpointer {
    /// A checkpointer for subtask `subtask` of vertex `vertex_uid`, staging local RocksDB
    /// checkpoints under `staging_dir` (a local directory on the working directory's file
    /// system, so SST files are hard-linked rather than copied). `storage` must be (a clone of)
    /// the job's one storage instance, so that its discards and the uploads exclude each other.
    pub fn new(
        storage: FileSystemCheckpointStorage,
        vertex_uid: &str,
        subtask: u32,
        staging_dir: impl Into<PathBuf>,
    ) -> Self {
        IncrementalCheckpointer {
            storage,
            file_prefix: paths::subtask_file_stem(vertex_uid, subtask),
            instance: format!(
                "{:x}x{:x}",
                std::process::id(),
                CHECKPOINTERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            staging_dir: staging_dir.into(),
        }
    }

    /// The job directory the checkpointer uploads into.
    pub fn job_dir(&self) -> &Path {
        self.storage.job_dir()
    }

    /// The synchronous part: flushes `store` and writes a RocksDB checkpoint of it into
    /// `<staging dir>/chk-<checkpoint>` (replacing a leftover one).
    pub fn snapshot(
        &self,
        store: &RocksDbStateStore,
        checkpoint: CheckpointId,
    ) -> Result<LocalSnapshot, RocksDbError> {
        fs::create_dir_all(&self.staging_dir)
            .map_err(|e| io_error("create", &self.staging_dir, &e))?;
        let dir = self
            .staging_dir
            .join(paths::checkpoint_dir_name(checkpoint));
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error("delete", &dir, &e))
            }
            _ => {}
        }
        let files = store.native_checkpoint(&dir)?;
        Ok(LocalSnapshot {
            checkpoint_id: checkpoint,
            dir,
            files,
        })
    }

    /// The asynchronous part: copies the SST files of `local` that `base` (the last completed
    /// checkpoint of this instance's lineage: the one it was restored from, or a later one it
    /// took) has not uploaded into `shared/`, and the other files into the checkpoint's
    /// directory, all through the storage. On failure, or when the checkpoint was discarded
    /// meanwhile, removes what it copied.
    pub fn upload(
        &self,
        local: LocalSnapshot,
        base: Option<&IncrementalHandle>,
    ) -> Result<IncrementalHandle, RocksDbError> {
        self.upload_files(local, base, true)
    }

    /// The asynchronous part of a full checkpoint: copies every file of `local` into the
    /// checkpoint's own directory (nothing into `shared/`), through the storage; the handle
    /// lists them all as private. On failure, or when the checkpoint was discarded meanwhile,
    /// removes what it copied.
    pub fn upload_private(&self, local: LocalSnapshot) -> Result<IncrementalHandle, RocksDbError> {
        self.upload_files(local, None, false)
    }

    fn upload_files(
        &self,
        local: LocalSnapshot,
        base: Option<&IncrementalHandle>,
        share_ssts: bool,
    ) -> Result<IncrementalHandle, RocksDbError> {
        let checkpoint_id = local.checkpoint_id;
        let mut copied = Vec::new();
        let result = self.copy_files(&local, base, share_ssts, &mut copied);
        if result.is_err() {
            if let Err(cleanup) = self.storage.delete_uploads(checkpoint_id, &copied) {
                tracing::warn!(checkpoint = checkpoint_id, %cleanup, "cannot remove a failed upload");
            }
        }
        result
    }

    /// [`snapshot`](Self::snapshot) then [`upload`](Self::upload).
    pub fn checkpoint(
        &self,
        store: &RocksDbStateStore,
        checkpoint: CheckpointId,
        base: Option<&IncrementalHandle>,
    ) -> Result<IncrementalHandle, RocksDbError> {
        let local = self.snapshot(store, checkpoint)?;
        self.upload(local, base)
    }

    /// Deletes shared files [`SharedFileRegistry::release`] returned (paths relative to the job
    /// directory, under `shared/`), through the storage. A file already gone is not an error.
    pub fn delete_shared_files(&self, files: &[PathBuf]) -> Result<(), RocksDbError> {
        Ok(self.storage.delete_shared_files(files)?)
    }

    /// Copies the files of `local` (SST files into `shared/` when `share_ssts`), recording
    /// each new file's location in `copied`.
    fn copy_files(
        &self,
        local: &LocalSnapshot,
        base: Option<&IncrementalHandle>,
        share_ssts: bool,
        copied: &mut Vec<PathBuf>,
    ) -> Result<IncrementalHandle, RocksDbError> {
        let checkpoint_id = local.checkpoint_id;
        let private_dir = PathBuf::from(paths::private_dir_name(&self.file_prefix));
        let previous: HashMap<&str, &CheckpointedFile> = base
            .map(|b| {
                b.shared
                    .iter()
                    .map(|f| (f.local_name.as_str(), f))
                    .collect()
            })
            .unwrap_or_default();
        let mut handle = IncrementalHandle {
            checkpoint_id,
            shared: Vec::new(),
            private: Vec::new(),
            uploaded_bytes: 0,
        };
        for file in &local.files {
            let from = local.dir.join(&file.name);
            let shared = share_ssts && file.is_sst();
            if shared {
                if let Some(reused) = previous.get(file.name.as_str()) {
                    if self.storage.shared_file_size(&reused.path) == Some(reused.size)
                        && reused.size == file.size
                    {
                        handle.shared.push((*reused).clone());
                        continue;
                    }
                }
            }
            let path = if shared {
                let name = paths::shared_file_name(
                    &self.file_prefix,
                    checkpoint_id,
                    &self.instance,
                    &file.name,
                );
                paths::shared_path(&name)
            } else {
                private_dir.join(&file.name)
            };
            copied.push(path.clone());
            handle.uploaded_bytes += self.storage.upload_file(checkpoint_id, &from, &path)?;
            let recorded = CheckpointedFile {
                local_name: file.name.clone(),
                path,
                size: file.size,
            };
            match shared {
                true => handle.shared.push(recorded),
                false => handle.private.push(recorded),
            }
        }
        self.storage.sync_upload_dirs(checkpoint_id, copied)?;
        Ok(handle)
    }
}

/// `dir/name` for a file name a handle records, refusing anything but a plain file name (a
/// corrupt handle).
fn local_path(dir: &Path, name: &str) -> Result<PathBuf, RocksDbError> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains('/');
    if !plain {
        return Err(weir_actors::checkpoint::storage::StorageError::Corrupt {
            path: dir.join(name),
            reason: "a checkpointed file name is not a plain file name".to_owned(),
        }
        .into());
    }
    Ok(dir.join(name))
}
