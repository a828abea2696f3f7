//! The job side of checkpointing: which storage a job writes to, and loading the checkpoint a job
//! restores from (checked against the job before anything runs).

use crate::checkpoint::storage::{FileSystemCheckpointStorage, MemoryCheckpointStorage};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::storage::{CheckpointStorage, StorageError};
use weir_actors::config::checkpoint_config::{CheckpointConfig, CheckpointStorageConfig};
use weir_actors::graph::job_spec::{JobSpec, RestoredCheckpoint};
use weir_actors::CheckpointId;

/// Why a job cannot restore from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A checkpoint file could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The directory holds no complete checkpoint.
    #[error("no complete checkpoint in {dir}{}", skipped_text(.skipped))]
    NoCompleteCheckpoint {
        /// The job's checkpoint directory.
        dir: PathBuf,
        /// Why each checkpoint found was skipped.
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
    /// An operator's parallelism differs from the checkpoint's (rescaling needs a savepoint).
    #[error("operator uid {uid:?} has parallelism {job} but {checkpoint} in the checkpoint")]
    ParallelismChanged {
        /// The operator (task) uid.
        uid: String,
        /// The checkpoint's parallelism.
        checkpoint: u32,
        /// The job's.
        job: u32,
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

/// What a restore found.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The checkpoint the job will start from.
    pub checkpoint_id: CheckpointId,
    /// The job's checkpoint directory, or the storage's description.
    pub location: String,
    /// Newer checkpoints that were skipped because their metadata is missing or broken.
    pub skipped: Vec<StorageError>,
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

/// The storage a job with `config` writes to.
pub fn storage_for(config: &CheckpointConfig, job_id: &str) -> Arc<dyn CheckpointStorage> {
    match &config.storage {
        Some(CheckpointStorageConfig::FileSystem(dir)) => {
            Arc::new(FileSystemCheckpointStorage::new(dir.clone(), job_id))
        }
        _ => Arc::new(MemoryCheckpointStorage::new(job_id)),
    }
}

/// Loads checkpoint `id`'s metadata and every subtask's state from `storage`.
pub fn load_checkpoint(
    storage: &dyn CheckpointStorage,
    id: CheckpointId,
) -> Result<RestoredCheckpoint, RestoreError> {
    Ok(RestoredCheckpoint::load(storage, id)?)
}

/// Loads the newest complete checkpoint of job `job_id` under `dir`.
pub fn load_latest(
    dir: &Path,
    job_id: &str,
) -> Result<(RestoredCheckpoint, RestoreReport), RestoreError> {
    let storage = FileSystemCheckpointStorage::new(dir, job_id);
    let latest = storage.latest_complete()?;
    for skipped in &latest.skipped {
        tracing::warn!("skipping a checkpoint that is not complete: {skipped}");
    }
    let Some(metadata) = latest.metadata else {
        return Err(RestoreError::NoCompleteCheckpoint {
            dir: storage.job_dir().to_path_buf(),
            skipped: latest.skipped,
        });
    };
    let restored = load_checkpoint(&storage, metadata.checkpoint_id)?;
    let report = RestoreReport {
        checkpoint_id: metadata.checkpoint_id,
        location: storage.describe(),
        skipped: latest.skipped,
    };
    Ok((restored, report))
}

/// Loads the checkpoint at `path`: a `chk-<n>` directory or its `_metadata` file.
pub fn load_path(path: &Path) -> Result<(RestoredCheckpoint, RestoreReport), RestoreError> {
    let bad = |reason: &str| RestoreError::BadCheckpointPath {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let chk = if path.file_name().is_some_and(|n| n == "_metadata") {
        path.parent().ok_or_else(|| bad("no parent directory"))?
    } else {
        path
    };
    let name = chk
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("no directory name"))?;
    let id: CheckpointId = name
        .strip_prefix("chk-")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad("the directory is not named chk-<n>"))?;
    let job_dir = chk.parent().ok_or_else(|| bad("no job directory"))?;
    let job_id = job_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("no job directory name"))?;
    let base = job_dir
        .parent()
        .ok_or_else(|| bad("no checkpoint directory"))?;
    let storage = FileSystemCheckpointStorage::new(base, job_id);
    let restored = load_checkpoint(&storage, id)?;
    let report = RestoreReport {
        checkpoint_id: id,
        location: chk.display().to_string(),
        skipped: Vec::new(),
    };
    Ok((restored, report))
}

/// Checks that `spec` can start from `restored`: same max parallelism, same parallelism per
/// operator, and no state left without an operator unless `allow_non_restored_state`.
pub fn check_compatible(
    spec: &JobSpec,
    restored: &RestoredCheckpoint,
    allow_non_restored_state: bool,
) -> Result<(), RestoreError> {
    let meta = &restored.metadata;
    if meta.max_parallelism != spec.max_parallelism {
        return Err(RestoreError::MaxParallelismChanged {
            checkpoint: meta.max_parallelism,
            job: spec.max_parallelism,
        });
    }
    for vertex in &meta.vertices {
        let has_state = meta.states.iter().any(|s| s.vertex_uid == vertex.uid);
        match spec.vertices.iter().find(|v| v.uid == vertex.uid) {
            Some(v) if v.parallelism != vertex.parallelism && has_state => {
                return Err(RestoreError::ParallelismChanged {
                    uid: vertex.uid.clone(),
                    checkpoint: vertex.parallelism,
                    job: v.parallelism,
                })
            }
            None if has_state && !allow_non_restored_state => {
                return Err(RestoreError::UnknownOperatorState {
                    uid: vertex.uid.clone(),
                })
            }
            _ => {}
        }
    }
    Ok(())
}
