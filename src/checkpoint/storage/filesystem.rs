//! [`FileSystemCheckpointStorage`]: a job's checkpoints in a directory.

use super::write_gate::WriteGate;
use super::{discarded_error, encode_metadata, newest_loadable};
use crate::checkpoint::durable::{
    create_dir_durably, io_error, probe_dir, sync_dir, write_atomically, write_durably,
};
use crate::checkpoint::file_format::{self, check_identity, FileKind};
use crate::checkpoint::paths;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, FileIdentity, LatestCheckpoint, Leftovers,
    RecordedProperty, SharedFile, StateFile, StateHandle, StateLocation, StorageError,
};
use weir_actors::CheckpointId;

/// Checkpoints kept under `<base dir>/<job id>/`, one directory `chk-<n>` per checkpoint.
///
/// Clones are handles to one storage: they share its write gate, so a job hands clones of one
/// instance to everything that writes (the runtime's state writes, the uploads of incremental
/// RocksDB checkpoints) and a discard orders itself against all of them.
///
/// A checkpoint, once discarded, accepts no more writes: a write still in flight when its
/// checkpoint is aborted (a slow snapshot, a job cancelled mid-write) finishes before the
/// directory is removed, and a later one is refused, so no orphan `chk-<n>` is left behind.
#[derive(Debug, Clone)]
pub struct FileSystemCheckpointStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    job_dir: PathBuf,
    /// Every checkpoint's directory is `job_dir` itself (one snapshot: a savepoint).
    flat: bool,
    gate: WriteGate,
}

impl FileSystemCheckpointStorage {
    /// Storage for job `job_id` under `base_dir`. Touches no file: directories are created on the
    /// first write (or by [`CheckpointStorage::check_writable`], which a job calls as it starts).
    pub fn new(base_dir: impl Into<PathBuf>, job_id: &str) -> Self {
        Self::at_job_dir(base_dir.into().join(paths::job_dir_name(job_id)))
    }

    /// Storage whose job directory is `job_dir` itself.
    pub fn at_job_dir(job_dir: impl Into<PathBuf>) -> Self {
        Self::with_layout(job_dir.into(), false)
    }

    /// Storage of one snapshot whose files are in `dir` itself — `_metadata`, the state files,
    /// the RocksDB directories and `shared/` — as in a savepoint's directory: the directory of
    /// every checkpoint id is `dir`.
    pub fn at_snapshot_dir(dir: impl Into<PathBuf>) -> Self {
        Self::with_layout(dir.into(), true)
    }

    fn with_layout(job_dir: PathBuf, flat: bool) -> Self {
        FileSystemCheckpointStorage {
            inner: Arc::new(Inner {
                job_dir,
                flat,
                gate: WriteGate::default(),
            }),
        }
    }

    /// The job's directory, `<base dir>/<job id>` (the snapshot's directory for
    /// [`at_snapshot_dir`](Self::at_snapshot_dir)).
    pub fn job_dir(&self) -> &Path {
        &self.inner.job_dir
    }

    /// The directory of checkpoint `id`, `<job dir>/chk-<id>` (whether or not it exists; the
    /// snapshot's directory for [`at_snapshot_dir`](Self::at_snapshot_dir)).
    pub fn checkpoint_dir(&self, id: CheckpointId) -> PathBuf {
        match self.inner.flat {
            true => self.job_dir().to_path_buf(),
            false => self.job_dir().join(paths::checkpoint_dir_name(id)),
        }
    }

    /// The directory reserved for files shared between checkpoints, `<job dir>/shared` (not
    /// created by this storage until incremental checkpoints use it).
    pub fn shared_dir(&self) -> PathBuf {
        self.job_dir().join(paths::SHARED_DIR_NAME)
    }

    /// The file name of the state of subtask `subtask` of vertex `vertex_uid`: the uid made safe
    /// for a file name, then `-<subtask>.state`.
    pub fn state_file_name(vertex_uid: &str, subtask: u32) -> String {
        paths::state_file_name(vertex_uid, subtask)
    }

    /// The gate writes and deletes pass.
    pub(super) fn gate(&self) -> &WriteGate {
        &self.inner.gate
    }

    /// The path of `_metadata` of checkpoint `id`.
    pub(super) fn metadata_path(&self, id: CheckpointId) -> PathBuf {
        self.checkpoint_dir(id).join(paths::METADATA_FILE_NAME)
    }

    /// Resolves a path checkpoint `checkpoint` records: `shared/<name>` under the job's
    /// directory, anything else under the checkpoint's (see [`paths::resolve_in`]).
    pub(crate) fn resolve(
        &self,
        checkpoint: CheckpointId,
        relative: &Path,
    ) -> Result<PathBuf, StorageError> {
        paths::resolve_in(self.job_dir(), &self.checkpoint_dir(checkpoint), relative)
    }

    /// Reads the state file `file` of subtask `handle` in `checkpoint`, checked against what
    /// the metadata recorded.
    fn read_state_file(
        &self,
        checkpoint: CheckpointId,
        handle: &StateHandle,
        file: &StateFile,
    ) -> Result<Vec<u8>, StorageError> {
        let path = self.resolve(checkpoint, &file.path)?;
        let raw = file_format::read_file(&path)?;
        let (identity, body) = file_format::decode_bytes(&path, FileKind::State, &raw)?;
        let expected = FileIdentity::State {
            checkpoint_id: checkpoint,
            vertex_uid: handle.vertex_uid.clone(),
            subtask: handle.subtask,
        };
        check_identity(&path, &expected, identity)?;
        let differs = |property, recorded: u64, found: u64| StorageError::DiffersFromMetadata {
            path: path.clone(),
            property,
            recorded,
            found,
        };
        if raw.len() as u64 != file.size {
            return Err(differs(RecordedProperty::Size, file.size, raw.len() as u64));
        }
        let checksum = file_checksum(&raw);
        if checksum != file.checksum {
            let (recorded, found) = (file.checksum.into(), checksum.into());
            return Err(differs(RecordedProperty::Checksum, recorded, found));
        }
        Ok(body.to_vec())
    }

    /// The checkpoint id the `_metadata` in the snapshot's directory records (see
    /// [`at_snapshot_dir`](Self::at_snapshot_dir)), if there is one: the file is read and
    /// checked as a metadata file.
    pub(crate) fn snapshot_id(&self) -> Result<Option<CheckpointId>, StorageError> {
        let path = self.job_dir().join(paths::METADATA_FILE_NAME);
        if !path.is_file() {
            return Ok(None);
        }
        let (_, metadata): (_, CheckpointMetadata) = file_format::read(&path, FileKind::Metadata)?;
        Ok(Some(metadata.checkpoint_id))
    }

    /// Whether directory entry `entry` of the job directory is a directory (following links).
    fn entry_is_dir(&self, entry: &fs::DirEntry) -> Result<bool, StorageError> {
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| io_error("list", &path, &e))?;
        if !file_type.is_symlink() {
            return Ok(file_type.is_dir());
        }
        match fs::metadata(&path) {
            Ok(metadata) => Ok(metadata.is_dir()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("list", &path, &e)),
        }
    }
}

impl CheckpointStorage for FileSystemCheckpointStorage {
    fn write_state(
        &self,
        checkpoint: CheckpointId,
        vertex_uid: &str,
        subtask: u32,
        bytes: &[u8],
    ) -> Result<StateLocation, StorageError> {
        let dir = self.checkpoint_dir(checkpoint);
        let name = paths::state_file_name(vertex_uid, subtask);
        let path = dir.join(&name);
        let identity = FileIdentity::State {
            checkpoint_id: checkpoint,
            vertex_uid: vertex_uid.to_owned(),
            subtask,
        };
        let encoded = file_format::encode_bytes(&identity, bytes);
        self.gate().write(
            checkpoint,
            || discarded_error(&dir),
            || {
                create_dir_durably(&dir)?;
                write_durably(&path, &encoded)
            },
        )?;
        Ok(StateLocation::File(StateFile {
            path: PathBuf::from(name),
            size: encoded.len() as u64,
            checksum: file_checksum(&encoded),
        }))
    }

    fn read_state(
        &self,
        checkpoint: CheckpointId,
        handle: &StateHandle,
    ) -> Result<Vec<u8>, StorageError> {
        match &handle.location {
            StateLocation::Inline(bytes) => Ok(bytes.clone()),
            StateLocation::File(file) => self.read_state_file(checkpoint, handle, file),
        }
    }

    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        let id = metadata.checkpoint_id;
        let dir = self.checkpoint_dir(id);
        let path = self.metadata_path(id);
        let encoded = encode_metadata(&path, metadata)?;
        self.gate().write(
            id,
            || discarded_error(&dir),
            || {
                create_dir_durably(&dir)?;
                write_atomically(&path, &encoded)
            },
        )?;
        Ok(encoded.len() as u64)
    }

    fn discard(&self, checkpoint: CheckpointId) -> Result<(), StorageError> {
        let dir = self.checkpoint_dir(checkpoint);
        self.gate().discard(checkpoint, || {
            let metadata = self.load(checkpoint).ok();
            match fs::remove_dir_all(&dir) {
                Ok(()) => sync_dir(self.job_dir())?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("delete", &dir, &e)),
            }
            self.collect_shared_files(checkpoint, metadata.as_ref())
        })
    }

    fn discard_shared(
        &self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError> {
        // With no write in flight, so the complete checkpoints read are not changing.
        self.gate()
            .exclusive(|| self.delete_unreferenced(checkpoint, files.iter().cloned()))
            .map(drop)
    }

    fn check_shared_file(&self, file: &SharedFile) -> Result<(), StorageError> {
        let Some(name) = paths::shared_name_of(&file.path) else {
            return Err(StorageError::Corrupt {
                path: self.job_dir().join(&file.path),
                reason: "a shared file outside the shared area".to_owned(),
            });
        };
        let path = self.shared_dir().join(name);
        let found = match fs::metadata(&path) {
            Ok(metadata) => metadata.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound { path })
            }
            Err(e) => return Err(io_error("read", &path, &e)),
        };
        if found != file.size {
            return Err(StorageError::DiffersFromMetadata {
                path,
                property: RecordedProperty::Size,
                recorded: file.size,
                found,
            });
        }
        Ok(())
    }

    fn load(&self, checkpoint: CheckpointId) -> Result<CheckpointMetadata, StorageError> {
        let path = self.metadata_path(checkpoint);
        let (identity, metadata): (_, CheckpointMetadata) =
            file_format::read(&path, FileKind::Metadata)?;
        let expected = FileIdentity::Metadata {
            checkpoint_id: checkpoint,
        };
        check_identity(&path, &expected, identity)?;
        if metadata.checkpoint_id != checkpoint {
            return Err(StorageError::Corrupt {
                path,
                reason: format!("holds checkpoint {}", metadata.checkpoint_id),
            });
        }
        Ok(metadata)
    }

    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError> {
        newest_loadable(self.list()?, |id| self.load(id))
    }

    fn list(&self) -> Result<Vec<CheckpointId>, StorageError> {
        if self.inner.flat {
            return self.snapshot_id().map(|id| id.into_iter().collect());
        }
        let job_dir = self.job_dir();
        let entries = match fs::read_dir(job_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", job_dir, &e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", job_dir, &e))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(paths::parse_checkpoint_dir_name) else {
                continue;
            };
            if self.entry_is_dir(&entry)? {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    fn highest_used_id(&self) -> Result<Option<CheckpointId>, StorageError> {
        let listed = self.list()?.into_iter().max();
        Ok(listed.max(self.highest_shared_file_id()?))
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        create_dir_durably(self.job_dir())?;
        probe_dir(self.job_dir())
    }

    fn delete_leftovers(&self) -> Result<Leftovers, StorageError> {
        self.delete_leftovers_now()
    }

    fn describe(&self) -> String {
        self.job_dir().display().to_string()
    }
}

/// The checksum a metadata records of a file: the CRC-32 of every byte before its trailing
/// CRC (the CRC of a whole file, trailer included, is the same constant for every intact file).
fn file_checksum(bytes: &[u8]) -> u32 {
    crc32fast::hash(&bytes[..bytes.len().saturating_sub(4)])
}
