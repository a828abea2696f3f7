//! Savepoints: taking them ([`JobClient::trigger_savepoint`](crate::JobClient::trigger_savepoint),
//! [`JobClient::stop_with_savepoint`](crate::JobClient::stop_with_savepoint)), starting a job
//! from one ([`StreamEnvironment::restore_from_savepoint`](crate::StreamEnvironment::restore_from_savepoint))
//! and deleting one ([`dispose`]).
//!
//! # Layout
//!
//! ```text
//! <dir>/savepoint-<job id>-<n>/_metadata              written last, atomically
//! <dir>/savepoint-<job id>-<n>/<uid>-<k>.state         every subtask's state (magic, version, checksum)
//! <dir>/savepoint-<job id>-<n>/<uid>-<k>.rocksdb/...   a native RocksDB state's own files
//! <dir>/savepoint-<job id>-<n>/shared/...              the shared files its state refers to
//! ```
//! A savepoint an earlier weir wrote, with its files in `savepoint-<job id>-<n>/chk-<n>/`, is
//! still read.
//!
//! # Guarantees
//! - A savepoint is a copy of an aligned checkpoint, made when it completes and before any
//!   retention runs: the job never subsumes or deletes it, and it does not count as one of the
//!   job's retained checkpoints.
//! - Every handle in its `_metadata` is relative to the savepoint's directory, and every state
//!   file is read from there, so a moved or copied savepoint restores. A damaged, truncated or
//!   foreign `_metadata` or state file is a typed error naming the file.
//! - Restoring never deletes or modifies the savepoint's files (Flink's `NO_CLAIM`, the
//!   default): the new job writes its checkpoints in its own job directory. In `CLAIM` mode
//!   ([`StreamEnvironment::set_claim_mode`](crate::StreamEnvironment::set_claim_mode)) the job
//!   owns it and disposes of it once newer checkpoints subsume it.
//! - [`dispose`] deletes only a directory named `savepoint-…` whose `_metadata` it read, only the
//!   files that metadata accounts for, and reports every other file, which it leaves.
//!
//! - A savepoint taken while the job goes on has no side effects (Flink since 1.15): no operator
//!   hears of its completion — the next checkpoint commits what it covered — and it is not a
//!   checkpoint of the job: not kept in the job's directory, never restored from on a restart.
//! - Stop-with-savepoint halts every source at the savepoint's barrier: nothing after the
//!   savepoint reaches a sink. Its completion is committed (the sinks are notified), then the
//!   job ends. If it fails, the sources read on. With drain
//!   ([`JobClient::stop_with_savepoint_and_drain`](crate::JobClient::stop_with_savepoint_and_drain))
//!   the sources' input ends first, end of input runs through the job, and the savepoint is
//!   the final checkpoint after it.
//! - State is matched by operator uid whatever the chaining (see [`uid_matching`]);
//!   [`StreamEnvironment::plan_restore`](crate::StreamEnvironment::plan_restore) tells what a
//!   restore would do before the job starts.
//!
//! # Format
//! By default a savepoint is [canonical](SavepointFormat::Canonical): every keyed state is
//! written by its subtask as entries by key group (length-prefixed key and value bytes), the
//! same from either state backend, with no backend files — any backend restores it.
//! [`SavepointFormat::Native`] keeps the backend's checkpoint layout (RocksDB's SST files).
//! Keyed snapshots are versioned: one of a newer format is a typed error naming the operator.
//!
//! # What is not guaranteed
//! - A stop with drain does not survive a failover before its savepoint: the savepoint fails
//!   and the restarted sources read again, while sources of other regions stay ended.

mod dispose;
mod locate;
pub mod uid_matching;
mod writer;

pub use dispose::{dispose, DisposeReport};
pub(crate) use locate::{locate, Located};
pub use uid_matching::{JobOperator, OperatorMatch, RestorePlan, SnapshotOperator};
pub use weir_actors::checkpoint::savepoint::{CompletedSavepoint, SavepointError};
pub use weir_actors::checkpoint::snapshot_kind::{SavepointFormat, SnapshotKind};
pub(crate) use writer::FileSavepointWriter;

/// What every savepoint directory's name starts with.
pub(crate) const SAVEPOINT_DIR_PREFIX: &str = "savepoint-";
