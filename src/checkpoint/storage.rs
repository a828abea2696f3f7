//! Where a job's checkpoints are kept: a directory on a filesystem
//! ([`FileSystemCheckpointStorage`]) or the process's memory ([`MemoryCheckpointStorage`]), both
//! implementing the runtime's [`CheckpointStorage`].
//!
//! # Layout on disk
//!
//! ```text
//! <base dir>/<job id>/chk-<n>/_metadata                  written last, atomically
//! <base dir>/<job id>/chk-<n>/<vertex uid>-<subtask>.state
//! <base dir>/<job id>/shared/<uid>-<subtask>-<n>-<file>  incremental RocksDB files (uploaded by n)
//! ```
//!
//! Every file has the format of [`crate::checkpoint::file_format`]. Job ids and vertex uids are made safe
//! as file names by percent-encoding every byte outside `[A-Za-z0-9._-]` (and a leading `.`), so
//! two different uids never share a file.
//!
//! # Guarantees
//!
//! - A checkpoint is complete exactly when its `_metadata` exists and is intact; a crash at any
//!   moment of a write leaves either no `_metadata` or the whole one.
//! - State files are fsynced before [`CheckpointStorage::write_state`] returns; the metadata's
//!   atomic write then fsyncs their directory.
//! - Directories are created on first write, each one made durable by an fsync of its parent.
//! - A failed write returns [`StorageError::Io`] naming the path (this is how a checkpoint is
//!   declined) and never panics; [`CheckpointStorage::latest_complete`] skips, and reports, every
//!   newer checkpoint whose metadata is missing, truncated, corrupt, foreign or of another version.
//! - Discarding a checkpoint also deletes the shared files it wrote or referred to that no
//!   complete checkpoint refers to: `shared/` holds exactly what the retained checkpoints need.

use crate::checkpoint::file_format::{self, io_error, FileKind};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, LatestCheckpoint, StateLocation, StorageError,
};
use weir_actors::CheckpointId;

mod shared_files;
pub(crate) use shared_files::uploading_checkpoint;

/// The name of the file that makes a checkpoint complete.
pub const METADATA_FILE_NAME: &str = "_metadata";

/// The name of the job's directory for files shared between checkpoints.
pub const SHARED_DIR_NAME: &str = "shared";

/// Checkpoints kept under `<base dir>/<job id>/`, one directory `chk-<n>` per checkpoint.
///
/// A checkpoint, once discarded, accepts no more state: a write still in flight when its
/// checkpoint is aborted (a slow snapshot, a job cancelled mid-write) finishes before the
/// directory is removed, and a later one is refused, so no orphan `chk-<n>` is left behind.
#[derive(Debug, Clone)]
pub struct FileSystemCheckpointStorage {
    job_dir: PathBuf,
    discarded: Arc<parking_lot::RwLock<std::collections::HashSet<CheckpointId>>>,
}

/// The error for a state write into a checkpoint that was already discarded.
fn discarded_error(path: PathBuf) -> StorageError {
    StorageError::Io {
        operation: "write",
        path,
        reason: "the checkpoint was aborted and discarded".into(),
    }
}

impl FileSystemCheckpointStorage {
    /// Storage for job `job_id` under `base_dir`. Touches no file: directories are created on the
    /// first write, so a storage over an unwritable directory fails at its first write, not here.
    pub fn new(base_dir: impl Into<PathBuf>, job_id: &str) -> Self {
        Self::at_job_dir(base_dir.into().join(file_name_for(job_id)))
    }

    /// Storage whose job directory is `job_dir` itself.
    pub fn at_job_dir(job_dir: impl Into<PathBuf>) -> Self {
        FileSystemCheckpointStorage {
            job_dir: job_dir.into(),
            discarded: Arc::default(),
        }
    }

    /// The job's directory, `<base dir>/<job id>`.
    pub fn job_dir(&self) -> &Path {
        &self.job_dir
    }

    /// The directory of checkpoint `id`, `<job dir>/chk-<id>` (whether or not it exists).
    pub fn checkpoint_dir(&self, id: CheckpointId) -> PathBuf {
        self.job_dir.join(format!("chk-{id}"))
    }

    /// The directory reserved for files shared between checkpoints, `<job dir>/shared` (not
    /// created by this storage until incremental checkpoints use it).
    pub fn shared_dir(&self) -> PathBuf {
        self.job_dir.join(SHARED_DIR_NAME)
    }

    /// The file name of the state of subtask `subtask` of vertex `vertex_uid`: the uid made safe
    /// for a file name, then `-<subtask>.state`.
    pub fn state_file_name(vertex_uid: &str, subtask: u32) -> String {
        format!("{}-{subtask}.state", file_name_for(vertex_uid))
    }

    /// Resolves a [`StateLocation::File`] of checkpoint `checkpoint`: a path starting with
    /// `shared/` is under the job directory, any other under the checkpoint's directory. Absolute
    /// paths and `..` are refused, so corrupt metadata cannot point outside the job directory.
    fn resolve(&self, checkpoint: CheckpointId, relative: &Path) -> Result<PathBuf, StorageError> {
        let dir = self.checkpoint_dir(checkpoint);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !plain || relative.as_os_str().is_empty() {
            return Err(StorageError::Corrupt {
                path: dir.join(relative),
                reason: "state location is not a plain relative path".to_owned(),
            });
        }
        let mut components = relative.components();
        let in_shared = components.next() == Some(Component::Normal(SHARED_DIR_NAME.as_ref()))
            && components.next().is_some();
        Ok(if in_shared {
            self.job_dir.join(relative)
        } else {
            dir.join(relative)
        })
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
        // Held while writing: a discard of this checkpoint waits for the write to finish.
        let discarded = self.discarded.read();
        if discarded.contains(&checkpoint) {
            return Err(discarded_error(dir));
        }
        create_dir_durably(&dir)?;
        let name = Self::state_file_name(vertex_uid, subtask);
        let path = dir.join(&name);
        let encoded = encode_file(&path, FileKind::State, &bytes)?;
        file_format::write_durably(&path, &encoded)?;
        Ok(StateLocation::File(PathBuf::from(name)))
    }

    fn read_state(
        &self,
        checkpoint: CheckpointId,
        location: &StateLocation,
    ) -> Result<Vec<u8>, StorageError> {
        match location {
            StateLocation::Inline(bytes) => Ok(bytes.clone()),
            StateLocation::File(relative) => {
                let path = self.resolve(checkpoint, relative)?;
                file_format::read(&path, FileKind::State)
            }
        }
    }

    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        let dir = self.checkpoint_dir(metadata.checkpoint_id);
        create_dir_durably(&dir)?;
        let path = dir.join(METADATA_FILE_NAME);
        let encoded = encode_file(&path, FileKind::Metadata, metadata)?;
        file_format::write_atomically(&path, &encoded)?;
        Ok(encoded.len() as u64)
    }

    fn discard(&self, checkpoint: CheckpointId) -> Result<(), StorageError> {
        let dir = self.checkpoint_dir(checkpoint);
        let mut discarded = self.discarded.write();
        discarded.insert(checkpoint);
        let metadata = self.load(checkpoint).ok();
        match fs::remove_dir_all(&dir) {
            Ok(()) => file_format::sync_dir(&self.job_dir)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("delete", &dir, &e)),
        }
        self.collect_shared_files(checkpoint, metadata.as_ref())
    }

    fn highest_used_id(&self) -> Result<Option<CheckpointId>, StorageError> {
        let listed = self.list()?.into_iter().max();
        Ok(listed.max(self.highest_shared_file_id()?))
    }

    fn delete_leftovers(&self) -> Result<(), StorageError> {
        for id in self.list()? {
            if self.load(id).is_err() {
                self.discard(id)?;
            }
        }
        let _discarded = self.discarded.write();
        self.delete_unreferenced_shared_files()
    }

    fn discard_shared(
        &self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError> {
        // Under the discard lock, so the complete checkpoints read are not changing.
        let _discarded = self.discarded.write();
        self.delete_unreferenced(checkpoint, files.iter().cloned())
    }

    fn load(&self, checkpoint: CheckpointId) -> Result<CheckpointMetadata, StorageError> {
        let path = self.checkpoint_dir(checkpoint).join(METADATA_FILE_NAME);
        let metadata: CheckpointMetadata = file_format::read(&path, FileKind::Metadata)?;
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
        let entries = match fs::read_dir(&self.job_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &self.job_dir, &e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", &self.job_dir, &e))?;
            let id = entry
                .file_name()
                .to_str()
                .and_then(parse_checkpoint_dir_name);
            if let Some(id) = id {
                if entry.path().is_dir() {
                    ids.push(id);
                }
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    fn describe(&self) -> String {
        self.job_dir.display().to_string()
    }
}

/// Checkpoints kept in memory, for tests and jobs that need no durability. Clones share the same
/// checkpoints, so a test can hand one storage to successive runs of a job.
#[derive(Debug, Clone)]
pub struct MemoryCheckpointStorage {
    job_id: String,
    checkpoints: Arc<Mutex<BTreeMap<CheckpointId, MemoryCheckpoint>>>,
    discarded: Arc<Mutex<std::collections::HashSet<CheckpointId>>>,
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
        PathBuf::from(format!("memory:{}/chk-{checkpoint}", self.job_id)).join(file)
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
            return Err(discarded_error(self.path_of(checkpoint, Path::new(""))));
        }
        let entry = checkpoints.entry(checkpoint).or_default();
        entry.state_bytes = entry.state_bytes.saturating_add(bytes.len() as u64);
        Ok(StateLocation::Inline(bytes.to_vec()))
    }

    fn read_state(
        &self,
        checkpoint: CheckpointId,
        location: &StateLocation,
    ) -> Result<Vec<u8>, StorageError> {
        match location {
            StateLocation::Inline(bytes) => Ok(bytes.clone()),
            StateLocation::File(file) => Err(StorageError::NotFound {
                path: self.path_of(checkpoint, file),
            }),
        }
    }

    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        let path = self.path_of(metadata.checkpoint_id, Path::new(METADATA_FILE_NAME));
        let size = encode_file(&path, FileKind::Metadata, metadata)?.len() as u64;
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
                path: self.path_of(checkpoint, Path::new(METADATA_FILE_NAME)),
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

/// [`file_format::encode`], its error naming `path`.
fn encode_file<T: serde::Serialize>(
    path: &Path,
    kind: FileKind,
    value: &T,
) -> Result<Vec<u8>, StorageError> {
    file_format::encode(kind, value).map_err(|error| match error {
        StorageError::Corrupt { reason, .. } => StorageError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })
}

/// Walks `ids` (ascending) newest first; returns the first that loads, with the errors of those
/// skipped before it.
fn newest_loadable(
    ids: Vec<CheckpointId>,
    load: impl Fn(CheckpointId) -> Result<CheckpointMetadata, StorageError>,
) -> Result<LatestCheckpoint, StorageError> {
    let mut latest = LatestCheckpoint::default();
    for id in ids.into_iter().rev() {
        match load(id) {
            Ok(metadata) => {
                latest.metadata = Some(metadata);
                break;
            }
            Err(error) => {
                tracing::warn!(checkpoint = id, %error, "skipping checkpoint");
                latest.skipped.push(error);
            }
        }
    }
    Ok(latest)
}

/// `chk-<n>` → `n`; `None` for any other name (including `chk-+1` and `chk-01`).
fn parse_checkpoint_dir_name(name: &str) -> Option<CheckpointId> {
    let digits = name.strip_prefix("chk-")?;
    let id: CheckpointId = digits.parse().ok()?;
    (id.to_string() == digits).then_some(id)
}

/// `name` made safe as one file name: bytes in `[A-Za-z0-9._-]` kept (except a leading `.`),
/// every other byte written `%XX`. Different names stay different.
fn file_name_for(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') || (byte == b'.' && i > 0);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Creates `dir` and its missing ancestors, fsyncing each new directory's parent so the new
/// entry survives a crash. A directory created concurrently by another writer is fine.
fn create_dir_durably(dir: &Path) -> Result<(), StorageError> {
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.is_dir() {
        missing.push(current);
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => break,
        }
    }
    for new_dir in missing.into_iter().rev() {
        match fs::create_dir(new_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && new_dir.is_dir() => continue,
            Err(e) => return Err(io_error("create", new_dir, &e)),
        }
        match new_dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => file_format::sync_dir(parent)?,
            _ => file_format::sync_dir(Path::new("."))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_plain_uids_and_encode_the_rest() {
        assert_eq!(file_name_for("source-1.v2"), "source-1.v2");
        assert_eq!(file_name_for("a/b"), "a%2Fb");
        assert_eq!(file_name_for(".."), "%2E.");
        assert_eq!(file_name_for("%"), "%25");
        assert_eq!(file_name_for("é"), "%C3%A9");
        assert_ne!(file_name_for("a/b"), file_name_for("a_b"));
    }

    #[test]
    fn only_canonical_chk_names_are_checkpoints() {
        assert_eq!(parse_checkpoint_dir_name("chk-0"), Some(0));
        assert_eq!(parse_checkpoint_dir_name("chk-42"), Some(42));
        for name in [
            "chk-",
            "chk-01",
            "chk-+1",
            "chk--1",
            "chk-1a",
            "shared",
            "chk-1.tmp",
        ] {
            assert_eq!(parse_checkpoint_dir_name(name), None, "{name}");
        }
    }

    #[test]
    fn state_locations_resolve_inside_the_job_directory_only() {
        let storage = FileSystemCheckpointStorage::new("/base", "job");
        let chk = storage.checkpoint_dir(3);
        assert_eq!(
            storage.resolve(3, Path::new("a-0.state")),
            Ok(chk.join("a-0.state"))
        );
        assert_eq!(
            storage.resolve(3, Path::new("shared/x.sst")),
            Ok(PathBuf::from("/base/job/shared/x.sst"))
        );
        for bad in ["", "/etc/passwd", "../chk-2/a-0.state", "./a"] {
            assert!(storage.resolve(3, Path::new(bad)).is_err(), "{bad}");
        }
    }
}
