//! The job side of restoring: loading the checkpoint a job restores from, every file of it
//! checked, and checking it against the job before anything runs.
//!
//! # Which checkpoint `restore_from_latest` takes
//!
//! The newest checkpoint of the job's directory that is complete and whose every file reads
//! back as recorded: its `_metadata` intact, every state file intact, of this checkpoint,
//! vertex and subtask, with the size and checksum the metadata recorded, and every shared file
//! present with its recorded size. A newer checkpoint that fails any of these is skipped, and
//! [`RestoreReport::skipped`] says which file and why; nothing is deleted.
//!
//! # Errors that tell a first start from a problem
//!
//! - [`RestoreError::JobDirectoryNotFound`]: the job never wrote a checkpoint under this
//!   directory (a first start; or a typo, or a renamed job: the error lists the job directories
//!   that are there).
//! - [`RestoreError::NoCompleteCheckpoint`]: the job's directory exists but holds no checkpoint
//!   to restore; with an empty `skipped` list the job ran but never completed a checkpoint, with
//!   a non-empty one checkpoints are there but none can be read.

use crate::checkpoint::storage::{FileSystemCheckpointStorage, MemoryCheckpointStorage};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::storage::{CheckpointStorage, StorageError};
use weir_actors::config::checkpoint_config::{CheckpointConfig, CheckpointStorageConfig};
use weir_actors::graph::job_spec::RestoredCheckpoint;
use weir_actors::CheckpointId;

mod candidates;
mod compatibility;

pub use candidates::{load_from, load_latest, load_path, load_verified};
pub use compatibility::check_compatible;

/// Why a job cannot restore from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A checkpoint file could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The job has no directory under the checkpoint directory: it never wrote a checkpoint
    /// there (a first start, a mistyped directory, or a job renamed since).
    #[error(
        "no checkpoints of job {job_id:?}: {dir} does not exist{}",
        other_jobs_text(.existing_jobs)
    )]
    JobDirectoryNotFound {
        /// The job directory looked for, `<checkpoint dir>/<job id>`.
        dir: PathBuf,
        /// The job id.
        job_id: String,
        /// The job directories that are in the checkpoint directory (file names, sorted).
        existing_jobs: Vec<String>,
    },
    /// The job's directory holds no complete checkpoint that can be read.
    #[error("no complete checkpoint in {dir}{}", skipped_text(.skipped))]
    NoCompleteCheckpoint {
        /// The job's checkpoint directory.
        dir: PathBuf,
        /// Why each checkpoint found was skipped, newest first.
        skipped: Vec<StorageError>,
    },
    /// A path that is not a checkpoint directory (`.../<job id>/chk-<n>`) or its `_metadata`.
    #[error("{path} is not a checkpoint path: {reason}")]
    BadCheckpointPath {
        /// The path given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The job's max parallelism differs from the checkpoint's; it cannot change across a restore.
    #[error(
        "max parallelism is {job} but the checkpoint was taken with {checkpoint}; it cannot change"
    )]
    MaxParallelismChanged {
        /// The checkpoint's.
        checkpoint: u32,
        /// The job's.
        job: u32,
    },
    /// An operator's parallelism differs from a checkpoint's that holds channel state (an
    /// unaligned checkpoint), which weir cannot redistribute; aligned checkpoints rescale.
    #[error("operator uid {uid:?} has parallelism {job} but {checkpoint} in the checkpoint")]
    ParallelismChanged {
        /// The operator (task) uid.
        uid: String,
        /// The checkpoint's parallelism.
        checkpoint: u32,
        /// The job's.
        job: u32,
    },
    /// A chain's state in the checkpoint does not decode as a chain of weir operators.
    #[error("the state of subtask {subtask} of chain {chain_uid:?} does not decode: {reason}")]
    UndecodableState {
        /// The chain's (vertex's) uid.
        chain_uid: String,
        /// The subtask index.
        subtask: u32,
        /// Why.
        reason: String,
    },
    /// The checkpoint holds state for an operator uid the job does not have.
    #[error("the checkpoint holds state of operator uid {uid:?}, which the job does not have (allow_non_restored_state skips it){}", crate::graph::uid::uid_hint(.uid))]
    UnknownOperatorState {
        /// The uid.
        uid: String,
    },
}

fn skipped_text(skipped: &[StorageError]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        let reasons: Vec<String> = skipped.iter().map(ToString::to_string).collect();
        format!(" (skipped: {})", reasons.join("; "))
    }
}

fn other_jobs_text(existing: &[String]) -> String {
    if existing.is_empty() {
        String::new()
    } else {
        format!(" (job directories there: {})", existing.join(", "))
    }
}

/// What a restore found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoreReport {
    /// The checkpoint the job will start from.
    pub checkpoint_id: CheckpointId,
    /// The job's checkpoint directory, or the storage's description.
    pub location: String,
    /// Newer checkpoints that were skipped, newest first, each error naming the file and why:
    /// a missing or broken `_metadata`, or a state or shared file that is missing, damaged, of
    /// another checkpoint or subtask, or not what the metadata recorded.
    pub skipped: Vec<StorageError>,
    /// Checkpoints the job will leave in its directory though it cannot read them (a newer
    /// weir's, a damaged or unreadable `_metadata`, or a directory holding files weir does not
    /// write): weir never deletes what it could not read. Remove them by hand once they are
    /// known to be of no use.
    pub left_in_place: Vec<StorageError>,
}

/// The job id used for checkpoint directories when none is set: the job's name, lowercased, with
/// every character other than letters, digits, `-` and `_` replaced by `-`.
pub fn default_job_id(job_name: &str) -> String {
    job_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The storage a job with `config` writes to: a new instance, which the job must then hand to
/// everything that writes (see [`crate::checkpoint::startup::JobStorage`]).
pub fn storage_for(config: &CheckpointConfig, job_id: &str) -> Arc<dyn CheckpointStorage> {
    match &config.storage {
        Some(CheckpointStorageConfig::FileSystem(dir)) => {
            Arc::new(FileSystemCheckpointStorage::new(dir.clone(), job_id))
        }
        _ => Arc::new(MemoryCheckpointStorage::new(job_id)),
    }
}

/// Loads checkpoint `id`'s metadata and every subtask's state from `storage`, every file
/// checked (see [`load_verified`]).
pub fn load_checkpoint(
    storage: &dyn CheckpointStorage,
    id: CheckpointId,
) -> Result<RestoredCheckpoint, RestoreError> {
    Ok(load_verified(storage, storage.load(id)?)?)
}

/// What `path` (a `chk-<n>` directory or its `_metadata`) names: the checkpoint and its job
/// directory.
pub(crate) fn parse_checkpoint_path(path: &Path) -> Result<(CheckpointId, &Path), RestoreError> {
    use crate::checkpoint::paths;
    let bad = |reason: &str| RestoreError::BadCheckpointPath {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let chk = if path
        .file_name()
        .is_some_and(|n| n == paths::METADATA_FILE_NAME)
    {
        path.parent().ok_or_else(|| bad("no parent directory"))?
    } else {
        path
    };
    let id = chk
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(paths::parse_checkpoint_dir_name)
        .ok_or_else(|| bad("the directory is not named chk-<n>"))?;
    let job_dir = chk
        .parent()
        .filter(|dir| dir.file_name().is_some())
        .ok_or_else(|| bad("no job directory"))?;
    Ok((id, job_dir))
}
