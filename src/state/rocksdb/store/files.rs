//! The RocksDB store's errors and its handling of local files (working directories and native
//! checkpoints).

use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::StorageError;
use weir_actors::graph::key_group::UPPER_BOUND_MAX_PARALLELISM;

/// A failure of the RocksDB store, naming the path involved and the state, where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RocksDbError {
    /// A file-system operation on the working directory or a local checkpoint failed.
    #[error("cannot {operation} {path}: {reason}")]
    Io {
        /// What was being done: "create", "list", "copy", "delete", "read"…
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error's text.
        reason: String,
    },
    /// RocksDB failed on the instance as a whole (open, flush, checkpoint, compaction).
    #[error("RocksDB cannot {operation} at {path}: {reason}")]
    Db {
        /// What was being done.
        operation: &'static str,
        /// The working directory (or the checkpoint directory being written).
        path: PathBuf,
        /// RocksDB's message.
        reason: String,
    },
    /// RocksDB failed reading or writing one state.
    #[error("RocksDB at {path} cannot {operation} state {state:?}: {reason}")]
    State {
        /// What was being done: "read", "write", "delete", "scan"…
        operation: &'static str,
        /// The state's name.
        state: String,
        /// The working directory.
        path: PathBuf,
        /// RocksDB's message.
        reason: String,
    },
    /// A state was used before
    /// [`RocksDbStateStore::register_state`](super::RocksDbStateStore::register_state).
    #[error("state {state:?} is not registered in the RocksDB at {path}")]
    UnknownState {
        /// The state's name.
        state: String,
        /// The working directory.
        path: PathBuf,
    },
    /// A key group above [`MAX_KEY_GROUP`](super::MAX_KEY_GROUP).
    #[error(
        "state {state:?} in {path}: key group {key_group} is above the largest, {}",
        UPPER_BOUND_MAX_PARALLELISM - 1
    )]
    KeyGroupOutOfRange {
        /// The state's name.
        state: String,
        /// The working directory.
        path: PathBuf,
        /// The key group given.
        key_group: u32,
    },
    /// A new store's working directory already holds files.
    #[error("working directory {path} is not empty; a new RocksDB store needs an empty one")]
    NotEmpty {
        /// The working directory.
        path: PathBuf,
    },
    /// A full snapshot does not decode.
    #[error("snapshot restored into {path} does not decode: {reason}")]
    CorruptSnapshot {
        /// The working directory restored into.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// A checkpointed file's size differs from the size its checkpoint recorded.
    #[error("{path} has {actual} bytes, its checkpoint recorded {expected}")]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// The recorded size.
        expected: u64,
        /// The size found.
        actual: u64,
    },
    /// Writing to or reading from checkpoint storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One file of a native RocksDB checkpoint: an SST file or one of the small files that describe
/// the instance (`MANIFEST-*`, `CURRENT`, `OPTIONS-*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SstFile {
    /// The file's name in the checkpoint directory.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

impl SstFile {
    /// Whether this is an SST (table) file, immutable and worth sharing between checkpoints.
    pub fn is_sst(&self) -> bool {
        self.name.ends_with(".sst")
    }
}

/// A [`RocksDbError::Db`] for `operation` at `path`.
#[cfg(feature = "rocksdb")]
pub(crate) fn db_error(operation: &'static str, path: &Path, e: rocksdb::Error) -> RocksDbError {
    RocksDbError::Db {
        operation,
        path: path.to_path_buf(),
        reason: e.into_string(),
    }
}

/// A [`RocksDbError::Io`] for `operation` on `path`.
pub(crate) fn io_error(operation: &'static str, path: &Path, e: &io::Error) -> RocksDbError {
    RocksDbError::Io {
        operation,
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Creates `dir` (and its parents) if missing; fails if it holds anything.
pub(crate) fn create_empty_dir(dir: &Path) -> Result<(), RocksDbError> {
    fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
    let mut entries = fs::read_dir(dir).map_err(|e| io_error("list", dir, &e))?;
    if entries.next().is_some() {
        return Err(RocksDbError::NotEmpty {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// The regular files of `dir` with their sizes, sorted by name.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<SstFile>, RocksDbError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error("list", dir, &e))? {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let metadata = entry
            .metadata()
            .map_err(|e| io_error("read", &entry.path(), &e))?;
        if metadata.is_file() {
            files.push(SstFile {
                name: entry.file_name().to_string_lossy().into_owned(),
                size: metadata.len(),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Copies `from` to `to` (replacing it) and fsyncs the copy; returns its size. An error names
/// `from` if it cannot be read, `to` otherwise. On failure the partial copy is removed.
pub(crate) fn copy_file(from: &Path, to: &Path) -> Result<u64, RocksDbError> {
    let mut source = fs::File::open(from).map_err(|e| io_error("read", from, &e))?;
    let mut target = fs::File::create(to).map_err(|e| io_error("create", to, &e))?;
    let copied = io::copy(&mut source, &mut target)
        .map_err(|e| io_error("copy into", to, &e))
        .and_then(|size| {
            target.sync_all().map_err(|e| io_error("sync", to, &e))?;
            Ok(size)
        });
    if copied.is_err() {
        let _ = fs::remove_file(to);
    }
    copied
}
