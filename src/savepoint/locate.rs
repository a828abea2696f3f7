//! Finding a savepoint's checkpoint from the path a user gives.

use super::SavepointError;
use crate::checkpoint::paths;
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::CheckpointId;

/// The `chk-<n>` directory and id of the snapshot `path` names: a savepoint directory (the one
/// `chk-<n>` in it), a `chk-<n>` directory (a savepoint's or a retained checkpoint's), or the
/// `_metadata` file of either.
pub(crate) fn locate(path: &Path) -> Result<(PathBuf, CheckpointId), SavepointError> {
    let not = |reason: &str| SavepointError::NotASavepoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let dir = if path
        .file_name()
        .is_some_and(|n| n == paths::METADATA_FILE_NAME)
    {
        path.parent().ok_or_else(|| not("no parent directory"))?
    } else {
        path
    };
    if let Some(id) = checkpoint_id_of(dir) {
        return Ok((dir.to_path_buf(), id));
    }
    let entries = fs::read_dir(dir).map_err(|e| not(&format!("cannot list it: {e}")))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let chk = entry.path();
        if let Some(id) = checkpoint_id_of(&chk) {
            found.push((chk, id));
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(not("it holds no chk-<n> directory with a _metadata file")),
        _ => Err(not(
            "it holds several checkpoints: name the chk-<n> directory",
        )),
    }
}

/// `n` when `dir` is a directory named `chk-<n>` holding a `_metadata` file.
fn checkpoint_id_of(dir: &Path) -> Option<CheckpointId> {
    let id = paths::parse_checkpoint_dir_name(dir.file_name()?.to_str()?)?;
    dir.join(paths::METADATA_FILE_NAME).is_file().then_some(id)
}
