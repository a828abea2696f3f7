//! Savepoints: taking them ([`JobClient::trigger_savepoint`](crate::JobClient::trigger_savepoint),
//! [`JobClient::stop_with_savepoint`](crate::JobClient::stop_with_savepoint)), starting a job
//! from one ([`StreamEnvironment::restore_from_savepoint`](crate::StreamEnvironment::restore_from_savepoint))
//! and deleting one ([`dispose`]).
//!
//! # Layout
//!
//! ```text
//! <dir>/savepoint-<job id>-<n>/chk-<n>/_metadata       written last, atomically
//! <dir>/savepoint-<job id>-<n>/chk-<n>/<uid>-<k>.state  every subtask's state (magic, version, checksum)
//! <dir>/savepoint-<job id>-<n>/chk-<n>/<uid>-<k>.rocksdb/...  an incremental RocksDB state's own files
//! <dir>/savepoint-<job id>-<n>/shared/...                the shared files its state refers to
//! ```
//!
//! # Guarantees
//! - A savepoint is a copy of an aligned checkpoint, made when it completes and before any
//!   retention runs: the job never subsumes or deletes it, and it does not count as one of the
//!   job's retained checkpoints.
//! - Every handle in its `_metadata` is relative to the savepoint's directory, and every state
//!   file is read from there, so a moved or copied savepoint restores. A damaged, truncated or
//!   foreign `_metadata` or state file is a typed error naming the file.
//! - Restoring never deletes or modifies the savepoint's files (Flink's `NO_CLAIM`): the new
//!   job writes its checkpoints in its own job directory.
//! - [`dispose`] deletes only a directory named `savepoint-…` whose `_metadata` it read, only the
//!   files that metadata accounts for, and reports every other file, which it leaves.
//!
//! # What is not guaranteed
//! - A savepoint's checkpoint is also an ordinary checkpoint of the job: it commits side
//!   effects (2PC transactions) when it completes, as Flink did before 1.15, and it is retained
//!   and subsumed in the job's own checkpoint directory like any other (the savepoint, a copy,
//!   is not).
//! - The state of an incremental RocksDB checkpoint still records the job directory it was
//!   written in; when a job starts from a savepoint, the state of that savepoint's checkpoint
//!   reads its files from the savepoint's directory instead (where the writer copied them).
//! - Stop-with-savepoint does not drain (end of input before the savepoint), and `CLAIM` (the
//!   new job taking ownership of the restored files) is not supported.
//! - `_metadata` is in the savepoint's `chk-<n>/` directory, not at its top.

mod dispose;
mod locate;
mod writer;

pub use dispose::{dispose, DisposeReport};
pub(crate) use locate::locate;
pub use weir_actors::checkpoint::savepoint::{CompletedSavepoint, SavepointError};
pub(crate) use writer::FileSavepointWriter;

/// What every savepoint directory's name starts with.
pub(crate) const SAVEPOINT_DIR_PREFIX: &str = "savepoint-";
