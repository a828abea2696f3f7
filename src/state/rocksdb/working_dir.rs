//! The local working directories of RocksDB instances: one per keyed operator subtask under the
//! backend's local directory, removed when the instance is dropped, and, for a process that died
//! before it could remove its own, at the next start of an instance under the same directory.
//!
//! # Ownership
//! An instance's directory is named `<operator>-<subtask>-<pid>-<n>` and holds an owner file,
//! [`OWNER_FILE`], with the id of the process that made it. When an instance opens, every
//! directory beside it whose owner file names a process that is no longer running is removed
//! (as Flink cleans its local directories when a task manager starts).
//!
//! # Not guaranteed
//! - A directory without an owner file is never touched, whatever its name: a local directory
//!   shared with other programs loses nothing of theirs.
//! - Whether a process is running is read from `/proc`; where there is none (not Linux), no
//!   directory of another process is removed.
//! - A process id reused by an unrelated running process keeps the dead owner's directory until
//!   that process ends too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file in an instance directory that names its owning process.
pub(crate) const OWNER_FILE: &str = "weir-owner.pid";

/// Gives every instance directory of this process a distinct name.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// An instance's directory, removed (with everything in it) when dropped.
#[derive(Debug)]
pub(crate) struct WorkingDir(PathBuf);

impl WorkingDir {
    /// Creates a new directory for instance `stem` under `base` (created if missing), owned by
    /// this process, after removing the directories of dead processes under `base`.
    pub(crate) fn create(base: &Path, stem: &str) -> io::Result<WorkingDir> {
        fs::create_dir_all(base)?;
        remove_dead_owners(base);
        let pid = std::process::id();
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let dir = WorkingDir(base.join(format!("{stem}-{pid}-{n}")));
        fs::create_dir_all(&dir.0)?;
        fs::write(dir.0.join(OWNER_FILE), format!("{pid}\n"))?;
        Ok(dir)
    }

    /// A directory that is removed when dropped (a staged snapshot).
    pub(crate) fn adopt(path: PathBuf) -> WorkingDir {
        WorkingDir(path)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkingDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Removes every directory under `base` whose owner file names a process that is not running;
/// returns the directories removed. Errors (a directory gone meanwhile, no permission) leave
/// the directory where it is.
pub(crate) fn remove_dead_owners(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let owner = fs::read_to_string(dir.join(OWNER_FILE))
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if let Some(pid) = owner.filter(|&pid| pid != own && !is_running(pid)) {
            if fs::remove_dir_all(&dir).is_ok() {
                tracing::info!(
                    dir = %dir.display(),
                    pid,
                    "removed the RocksDB working directory of a process that is gone"
                );
                removed.push(dir);
            }
        }
    }
    removed
}

/// Whether process `pid` is running; `true` when that cannot be told (no `/proc`).
fn is_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id of a process that has ended (a child that exited and was waited for).
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        pid
    }

    fn owned_dir(base: &Path, name: &str, pid: u32) -> PathBuf {
        let dir = base.join(name);
        fs::create_dir_all(dir.join("db-0")).expect("mkdir");
        fs::write(dir.join(OWNER_FILE), format!("{pid}\n")).expect("owner");
        dir
    }

    #[test]
    fn only_directories_of_processes_that_are_gone_are_removed() {
        let base = tempfile::tempdir().expect("temp dir");
        let dead = owned_dir(base.path(), "count-0-dead", dead_pid());
        let mine = owned_dir(base.path(), "count-1-mine", std::process::id());
        let parent = owned_dir(base.path(), "count-2-init", 1);
        let foreign = base.path().join("not-weirs-123-4");
        fs::create_dir_all(&foreign).expect("mkdir");
        let removed = remove_dead_owners(base.path());
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists());
        for kept in [&mine, &parent, &foreign] {
            assert!(kept.exists(), "{}", kept.display());
        }
    }

    #[test]
    fn a_new_instance_directory_is_owned_by_this_process_and_removed_on_drop() {
        let base = tempfile::tempdir().expect("temp dir");
        let stale = owned_dir(base.path(), "count-0-1-0", dead_pid());
        let dir = WorkingDir::create(base.path(), "count-0").expect("created");
        assert!(!stale.exists(), "the dead process's directory is gone");
        let owner = fs::read_to_string(dir.path().join(OWNER_FILE)).expect("owner file");
        assert_eq!(owner.trim(), std::process::id().to_string());
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }
}
