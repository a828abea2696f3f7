//! What the filesystem storage does with bad or foreign things on disk: a listing that cannot
//! see an entry fails instead of skipping it; the cleanup of earlier runs deletes only
//! provably incomplete checkpoints and reports what it keeps; a state file of another
//! checkpoint or subtask, one rewritten since its metadata, or one of format version 1 is
//! refused with a typed error; a checkpoint is named only as `chk-<canonical number>`; an
//! upload for a discarded checkpoint writes nothing.

use std::fs;
use std::path::{Path, PathBuf};
use weir::checkpoint::file_format::{encode_bytes, FileKind, MAGIC};
use weir::checkpoint::restore::load_path;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, FileIdentity, Leftovers, RecordedProperty, SharedFile,
    StateHandle, StateLocation, StorageError, VertexMetadata,
};
use weir::runtime::CheckpointId;
use weir::state::rocksdb::incremental::IncrementalCheckpointer;
use weir::state::rocksdb::store::{RocksDbError, RocksDbOptions, RocksDbStateStore};
use weir::RestoreError;

const JOB: &str = "job-1";

fn fs_storage() -> (tempfile::TempDir, FileSystemCheckpointStorage) {
    let tmp = tempfile::tempdir().unwrap();
    let storage = FileSystemCheckpointStorage::new(tmp.path().join("checkpoints"), JOB);
    (tmp, storage)
}

/// Checkpoint `id`: the state of subtasks 0 and 1 of vertex `counter`, subtask 0 referring to
/// `shared` (names in `shared/`, created if missing), then the metadata.
fn complete_checkpoint(
    storage: &FileSystemCheckpointStorage,
    id: CheckpointId,
    shared: &[&str],
) -> CheckpointMetadata {
    let mut states = Vec::new();
    for subtask in 0..2u32 {
        let bytes = format!("subtask {subtask} of checkpoint {id}").into_bytes();
        let location = storage.write_state(id, "counter", subtask, &bytes).unwrap();
        let shared = match subtask {
            0 => shared
                .iter()
                .map(|name| shared_file(storage, name))
                .collect(),
            _ => Vec::new(),
        };
        states.push(StateHandle {
            vertex_uid: "counter".to_owned(),
            subtask,
            operator_uids: vec!["counter".to_owned()],
            location,
            size: bytes.len() as u64,
            shared,
        });
    }
    let metadata = CheckpointMetadata {
        job_id: JOB.to_owned(),
        checkpoint_id: id,
        timestamp_ms: 0,
        max_parallelism: 128,
        vertices: vec![VertexMetadata {
            uid: "counter".to_owned(),
            parallelism: 2,
        }],
        states,
    };
    storage.write_metadata(&metadata).unwrap();
    metadata
}

/// Shared file `name`, created with its name as contents if it is not there.
fn shared_file(storage: &FileSystemCheckpointStorage, name: &str) -> SharedFile {
    fs::create_dir_all(storage.shared_dir()).unwrap();
    let path = storage.shared_dir().join(name);
    if !path.exists() {
        fs::write(&path, name).unwrap();
    }
    SharedFile {
        path: PathBuf::from("shared").join(name),
        size: name.len() as u64,
        uploaded: true,
    }
}

fn shared_names(storage: &FileSystemCheckpointStorage) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(storage.shared_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn metadata_path(storage: &FileSystemCheckpointStorage, id: CheckpointId) -> PathBuf {
    storage.checkpoint_dir(id).join("_metadata")
}

fn state_path(storage: &FileSystemCheckpointStorage, id: CheckpointId, subtask: u32) -> PathBuf {
    storage
        .checkpoint_dir(id)
        .join(FileSystemCheckpointStorage::state_file_name(
            "counter", subtask,
        ))
}

#[test]
fn list_ignores_entries_that_are_not_checkpoint_directories() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 4, &[]);
    let job_dir = storage.job_dir();
    for dir in ["shared", "chk-", "chk-05", "chk-x", "savepoint-1"] {
        fs::create_dir(job_dir.join(dir)).unwrap();
    }
    fs::write(job_dir.join("chk-6"), b"a file, not a directory").unwrap();
    assert_eq!(storage.list().unwrap(), vec![4]);
}

#[test]
fn a_checkpoint_entry_that_cannot_be_examined_fails_the_listing_instead_of_being_skipped() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1, &[]);
    // A link to itself: whether it is a directory cannot be found out.
    let looping = storage.job_dir().join("chk-7");
    std::os::unix::fs::symlink(&looping, &looping).unwrap();
    for error in [
        storage.list().unwrap_err(),
        storage.highest_used_id().unwrap_err(),
    ] {
        assert!(
            matches!(&error, StorageError::Io { operation: "list", path, .. } if *path == looping),
            "{error}"
        );
    }
}

#[test]
fn a_job_directory_that_is_a_file_cannot_be_listed() {
    let (tmp, _) = fs_storage();
    let storage = FileSystemCheckpointStorage::at_job_dir(tmp.path().join("a-file"));
    fs::write(storage.job_dir(), b"not a directory").unwrap();
    let error = storage.highest_used_id().unwrap_err();
    assert!(
        matches!(&error, StorageError::Io { operation: "list", path, .. } if path == storage.job_dir()),
        "{error}"
    );
}

#[test]
fn a_temp_file_left_by_a_crash_mid_metadata_write_does_not_complete_the_checkpoint() {
    let (_tmp, storage) = fs_storage();
    let first = complete_checkpoint(&storage, 1, &[]);
    storage.write_state(2, "counter", 0, b"state").unwrap();
    // The crash came after the whole temp file was written but before the rename.
    let whole = fs::read(metadata_path(&storage, 1)).unwrap();
    let tmp_file = storage.checkpoint_dir(2).join("_metadata.tmp-4242-0");
    fs::write(&tmp_file, &whole[..whole.len() / 2]).unwrap();
    fs::write(tmp_file.with_file_name("_metadata.tmp-4242-1"), &whole).unwrap();
    let latest = storage.latest_complete().unwrap();
    assert_eq!(latest.metadata, Some(first));
    assert_eq!(
        latest.skipped,
        vec![StorageError::NotFound {
            path: metadata_path(&storage, 2)
        }]
    );
    assert!(storage.load(2).is_err());
    assert_eq!(storage.list().unwrap(), vec![1, 2]);
    // Only weir's own files are in it: provably an incomplete checkpoint, so a new run deletes it.
    let leftovers = storage.delete_leftovers().unwrap();
    assert_eq!(leftovers.deleted, [2]);
    assert_eq!(storage.list().unwrap(), vec![1]);
}

/// Checkpoint 1 complete, and next to it every kind of checkpoint a cleanup must keep or may
/// delete; shared files of each kind.
fn storage_with_leftovers(storage: &FileSystemCheckpointStorage) {
    complete_checkpoint(storage, 1, &["counter-0-1-a.000001.sst"]);
    // 2: written by a newer weir (format version 3).
    complete_checkpoint(storage, 2, &["counter-0-2-a.000002.sst"]);
    let mut newer = fs::read(metadata_path(storage, 2)).unwrap();
    newer[8..10].copy_from_slice(&3u16.to_le_bytes());
    fs::write(metadata_path(storage, 2), newer).unwrap();
    // 3: a `_metadata` that cannot be read at all (here: a directory in its place).
    storage.write_state(3, "counter", 0, b"state").unwrap();
    fs::create_dir(metadata_path(storage, 3)).unwrap();
    // 4: incomplete, only weir's files; it uploaded a shared file.
    storage.write_state(4, "counter", 0, b"state").unwrap();
    shared_file(storage, "counter-0-4-a.000004.sst");
    // 5: no metadata, but a file weir does not write.
    storage.write_state(5, "counter", 0, b"state").unwrap();
    fs::write(storage.checkpoint_dir(5).join("notes.txt"), b"mine").unwrap();
    // 6: a truncated `_metadata`.
    complete_checkpoint(storage, 6, &[]);
    let whole = fs::read(metadata_path(storage, 6)).unwrap();
    fs::write(metadata_path(storage, 6), &whole[..whole.len() - 3]).unwrap();
    // A shared file of a later checkpoint that no checkpoint can refer to.
    shared_file(storage, "counter-0-9-a.000009.sst");
}

#[test]
fn leftover_cleanup_deletes_only_provably_incomplete_checkpoints_and_reports_the_rest() {
    let (_tmp, storage) = fs_storage();
    storage_with_leftovers(&storage);
    assert_eq!(storage.highest_used_id().unwrap(), Some(9));
    let Leftovers {
        deleted,
        deleted_shared,
        kept,
        ..
    } = storage.delete_leftovers().unwrap();
    assert_eq!(deleted, [4]);
    assert_eq!(
        deleted_shared,
        [PathBuf::from("shared/counter-0-9-a.000009.sst")]
    );
    let kept: Vec<(&Path, bool)> = kept
        .iter()
        .map(|e| {
            let kind_ok = matches!(
                e,
                StorageError::UnsupportedVersion { version: 3, .. }
                    | StorageError::Io { .. }
                    | StorageError::Unrecognized { .. }
                    | StorageError::Truncated { .. }
            );
            (e.path(), kind_ok)
        })
        .collect();
    let notes = storage.checkpoint_dir(5).join("notes.txt");
    assert_eq!(
        kept,
        [
            (metadata_path(&storage, 2).as_path(), true),
            (metadata_path(&storage, 3).as_path(), true),
            (notes.as_path(), true),
            (metadata_path(&storage, 6).as_path(), true),
        ]
    );
    assert_eq!(storage.list().unwrap(), vec![1, 2, 3, 5, 6]);
    // What the unreadable checkpoints (up to 6) may refer to stays; checkpoint 1's file too.
    assert_eq!(
        shared_names(&storage),
        [
            "counter-0-1-a.000001.sst",
            "counter-0-2-a.000002.sst",
            "counter-0-4-a.000004.sst"
        ]
    );
    // A second cleanup finds the same things to keep and nothing to delete.
    let again = storage.delete_leftovers().unwrap();
    assert!(again.deleted.is_empty() && again.deleted_shared.is_empty());
    assert_eq!(again.kept.len(), 4);
}

#[test]
fn discarding_never_deletes_a_shared_file_an_unreadable_checkpoint_may_need() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1, &["counter-0-1-a.000001.sst"]);
    complete_checkpoint(&storage, 2, &["counter-0-1-a.000001.sst"]);
    fs::write(metadata_path(&storage, 2), b"damaged").unwrap();
    complete_checkpoint(&storage, 3, &["counter-0-3-a.000003.sst"]);
    storage.discard(1).unwrap();
    storage.discard(3).unwrap();
    // Checkpoint 2 cannot be read and may refer to what checkpoint 1 uploaded; not to 3's.
    assert_eq!(shared_names(&storage), ["counter-0-1-a.000001.sst"]);
}

/// The handle of subtask `subtask` in `metadata`.
fn handle_of(metadata: &CheckpointMetadata, subtask: u32) -> &StateHandle {
    metadata.state_of("counter", subtask).unwrap()
}

#[test]
fn a_state_file_of_another_subtask_or_checkpoint_is_refused_naming_both() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1, &[]);
    let second = complete_checkpoint(&storage, 2, &[]);
    let target = state_path(&storage, 2, 0);
    for (from, found) in [
        (state_path(&storage, 2, 1), (2, 1)),
        (state_path(&storage, 1, 0), (1, 0)),
    ] {
        fs::copy(&from, &target).unwrap();
        let error = storage.read_state(2, handle_of(&second, 0)).unwrap_err();
        let (checkpoint_id, subtask) = found;
        let expected = StorageError::IdentityMismatch {
            path: target.clone(),
            expected: Box::new(FileIdentity::State {
                checkpoint_id: 2,
                vertex_uid: "counter".into(),
                subtask: 0,
            }),
            found: Box::new(FileIdentity::State {
                checkpoint_id,
                vertex_uid: "counter".into(),
                subtask,
            }),
        };
        assert_eq!(error, expected);
        assert!(error.to_string().contains("subtask 0"), "{error}");
    }
}

#[test]
fn a_state_file_rewritten_since_its_metadata_is_refused() {
    let (_tmp, storage) = fs_storage();
    let metadata = complete_checkpoint(&storage, 1, &[]);
    let identity = FileIdentity::State {
        checkpoint_id: 1,
        vertex_uid: "counter".into(),
        subtask: 0,
    };
    let path = state_path(&storage, 1, 0);
    let StateLocation::File(recorded_file) = &handle_of(&metadata, 0).location else {
        panic!("state in a file");
    };
    // Same identity, same length, other bytes: an intact file, but not the one recorded.
    fs::write(&path, encode_bytes(&identity, b"subtask 0 of checkpoint 9")).unwrap();
    let error = storage.read_state(1, handle_of(&metadata, 0)).unwrap_err();
    assert!(
        matches!(&error, StorageError::DiffersFromMetadata { property: RecordedProperty::Checksum, recorded, .. }
            if *recorded == u64::from(recorded_file.checksum)),
        "{error}"
    );
    fs::write(
        &path,
        encode_bytes(&identity, b"longer state than recorded"),
    )
    .unwrap();
    let error = storage.read_state(1, handle_of(&metadata, 0)).unwrap_err();
    assert_eq!(
        error,
        StorageError::DiffersFromMetadata {
            path,
            property: RecordedProperty::Size,
            recorded: recorded_file.size,
            found: recorded_file.size + 1,
        }
    );
}

#[test]
fn a_state_file_of_format_version_1_is_refused_as_unsupported_not_misread() {
    let (_tmp, storage) = fs_storage();
    let metadata = complete_checkpoint(&storage, 1, &[]);
    // Version 1: magic, version, kind, body length, body, checksum; no identity.
    let body = b"subtask 0 of checkpoint 1";
    let mut old = MAGIC.to_vec();
    old.extend_from_slice(&1u16.to_le_bytes());
    old.extend_from_slice(&FileKind::State.code().to_le_bytes());
    old.extend_from_slice(&(body.len() as u64).to_le_bytes());
    old.extend_from_slice(body);
    let crc = crc32fast::hash(&old);
    old.extend_from_slice(&crc.to_le_bytes());
    let path = state_path(&storage, 1, 0);
    fs::write(&path, old).unwrap();
    assert_eq!(
        storage.read_state(1, handle_of(&metadata, 0)),
        Err(StorageError::UnsupportedVersion {
            path,
            version: 1,
            supported: 2
        })
    );
}

#[test]
fn a_shared_file_that_is_missing_or_of_another_size_is_reported_naming_it() {
    let (_tmp, storage) = fs_storage();
    let metadata = complete_checkpoint(&storage, 1, &["counter-0-1-a.000001.sst"]);
    let file = &handle_of(&metadata, 0).shared[0];
    assert_eq!(storage.check_shared_file(file), Ok(()));
    let path = storage.shared_dir().join("counter-0-1-a.000001.sst");
    fs::write(&path, b"other").unwrap();
    assert_eq!(
        storage.check_shared_file(file),
        Err(StorageError::DiffersFromMetadata {
            path: path.clone(),
            property: RecordedProperty::Size,
            recorded: file.size,
            found: 5,
        })
    );
    fs::remove_file(&path).unwrap();
    assert_eq!(
        storage.check_shared_file(file),
        Err(StorageError::NotFound { path })
    );
}

#[test]
fn restore_from_a_path_takes_only_canonical_checkpoint_names() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1, &[]);
    let chk_1 = storage.checkpoint_dir(1);
    for good in [chk_1.clone(), chk_1.join("_metadata")] {
        let (restored, report) = load_path(&good).unwrap();
        assert_eq!(
            (restored.metadata.checkpoint_id, report.checkpoint_id),
            (1, 1)
        );
    }
    for bad in ["chk-01", "chk-+1", "chk-1a", "chk- 1"] {
        let lookalike = storage.job_dir().join(bad);
        fs::create_dir_all(&lookalike).unwrap();
        fs::copy(chk_1.join("_metadata"), lookalike.join("_metadata")).unwrap();
        for path in [lookalike.clone(), lookalike.join("_metadata")] {
            let error = load_path(&path).unwrap_err();
            assert!(
                matches!(&error, RestoreError::BadCheckpointPath { path: p, .. } if *p == path),
                "{bad}: {error}"
            );
        }
    }
}

#[test]
fn an_upload_for_a_discarded_checkpoint_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let checkpointer =
        IncrementalCheckpointer::new(storage.clone(), "op", 0, dir.path().join("staging"));
    let mut store =
        RocksDbStateStore::open(dir.path().join("db"), RocksDbOptions::default()).unwrap();
    store.register_state("counts").unwrap();
    for (id, keys) in [(1u64, 0..1_000u64), (2, 1_000..2_000)] {
        for key in keys {
            store
                .put("counts", 0, &key.to_le_bytes(), b"value")
                .unwrap();
        }
        if id == 1 {
            checkpointer.checkpoint(&store, 1, None).unwrap();
        }
    }
    let before = shared_names(&storage);
    // Checkpoint 2 is aborted after its synchronous part, while its upload has not run yet.
    let local = checkpointer.snapshot(&store, 2).unwrap();
    storage.discard(2).unwrap();
    match checkpointer.upload(local, None) {
        Err(RocksDbError::Storage(StorageError::Io { reason, .. })) => {
            assert!(reason.contains("discarded"), "{reason}")
        }
        other => panic!("the upload of a discarded checkpoint ran: {other:?}"),
    }
    assert!(!storage.checkpoint_dir(2).exists());
    assert_eq!(shared_names(&storage), before);
}
