//! Where checkpoints are kept: the [`CheckpointStorage`] trait the runtime persists through, and
//! the metadata that describes one checkpoint.
//!
//! The runtime decides *when* to write (a subtask's state after its snapshot; a checkpoint's
//! metadata once every subtask has acknowledged); an implementation decides *where* and *how*
//! (the `weir` crate provides a filesystem directory and an in-memory store). A checkpoint is
//! complete exactly when its metadata has been written: implementations write it last and
//! atomically, so a crash at any moment never leaves a checkpoint that looks complete but is not.

use crate::network::event::CheckpointId;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

mod error;

pub use error::{FileIdentity, RecordedProperty, StorageError};

/// Where one subtask's state of one checkpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateLocation {
    /// Kept in the metadata itself (small states, in-memory storage).
    Inline(Vec<u8>),
    /// A file of the checkpoint's directory, with what the metadata records of it.
    File(StateFile),
}

/// A state file as a checkpoint's metadata records it: a reader checks the file it finds
/// against this record, so a file swapped, truncated or rewritten since is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// Its path, relative to the checkpoint's directory (`chk-<n>/`).
    pub path: PathBuf,
    /// Its length in bytes.
    pub size: u64,
    /// Its CRC-32 (crc32fast): the one it ends with, of every byte before it.
    pub checksum: u32,
}

/// A file in the storage's shared area that a subtask's state refers to (an SST file of an
/// incremental RocksDB checkpoint). Shared files outlive the checkpoint that wrote them: storage
/// deletes one only when no retained checkpoint refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFile {
    /// Its path, relative to the job's directory (`shared/...`).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this checkpoint wrote it (otherwise an earlier checkpoint did).
    pub uploaded: bool,
}

/// One subtask's state in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateHandle {
    /// Uid of the task's first operator (the vertex's uid).
    pub vertex_uid: String,
    /// Subtask index.
    pub subtask: u32,
    /// Uids of the operators whose state the bytes hold.
    pub operator_uids: Vec<String>,
    /// Where the bytes are.
    pub location: StateLocation,
    /// Bytes this checkpoint wrote for the subtask: its state bytes, the files it wrote into
    /// the checkpoint's own directory and the shared files it uploaded (an incremental
    /// checkpoint's size).
    pub size: u64,
    /// Shared files the state refers to, uploaded by this checkpoint or an earlier one.
    pub shared: Vec<SharedFile>,
}

impl StateHandle {
    /// The size of the whole state: what a full checkpoint would write (the state bytes and
    /// every shared file it refers to).
    pub fn full_size(&self) -> u64 {
        self.size
            + self
                .shared
                .iter()
                .filter(|f| !f.uploaded)
                .map(|f| f.size)
                .sum::<u64>()
    }
}

/// One task (vertex) of the job as a checkpoint records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexMetadata {
    /// The vertex's uid.
    pub uid: String,
    /// Its parallelism when the checkpoint was taken.
    pub parallelism: u32,
}

/// What makes a checkpoint complete: written last, atomically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    /// The job's id (the directory under the checkpoint directory).
    pub job_id: String,
    /// The checkpoint's id.
    pub checkpoint_id: CheckpointId,
    /// Milliseconds since the Unix epoch when it was triggered (informational only).
    pub timestamp_ms: u64,
    /// The job's max parallelism, which a restore cannot change.
    pub max_parallelism: u32,
    /// The job's vertices.
    pub vertices: Vec<VertexMetadata>,
    /// Every subtask's state.
    pub states: Vec<StateHandle>,
}

impl CheckpointMetadata {
    /// Bytes this checkpoint wrote (metadata excluded): for an incremental checkpoint, only what
    /// is new since the previous one.
    pub fn state_size(&self) -> u64 {
        self.states.iter().map(|s| s.size).sum()
    }

    /// Bytes of the whole state this checkpoint restores (metadata excluded), shared files
    /// written by earlier checkpoints included.
    pub fn full_state_size(&self) -> u64 {
        self.states.iter().map(StateHandle::full_size).sum()
    }

    /// Every shared file this checkpoint refers to, relative to the job's directory.
    pub fn shared_files(&self) -> impl Iterator<Item = &std::path::Path> {
        self.states
            .iter()
            .flat_map(|s| s.shared.iter().map(|f| f.path.as_path()))
    }

    /// The handle of the subtask of vertex `vertex_uid` with index `subtask`.
    pub fn state_of(&self, vertex_uid: &str, subtask: u32) -> Option<&StateHandle> {
        self.states
            .iter()
            .find(|s| s.vertex_uid == vertex_uid && s.subtask == subtask)
    }
}

/// The newest complete checkpoint, and why newer-looking ones were skipped.
#[derive(Debug, Clone, Default)]
pub struct LatestCheckpoint {
    /// The newest checkpoint whose metadata is intact, if any.
    pub metadata: Option<CheckpointMetadata>,
    /// One error per newer checkpoint directory that was skipped (missing, truncated or corrupt
    /// metadata), newest first.
    pub skipped: Vec<StorageError>,
}

/// What [`CheckpointStorage::delete_leftovers`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Incomplete checkpoints deleted: no `_metadata`, and nothing in them weir does not write.
    pub deleted: Vec<CheckpointId>,
    /// Shared files deleted because no complete checkpoint refers to them (relative to the
    /// job's directory).
    pub deleted_shared: Vec<PathBuf>,
    /// What was left in place because it could not be read or is not weir's (a checkpoint of a
    /// newer weir, a damaged or unreadable `_metadata`, a foreign file): each error names the
    /// file. While one is there, no shared file is deleted either, since the unreadable
    /// checkpoint may refer to it.
    pub kept: Vec<StorageError>,
}

/// Where a job's checkpoints are written and read. Methods may block on I/O; the runtime calls
/// the state writes off the subtasks' threads.
///
/// # Guarantees an implementation gives
/// - A checkpoint is complete exactly when [`write_metadata`](Self::write_metadata) returned:
///   the metadata is written last and atomically.
/// - After [`discard`](Self::discard) of a checkpoint, no write for it succeeds, so a slow
///   write cannot bring back what was deleted.
/// - Nothing is deleted that could not be read: a checkpoint whose metadata exists but does not
///   load is left in place and reported.
pub trait CheckpointStorage: Send + Sync + 'static {
    /// Writes one subtask's state for `checkpoint` durably (fsynced) and says where it is.
    fn write_state(
        &self,
        checkpoint: CheckpointId,
        vertex_uid: &str,
        subtask: u32,
        bytes: &[u8],
    ) -> Result<StateLocation, StorageError>;

    /// Reads back the state `handle` describes in `checkpoint`, checking that the file found is
    /// the one the metadata recorded: its header names this checkpoint, vertex and subtask
    /// ([`StorageError::IdentityMismatch`] otherwise) and its size and checksum are the ones
    /// recorded ([`StorageError::DiffersFromMetadata`] otherwise).
    fn read_state(
        &self,
        checkpoint: CheckpointId,
        handle: &StateHandle,
    ) -> Result<Vec<u8>, StorageError>;

    /// Writes the checkpoint's metadata last and atomically (temp file, fsync, rename, fsync of
    /// the directory); returns its size in bytes. Once this returns, the checkpoint is complete.
    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError>;

    /// Deletes everything of `checkpoint` (a subsumed, aborted or declined one), and the shared
    /// files no retained checkpoint refers to any more. Deleting a checkpoint that does not exist
    /// is not an error. Once this returns, every write for `checkpoint` is refused.
    fn discard(&self, checkpoint: CheckpointId) -> Result<(), StorageError>;

    /// Deletes shared files (paths relative to the job's directory) a subtask uploaded for
    /// `checkpoint` whose state could not be written (the checkpoint was discarded meanwhile), so
    /// none is left behind; files a complete checkpoint refers to are kept. Storage without a
    /// shared area does nothing.
    fn discard_shared(
        &self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError> {
        let _ = (checkpoint, files);
        Ok(())
    }

    /// Checks that shared file `file` is in storage with the size recorded (a restore checks
    /// every shared file of a checkpoint before choosing it). Storage without a shared area
    /// accepts every file.
    fn check_shared_file(&self, file: &SharedFile) -> Result<(), StorageError> {
        let _ = file;
        Ok(())
    }

    /// The metadata of complete checkpoint `checkpoint`.
    fn load(&self, checkpoint: CheckpointId) -> Result<CheckpointMetadata, StorageError>;

    /// The newest complete checkpoint, skipping (and reporting) those whose metadata is missing,
    /// truncated, corrupt or foreign. Never panics on bad files.
    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError>;

    /// Ids of every checkpoint that has a directory or an entry, complete or not, ascending. An
    /// error if the storage cannot be listed (never an empty list in its place).
    fn list(&self) -> Result<Vec<CheckpointId>, StorageError>;

    /// The highest checkpoint id anything in the storage was written for (a checkpoint's
    /// directory, or a shared file it uploaded): new checkpoints take higher ids, so a file of an
    /// earlier run is never mistaken for one of theirs. An error if the storage cannot be listed.
    fn highest_used_id(&self) -> Result<Option<CheckpointId>, StorageError> {
        Ok(self.list()?.into_iter().max())
    }

    /// Checks that checkpoints can be written: creates what a first write would create and
    /// writes (then removes) a probe file. Called when a job starts, so a storage that cannot be
    /// written stops the job at once. Storage that cannot fail this way does nothing.
    fn check_writable(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Deletes what no complete checkpoint needs: incomplete checkpoints (a crashed or failed
    /// run's) and shared files no complete checkpoint refers to; never a checkpoint whose
    /// metadata exists but cannot be read (see [`Leftovers::kept`]). Called when a job starts,
    /// before its first checkpoint; storage without such leftovers does nothing.
    fn delete_leftovers(&self) -> Result<Leftovers, StorageError> {
        Ok(Leftovers::default())
    }

    /// A human-readable location, e.g. the job's checkpoint directory.
    fn describe(&self) -> String;
}
