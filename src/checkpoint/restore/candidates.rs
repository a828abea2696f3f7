//! Choosing and loading the checkpoint to restore: every file of a candidate is read and
//! checked before it is chosen, and a candidate with any bad file is skipped for the previous
//! complete checkpoint, as one with a bad `_metadata` is.

use super::{parse_checkpoint_path, RestoreError, RestoreReport};
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use weir_actors::checkpoint::storage::{CheckpointMetadata, CheckpointStorage, StorageError};
use weir_actors::graph::job_spec::RestoredCheckpoint;
use weir_actors::CheckpointId;

/// Loads every subtask's state of the checkpoint `metadata` describes from `storage`, each
/// state file checked against the metadata (identity, size, checksum), and checks that every
/// shared file it refers to is there with its recorded size.
pub fn load_verified(
    storage: &dyn CheckpointStorage,
    metadata: CheckpointMetadata,
) -> Result<RestoredCheckpoint, StorageError> {
    let id = metadata.checkpoint_id;
    let mut states = HashMap::new();
    for handle in &metadata.states {
        let bytes = storage.read_state(id, handle)?;
        for file in &handle.shared {
            storage.check_shared_file(file)?;
        }
        states.insert((handle.vertex_uid.clone(), handle.subtask), Arc::new(bytes));
    }
    Ok(RestoredCheckpoint { metadata, states })
}

/// Loads the newest checkpoint of job `job_id` under `dir` whose every file is intact (see
/// the module docs), with a report of what was skipped and what is left in place.
pub fn load_latest(
    dir: &Path,
    job_id: &str,
) -> Result<(RestoredCheckpoint, RestoreReport), RestoreError> {
    let storage = FileSystemCheckpointStorage::new(dir, job_id);
    if !exists(storage.job_dir())? {
        return Err(RestoreError::JobDirectoryNotFound {
            dir: storage.job_dir().to_path_buf(),
            job_id: job_id.to_owned(),
            existing_jobs: directories_in(dir),
        });
    }
    let mut skipped = Vec::new();
    for id in storage.list()?.into_iter().rev() {
        let restored = storage
            .load(id)
            .and_then(|metadata| load_verified(&storage, metadata));
        match restored {
            Ok(restored) => {
                let left_in_place = storage.plan_leftovers()?.kept;
                let report = RestoreReport {
                    checkpoint_id: id,
                    location: storage.describe(),
                    skipped,
                    left_in_place,
                };
                log_report(&report);
                return Ok((restored, report));
            }
            Err(error) => {
                tracing::warn!(checkpoint = id, %error, "skipping a checkpoint that cannot be restored");
                skipped.push(error);
            }
        }
    }
    Err(RestoreError::NoCompleteCheckpoint {
        dir: storage.job_dir().to_path_buf(),
        skipped,
    })
}

/// Loads the checkpoint at `path`: a `chk-<n>` directory or its `_metadata` file. Every file is
/// checked; there is no fallback, since the checkpoint was named.
pub fn load_path(path: &Path) -> Result<(RestoredCheckpoint, RestoreReport), RestoreError> {
    let (id, job_dir) = parse_checkpoint_path(path)?;
    load_from(&FileSystemCheckpointStorage::at_job_dir(job_dir), id)
}

/// Loads checkpoint `id` of `storage`, every file checked; there is no fallback.
pub fn load_from(
    storage: &FileSystemCheckpointStorage,
    id: CheckpointId,
) -> Result<(RestoredCheckpoint, RestoreReport), RestoreError> {
    let restored = super::load_checkpoint(storage, id)?;
    let report = RestoreReport {
        checkpoint_id: id,
        location: storage.checkpoint_dir(id).display().to_string(),
        skipped: Vec::new(),
        left_in_place: Vec::new(),
    };
    log_report(&report);
    Ok((restored, report))
}

/// One `info` line for the restore, and one `warn` line per checkpoint left in place.
fn log_report(report: &RestoreReport) {
    tracing::info!(
        checkpoint = report.checkpoint_id,
        location = %report.location,
        skipped = report.skipped.len(),
        "restoring from checkpoint {} in {}",
        report.checkpoint_id,
        report.location
    );
    for error in &report.left_in_place {
        tracing::warn!(%error, "a checkpoint that cannot be read is left in place");
    }
}

/// Whether `path` exists; an error other than "not found" is an error.
fn exists(path: &Path) -> Result<bool, StorageError> {
    match fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::checkpoint::durable::io_error("read", path, &e)),
    }
}

/// The names of the directories in `dir`, sorted (none if it cannot be listed).
fn directories_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}
