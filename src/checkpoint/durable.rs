//! Writing files so that a crash cannot leave them half-done: the temp-file, fsync, rename and
//! directory-fsync pattern, and the helpers around it.
//!
//! # Guarantees
//!
//! - [`write_atomically`] never leaves a partly written file under the final name: a reader sees
//!   either the old file, no file, or the whole new one.
//! - [`write_durably`] and [`copy_durably`] return only once the bytes are on disk; the new
//!   directory entry becomes durable with the next [`sync_dir`] of its directory.
//! - [`create_dir_durably`] fsyncs the parent of every directory it creates.
//! - Every failure is a [`StorageError::Io`] naming the file or directory; nothing panics.

use crate::checkpoint::paths;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use weir_actors::checkpoint::storage::StorageError;

/// Numbers the temporary and probe files of this process.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` so that no reader ever sees a partial file: writes a temporary
/// file ([`paths::temp_file_name`]) in the same directory, fsyncs it, renames it over `path`,
/// then fsyncs the directory. On failure the temporary file is removed (best effort) and `path`
/// is untouched. The directory must exist.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let (tmp, file) = create_temp_next_to(path)?;
    let written = write_and_sync(&tmp, file, bytes)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| io_error("rename", &tmp, &e)));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_of(path))
}

/// Creates (or truncates) `path`, writes `bytes` and fsyncs the file. On failure the partial file
/// is removed (best effort).
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let file = File::create(path).map_err(|e| io_error("create", path, &e))?;
    write_and_sync(path, file, bytes).inspect_err(|_| {
        let _ = fs::remove_file(path);
    })
}

/// Copies `from` to `to` (replacing it) and fsyncs the copy; returns its size. An error names
/// `from` if it cannot be read, `to` otherwise. On failure the partial copy is removed.
pub fn copy_durably(from: &Path, to: &Path) -> Result<u64, StorageError> {
    let mut source = File::open(from).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StorageError::NotFound {
            path: from.to_path_buf(),
        },
        _ => io_error("read", from, &e),
    })?;
    let mut target = File::create(to).map_err(|e| io_error("create", to, &e))?;
    let copied = io::copy(&mut source, &mut target)
        .map_err(|e| io_error("write", to, &e))
        .and_then(|size| {
            target.sync_all().map_err(|e| io_error("sync", to, &e))?;
            Ok(size)
        });
    if copied.is_err() {
        let _ = fs::remove_file(to);
    }
    copied
}

/// Writes a probe file into directory `dir`, fsyncs it and removes it: whether files can be
/// created there.
pub fn probe_dir(dir: &Path) -> Result<(), StorageError> {
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    let probe = dir.join(paths::probe_file_name(std::process::id(), n));
    write_durably(&probe, b"weir")?;
    fs::remove_file(&probe).map_err(|e| io_error("delete", &probe, &e))
}

/// Fsyncs directory `dir`, making the creation, renaming and removal of its entries durable.
/// Does nothing on platforms that cannot open a directory as a file (Windows).
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("sync", dir, &e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` and its missing ancestors, fsyncing each new directory's parent so the new
/// entry survives a crash. A directory created concurrently by another writer is fine.
pub fn create_dir_durably(dir: &Path) -> Result<(), StorageError> {
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.is_dir() {
        missing.push(current);
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => break,
        }
    }
    for new_dir in missing.into_iter().rev() {
        match fs::create_dir(new_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && new_dir.is_dir() => continue,
            Err(e) => return Err(io_error("create", new_dir, &e)),
        }
        sync_dir(parent_of(new_dir))?;
    }
    Ok(())
}

/// Removes `path`; a file already gone is not an error. Returns whether it removed one.
pub fn remove_file_if_present(path: &Path) -> Result<bool, StorageError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("delete", path, &e)),
    }
}

/// A [`StorageError::Io`] for `operation` on `path`.
pub fn io_error(operation: &'static str, path: &Path, error: &io::Error) -> StorageError {
    StorageError::Io {
        operation,
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates a new temporary file next to `path`, never reusing an existing name (a leftover of
/// a crashed process with the same pid is skipped, not overwritten).
fn create_temp_next_to(path: &Path) -> Result<(PathBuf, File), StorageError> {
    let name = path.file_name().ok_or_else(|| StorageError::Io {
        operation: "create",
        path: path.to_path_buf(),
        reason: "path has no file name".to_owned(),
    })?;
    loop {
        let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_file_name(paths::temp_file_name(name, std::process::id(), n));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error("create", &tmp, &e)),
        }
    }
}

fn write_and_sync(path: &Path, mut file: File, bytes: &[u8]) -> Result<(), StorageError> {
    file.write_all(bytes)
        .map_err(|e| io_error("write", path, &e))?;
    file.sync_all().map_err(|e| io_error("sync", path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomically_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(paths::METADATA_FILE_NAME);
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn write_atomically_into_a_missing_directory_names_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join(paths::METADATA_FILE_NAME);
        let err = write_atomically(&path, b"x").unwrap_err();
        assert!(
            matches!(err, StorageError::Io { operation: "create", ref path, .. }
                if path.starts_with(dir.path().join("missing"))),
            "{err}"
        );
    }

    #[test]
    fn a_probe_leaves_nothing_behind_and_fails_naming_the_path_where_no_file_can_be() {
        let dir = tempfile::tempdir().unwrap();
        probe_dir(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let file = dir.path().join("a file");
        fs::write(&file, b"x").unwrap();
        let err = probe_dir(&file).unwrap_err();
        assert!(
            matches!(&err, StorageError::Io { operation: "create", path, .. } if path.starts_with(&file)),
            "{err}"
        );
    }

    #[test]
    fn a_copy_of_a_missing_file_is_not_found_and_leaves_no_target() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("gone");
        let to = dir.path().join("copy");
        assert_eq!(
            copy_durably(&from, &to),
            Err(StorageError::NotFound { path: from })
        );
        assert!(!to.exists());
    }
}
