//! [`list_checkpoints`]: every `chk-<n>` of a job directory, complete or not and why.

use super::InspectError;
use crate::checkpoint::durable::io_error;
use crate::checkpoint::paths;
use crate::checkpoint::restore::load_verified;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::{CheckpointStorage, StorageError};

/// The checkpoints under a directory, by job directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckpointListing {
    /// The directory given.
    pub dir: PathBuf,
    /// Each job directory found (the directory itself when it is one), by name.
    pub jobs: Vec<JobCheckpoints>,
}

/// The checkpoints of one job directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobCheckpoints {
    /// The job directory.
    pub job_dir: PathBuf,
    /// Every `chk-<n>` in it, oldest first.
    pub checkpoints: Vec<CheckpointEntry>,
}

/// One `chk-<n>` directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckpointEntry {
    /// The checkpoint's id.
    pub id: u64,
    /// Its directory.
    pub path: PathBuf,
    /// Whether it restores: its `_metadata` and every file it names read and verify.
    pub complete: bool,
    /// Why it is not complete (the error names the file).
    pub problem: Option<String>,
    /// When it was triggered (ms since the Unix epoch), if its `_metadata` reads.
    pub timestamp_ms: Option<u64>,
    /// Bytes it wrote, as its `_metadata` records them.
    pub state_bytes: Option<u64>,
    /// Bytes of its whole state (shared files of earlier checkpoints included).
    pub full_state_bytes: Option<u64>,
    /// Bytes of the files in its directory, whatever state it is in.
    pub disk_bytes: u64,
}

/// Lists every `chk-<n>` of `dir`: a job directory (`<checkpoint dir>/<job id>`, or a
/// savepoint's directory), or a checkpoint directory holding job directories. Each is checked
/// as a restore would check it; nothing is modified.
pub fn list_checkpoints(dir: impl AsRef<Path>) -> Result<CheckpointListing, InspectError> {
    let dir = dir.as_ref();
    let not = |reason: String| InspectError::NotACheckpointDirectory {
        path: dir.to_path_buf(),
        reason,
    };
    let names = entries(dir).map_err(|e| not(e.to_string()))?;
    let job_dirs = if is_job_dir(&names) {
        vec![dir.to_path_buf()]
    } else {
        let mut found = Vec::new();
        for (name, is_dir) in &names {
            let candidate = dir.join(name);
            if *is_dir && entries(&candidate).is_ok_and(|n| is_job_dir(&n)) {
                found.push(candidate);
            }
        }
        found
    };
    if job_dirs.is_empty() {
        return Err(not(
            "it holds no chk-<n> directory and no job directory holding one".to_string(),
        ));
    }
    let jobs = job_dirs
        .into_iter()
        .map(|job_dir| job_checkpoints(&job_dir))
        .collect::<Result<_, _>>()?;
    Ok(CheckpointListing {
        dir: dir.to_path_buf(),
        jobs,
    })
}

/// The checkpoints of one job directory.
fn job_checkpoints(job_dir: &Path) -> Result<JobCheckpoints, InspectError> {
    let storage = FileSystemCheckpointStorage::at_job_dir(job_dir);
    let mut checkpoints = Vec::new();
    for id in storage.list()? {
        let path = storage.checkpoint_dir(id);
        let metadata = storage.load(id);
        let verified = metadata
            .clone()
            .and_then(|m| load_verified(&storage, m).map(drop));
        let problem = match (&metadata, verified) {
            (Err(StorageError::NotFound { .. }), _) => Some(format!(
                "no {} (in progress, or abandoned before it completed)",
                paths::METADATA_FILE_NAME
            )),
            (_, Err(e)) => Some(e.to_string()),
            (_, Ok(())) => None,
        };
        let metadata = metadata.ok();
        checkpoints.push(CheckpointEntry {
            id,
            complete: problem.is_none(),
            problem,
            timestamp_ms: metadata.as_ref().map(|m| m.timestamp_ms),
            state_bytes: metadata.as_ref().map(|m| m.state_size()),
            full_state_bytes: metadata.as_ref().map(|m| m.full_state_size()),
            disk_bytes: disk_bytes(&path)?,
            path,
        });
    }
    Ok(JobCheckpoints {
        job_dir: job_dir.to_path_buf(),
        checkpoints,
    })
}

/// Whether a directory with these entries is a job directory: it holds a `chk-<n>` directory
/// or the shared area.
fn is_job_dir(names: &[(String, bool)]) -> bool {
    names.iter().any(|(name, is_dir)| {
        *is_dir
            && (paths::parse_checkpoint_dir_name(name).is_some() || name == paths::SHARED_DIR_NAME)
    })
}

/// The entries of `dir` (name, is a directory), sorted by name; names that are not UTF-8 are
/// left out (weir writes none).
fn entries(dir: &Path) -> Result<Vec<(String, bool)>, StorageError> {
    let list = fs::read_dir(dir).map_err(|e| io_error("list", dir, &e))?;
    let mut names = Vec::new();
    for entry in list {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let is_dir = entry.path().is_dir();
        if let Ok(name) = entry.file_name().into_string() {
            names.push((name, is_dir));
        }
    }
    names.sort();
    Ok(names)
}

/// The bytes of every file under `dir` (links not followed).
fn disk_bytes(dir: &Path) -> Result<u64, StorageError> {
    let mut total = 0;
    let list = fs::read_dir(dir).map_err(|e| io_error("list", dir, &e))?;
    for entry in list {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(|e| io_error("read", &path, &e))?;
        total += if meta.is_dir() {
            disk_bytes(&path)?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
