//! [`dispose`]: deleting a savepoint, and only what weir wrote of it.

use super::{locate, SavepointError, SAVEPOINT_DIR_PREFIX};
use crate::checkpoint::durable::io_error;
use crate::checkpoint::paths;
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::{CheckpointStorage, StateLocation, StorageError};

/// What [`dispose`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DisposeReport {
    /// The savepoint's directory.
    pub dir: PathBuf,
    /// The files deleted (every one the savepoint's `_metadata` accounts for).
    pub deleted: Vec<PathBuf>,
    /// Files weir did not write, left in place (with the directories holding them). Empty when
    /// the whole directory is gone.
    pub kept: Vec<PathBuf>,
}

/// Deletes the savepoint at `path` (its `savepoint-…` directory or its `_metadata`), after
/// reading its `_metadata`: a path that is not a weir savepoint, or whose
/// `_metadata` cannot be read, is refused and nothing is deleted. Files the savepoint does not
/// account for are left in place and listed in [`DisposeReport::kept`].
pub fn dispose(path: impl AsRef<Path>) -> Result<DisposeReport, SavepointError> {
    let path = path.as_ref();
    let located = locate(path)?;
    let dir = located.storage.job_dir().to_path_buf();
    if !located.is_savepoint() {
        return Err(SavepointError::NotASavepoint {
            path: path.to_path_buf(),
            reason: format!("{} is not named {SAVEPOINT_DIR_PREFIX}…", dir.display()),
        });
    }
    let metadata = located.storage.load(located.id)?;
    let chk = located.dir();
    let mut known: HashSet<PathBuf> = HashSet::new();
    let mut private_dirs = Vec::new();
    known.insert(chk.join(paths::METADATA_FILE_NAME));
    for handle in &metadata.states {
        if let StateLocation::File(file) = &handle.location {
            known.insert(chk.join(&file.path));
        }
        private_dirs.extend(paths::private_dir_names(handle).map(|d| chk.join(d)));
        known.extend(handle.shared.iter().map(|f| dir.join(&f.path)));
    }
    let mut report = DisposeReport {
        dir: dir.clone(),
        ..DisposeReport::default()
    };
    let is_weirs = |file: &Path| {
        known.contains(file)
            || private_dirs
                .iter()
                .any(|d| file.parent() == Some(d.as_path()))
    };
    remove_tree(&dir, &is_weirs, &mut report)?;
    Ok(report)
}

/// Deletes the files of `dir` (recursively) that `is_weirs`, then `dir` itself when empty;
/// records what it deleted and kept.
fn remove_tree(
    dir: &Path,
    is_weirs: &dyn Fn(&Path) -> bool,
    report: &mut DisposeReport,
) -> Result<(), StorageError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("list", dir, &e))?;
    let mut empty = true;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(|e| io_error("read", &path, &e))?
            .is_dir();
        if is_dir {
            remove_tree(&path, is_weirs, report)?;
            empty &= !path.exists();
        } else if is_weirs(&path) {
            fs::remove_file(&path).map_err(|e| io_error("delete", &path, &e))?;
            report.deleted.push(path);
        } else {
            report.kept.push(path);
            empty = false;
        }
    }
    if empty {
        fs::remove_dir(dir).map_err(|e| io_error("delete", dir, &e))?;
    }
    Ok(())
}
