//! Every name weir gives a file or directory of checkpoint storage: built here, parsed here,
//! spelled nowhere else.
//!
//! # Layout
//!
//! ```text
//! <base dir>/<job id>/                                        the job's directory
//! <job dir>/chk-<n>/_metadata                                 written last, atomically
//! <job dir>/chk-<n>/<uid>-<subtask>.state                     one subtask's state
//! <job dir>/chk-<n>/<uid>-<subtask>.rocksdb/<file>            a RocksDB checkpoint's own files (all of a full one)
//! <job dir>/shared/<uid>-<subtask>-<n>-<instance>.<sst file>  incremental RocksDB files, uploaded by n
//! <dir>/<name>.tmp-<pid>-<k>                                  a file being written atomically
//! <job dir>/.probe-<pid>-<k>                                  the start-up check that the directory is writable
//! ```
//!
//! Job ids and vertex uids are made safe as file names by percent-encoding every byte outside
//! `[A-Za-z0-9._-]` (and a leading `.`), so two different uids never share a file.
//!
//! # Parsing
//!
//! A name is a checkpoint's only if it is exactly `chk-` and a canonical decimal number: no
//! sign, no leading zero, nothing after it (`chk-7`, not `chk-07`, `chk-+7` or `chk-7.tmp`).
//! Every reader of the layout goes through [`parse_checkpoint_dir_name`], so no two places can
//! disagree about which directories are checkpoints.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};
use weir_actors::checkpoint::storage::{StateHandle, StorageError};
use weir_actors::CheckpointId;

/// The name of the file that makes a checkpoint complete.
pub const METADATA_FILE_NAME: &str = "_metadata";

/// The name of the job's directory for files shared between checkpoints.
pub const SHARED_DIR_NAME: &str = "shared";

/// What every checkpoint directory's name starts with.
const CHECKPOINT_DIR_PREFIX: &str = "chk-";

/// What a temporary file's name has between the final name and its unique part.
const TEMP_MARKER: &str = ".tmp-";

/// The suffix of a subtask's state file.
const STATE_SUFFIX: &str = ".state";

/// The suffix of the directory of a RocksDB checkpoint's own files.
const PRIVATE_DIR_SUFFIX: &str = ".rocksdb";

/// The directory name of checkpoint `id`: `chk-<id>`.
pub fn checkpoint_dir_name(id: CheckpointId) -> String {
    format!("{CHECKPOINT_DIR_PREFIX}{id}")
}

/// `chk-<n>` → `n`; `None` for any other name (`chk-`, `chk-01`, `chk-+1`, `chk-1a`, `shared`).
pub fn parse_checkpoint_dir_name(name: &str) -> Option<CheckpointId> {
    parse_canonical(name.strip_prefix(CHECKPOINT_DIR_PREFIX)?)
}

/// A canonical decimal number: digits only, no leading zero (but `0` itself), no overflow.
fn parse_canonical(digits: &str) -> Option<u64> {
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The directory name of job `job_id` under the base checkpoint directory.
pub fn job_dir_name(job_id: &str) -> String {
    file_name_for(job_id)
}

/// The start of every file name subtask `subtask` of vertex `vertex_uid` writes:
/// `<uid made safe>-<subtask>`.
pub fn subtask_file_stem(vertex_uid: &str, subtask: u32) -> String {
    format!("{}-{subtask}", file_name_for(vertex_uid))
}

/// The file name of the state of subtask `subtask` of vertex `vertex_uid`: its stem, then
/// `.state`.
pub fn state_file_name(vertex_uid: &str, subtask: u32) -> String {
    format!("{}{STATE_SUFFIX}", subtask_file_stem(vertex_uid, subtask))
}

/// The directory, relative to the checkpoint's, of the files of a RocksDB checkpoint that are
/// not shared (all of a full one's; MANIFEST, CURRENT, OPTIONS of an incremental one):
/// `<stem>.rocksdb`.
pub fn private_dir_name(stem: &str) -> String {
    format!("{stem}{PRIVATE_DIR_SUFFIX}")
}

/// The private directories (see [`private_dir_name`]) the operators of the subtask `handle`
/// describes may have written, relative to the checkpoint's directory: one per operator uid of
/// the chain, the vertex's included.
pub fn private_dir_names(handle: &StateHandle) -> impl Iterator<Item = String> + '_ {
    let mut uids: Vec<&str> = vec![handle.vertex_uid.as_str()];
    for uid in &handle.operator_uids {
        if !uids.contains(&uid.as_str()) {
            uids.push(uid);
        }
    }
    uids.into_iter()
        .map(|uid| private_dir_name(&subtask_file_stem(uid, handle.subtask)))
}

/// The name in `shared/` of SST file `local_name` uploaded by checkpoint `checkpoint` of the
/// checkpointer `instance` of the subtask with file stem `stem`.
pub fn shared_file_name(
    stem: &str,
    checkpoint: CheckpointId,
    instance: &str,
    local_name: &str,
) -> String {
    format!("{stem}-{checkpoint}-{instance}.{local_name}")
}

/// `shared/<name>`, relative to the job's directory.
pub fn shared_path(name: &str) -> PathBuf {
    Path::new(SHARED_DIR_NAME).join(name)
}

/// The name of a file given as `shared/<name>`; `None` for any other path.
pub fn shared_name_of(relative: &Path) -> Option<&OsStr> {
    let mut components = relative.components();
    match (components.next(), components.next(), components.next()) {
        (Some(Component::Normal(dir)), Some(Component::Normal(name)), None)
            if dir == SHARED_DIR_NAME =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// The checkpoint that uploaded a shared file, from its name
/// `<stem>-<checkpoint id>-<instance>.<file>` (instance and file name have no `-`).
pub fn uploading_checkpoint(name: &str) -> Option<CheckpointId> {
    let mut parts = name.rsplitn(3, '-');
    let _file = parts.next()?;
    let id = parse_canonical(parts.next()?)?;
    parts.next().map(|_| id)
}

/// The name of a temporary file for `name`: `<name>.tmp-<pid>-<n>`.
pub fn temp_file_name(name: &OsStr, pid: u32, n: u64) -> OsString {
    let mut temp = name.to_os_string();
    temp.push(format!("{TEMP_MARKER}{pid}-{n}"));
    temp
}

/// The name of the probe file the start-up check writes into the job's directory.
pub fn probe_file_name(pid: u32, n: u64) -> String {
    format!(".probe-{pid}-{n}")
}

/// Whether an entry named `name` of a checkpoint's directory is one weir writes: the
/// `_metadata`, a temporary file of it, a subtask's state file, or the directory of a
/// RocksDB checkpoint's own files.
pub fn is_checkpoint_entry(name: &str, is_dir: bool) -> bool {
    let ends_with_subtask = |stem: &str| {
        stem.rsplit_once('-')
            .is_some_and(|(uid, subtask)| !uid.is_empty() && parse_canonical(subtask).is_some())
    };
    if is_dir {
        return name
            .strip_suffix(PRIVATE_DIR_SUFFIX)
            .is_some_and(ends_with_subtask);
    }
    name == METADATA_FILE_NAME
        || name
            .strip_prefix(METADATA_FILE_NAME)
            .is_some_and(|rest| rest.starts_with(TEMP_MARKER))
        || name
            .strip_suffix(STATE_SUFFIX)
            .is_some_and(ends_with_subtask)
}

/// The name in-memory storage gives checkpoint `checkpoint` of job `job_id` in its errors:
/// `memory:<job id>/chk-<n>`.
pub fn memory_checkpoint_path(job_id: &str, checkpoint: CheckpointId) -> PathBuf {
    PathBuf::from(format!("memory:{job_id}")).join(checkpoint_dir_name(checkpoint))
}

/// Resolves `relative`, a path a checkpoint records: `shared/<name>` is under the job's
/// directory, anything else under checkpoint `checkpoint`'s directory. Absolute paths, `..`,
/// `.` and empty paths are refused, so corrupt metadata cannot point outside the job directory.
pub fn resolve(
    job_dir: &Path,
    checkpoint: CheckpointId,
    relative: &Path,
) -> Result<PathBuf, StorageError> {
    resolve_in(
        job_dir,
        &job_dir.join(checkpoint_dir_name(checkpoint)),
        relative,
    )
}

/// Resolves `relative`, a path a checkpoint whose directory is `checkpoint_dir` records, as
/// [`resolve`] does: `shared/<name>` under `job_dir`, anything else under `checkpoint_dir`.
pub fn resolve_in(
    job_dir: &Path,
    checkpoint_dir: &Path,
    relative: &Path,
) -> Result<PathBuf, StorageError> {
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || relative.as_os_str().is_empty() {
        return Err(StorageError::Corrupt {
            path: checkpoint_dir.join(relative),
            reason: "a recorded location is not a plain relative path".to_owned(),
        });
    }
    let mut components = relative.components();
    let in_shared = components.next() == Some(Component::Normal(SHARED_DIR_NAME.as_ref()))
        && components.next().is_some();
    Ok(if in_shared {
        job_dir.join(relative)
    } else {
        checkpoint_dir.join(relative)
    })
}

/// `name` made safe as one file name: bytes in `[A-Za-z0-9._-]` kept (except a leading `.`),
/// every other byte written `%XX`. Different names stay different.
fn file_name_for(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') || (byte == b'.' && i > 0);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_plain_uids_and_encode_the_rest() {
        assert_eq!(file_name_for("source-1.v2"), "source-1.v2");
        assert_eq!(file_name_for("a/b"), "a%2Fb");
        assert_eq!(file_name_for(".."), "%2E.");
        assert_eq!(file_name_for("%"), "%25");
        assert_eq!(file_name_for("é"), "%C3%A9");
        assert_ne!(file_name_for("a/b"), file_name_for("a_b"));
    }

    #[test]
    fn only_canonical_chk_names_are_checkpoints() {
        assert_eq!(parse_checkpoint_dir_name("chk-0"), Some(0));
        assert_eq!(parse_checkpoint_dir_name("chk-42"), Some(42));
        assert_eq!(
            parse_checkpoint_dir_name(&checkpoint_dir_name(u64::MAX)),
            Some(u64::MAX)
        );
        for name in [
            "chk-",
            "chk-01",
            "chk-00",
            "chk-+1",
            "chk--1",
            "chk-1a",
            "chk- 1",
            "chk-1 ",
            "chk-١",
            "chk-18446744073709551616",
            "CHK-1",
            "shared",
            "chk-1.tmp",
        ] {
            assert_eq!(parse_checkpoint_dir_name(name), None, "{name}");
        }
    }

    #[test]
    fn the_uploading_checkpoint_is_read_from_the_end_of_the_name() {
        let name = shared_file_name("count-by-key-1", 17, "1ax0", "000012.sst");
        assert_eq!(name, "count-by-key-1-17-1ax0.000012.sst");
        assert_eq!(uploading_checkpoint(&name), Some(17));
        assert_eq!(uploading_checkpoint("a-0-3-000009.sst"), Some(3));
        assert_eq!(uploading_checkpoint("a-0-03-000009.sst"), None);
        assert_eq!(uploading_checkpoint("000009.sst"), None);
        assert_eq!(uploading_checkpoint("x-y-000009.sst"), None);
    }

    #[test]
    fn only_plain_shared_paths_are_shared_files() {
        assert!(shared_name_of(&shared_path("a-0-1-1.sst")).is_some());
        assert!(shared_name_of(Path::new("shared/../x")).is_none());
        assert!(shared_name_of(Path::new("chk-1/x")).is_none());
        assert!(shared_name_of(Path::new("shared/a/b")).is_none());
    }

    #[test]
    fn recorded_locations_resolve_inside_the_job_directory_only() {
        let job = Path::new("/base/job");
        assert_eq!(
            resolve(job, 3, Path::new("a-0.state")),
            Ok(PathBuf::from("/base/job/chk-3/a-0.state"))
        );
        assert_eq!(
            resolve(job, 3, Path::new("shared/x.sst")),
            Ok(PathBuf::from("/base/job/shared/x.sst"))
        );
        for bad in [
            "",
            "/etc/passwd",
            "../chk-2/a-0.state",
            "./a",
            "shared/../x",
        ] {
            assert!(
                matches!(
                    resolve(job, 3, Path::new(bad)),
                    Err(StorageError::Corrupt { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_entries_weir_writes_into_a_checkpoint_directory_are_recognized() {
        let state = state_file_name("sum/by key", 3);
        let private = private_dir_name(&subtask_file_stem("count", 0));
        let temp = temp_file_name(OsStr::new(METADATA_FILE_NAME), 42, 7);
        for (name, is_dir) in [
            (METADATA_FILE_NAME, false),
            (temp.to_str().unwrap(), false),
            (state.as_str(), false),
            (private.as_str(), true),
        ] {
            assert!(is_checkpoint_entry(name, is_dir), "{name}");
        }
        for (name, is_dir) in [
            ("notes.txt", false),
            ("-0.state", false),
            ("count.state", false),
            ("count-x.state", false),
            (private.as_str(), false),
            (state.as_str(), true),
            (METADATA_FILE_NAME, true),
            ("_metadata.bak", false),
        ] {
            assert!(!is_checkpoint_entry(name, is_dir), "{name}");
        }
    }
}
