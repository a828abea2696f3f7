//! Checkpoint storage: round trips, fallback past bad metadata (FAULTS 8), exact discards
//! (FAULTS 9, 10) and failed writes that decline instead of panicking (FAULTS 13).

use std::fs;
use std::path::{Path, PathBuf};
use weir::checkpoint::storage::{FileSystemCheckpointStorage, MemoryCheckpointStorage};
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, FileIdentity, StateFile, StateHandle, StateLocation,
    StorageError, VertexMetadata,
};
use weir::runtime::CheckpointId;

const JOB: &str = "job-1";

fn fs_storage() -> (tempfile::TempDir, FileSystemCheckpointStorage) {
    let tmp = tempfile::tempdir().unwrap();
    let storage = FileSystemCheckpointStorage::new(tmp.path().join("checkpoints"), JOB);
    (tmp, storage)
}

/// Writes the state of two subtasks of one vertex, then the metadata: a complete checkpoint.
fn complete_checkpoint(storage: &dyn CheckpointStorage, id: CheckpointId) -> CheckpointMetadata {
    let mut states = Vec::new();
    for subtask in 0..2u32 {
        let bytes = format!("state of subtask {subtask} at checkpoint {id}").into_bytes();
        let location = storage.write_state(id, "counter", subtask, &bytes).unwrap();
        states.push(StateHandle {
            vertex_uid: "counter".to_owned(),
            subtask,
            operator_uids: vec!["counter".to_owned(), "map-after".to_owned()],
            location,
            size: bytes.len() as u64,
            shared: vec![],
        });
    }
    let metadata = CheckpointMetadata {
        job_id: JOB.to_owned(),
        checkpoint_id: id,
        timestamp_ms: 1_000 * id,
        max_parallelism: 128,
        vertices: vec![VertexMetadata {
            uid: "counter".to_owned(),
            parallelism: 2,
        }],
        states,
    };
    let size = storage.write_metadata(&metadata).unwrap();
    assert!(size > 0);
    metadata
}

/// The handle of subtask `subtask` of vertex `uid` whose state is at `location`.
fn handle(uid: &str, subtask: u32, location: StateLocation) -> StateHandle {
    StateHandle {
        vertex_uid: uid.to_owned(),
        subtask,
        operator_uids: vec![uid.to_owned()],
        location,
        size: 0,
        shared: vec![],
    }
}

fn metadata_path(storage: &FileSystemCheckpointStorage, id: CheckpointId) -> PathBuf {
    storage.checkpoint_dir(id).join("_metadata")
}

/// Checkpoints 1 and 2 complete, then `damage` applied to checkpoint 2's metadata: the latest
/// complete checkpoint must be 1, with one skipped error naming checkpoint 2's `_metadata`.
fn assert_falls_back_to_checkpoint_1(
    damage: impl FnOnce(&Path),
    expected: impl Fn(&StorageError) -> bool,
) {
    let (_tmp, storage) = fs_storage();
    let first = complete_checkpoint(&storage, 1);
    complete_checkpoint(&storage, 2);
    let path = metadata_path(&storage, 2);
    damage(&path);
    let latest = storage.latest_complete().unwrap();
    assert_eq!(latest.metadata, Some(first));
    assert_eq!(latest.skipped.len(), 1, "{:?}", latest.skipped);
    let error = &latest.skipped[0];
    assert!(expected(error), "unexpected error: {error}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(storage.load(2).is_err());
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn filesystem_storage_round_trips_metadata_and_state() {
    let (_tmp, storage) = fs_storage();
    let metadata = complete_checkpoint(&storage, 7);
    assert_eq!(storage.load(7).unwrap(), metadata);
    for handle in &metadata.states {
        let expected = format!("state of subtask {} at checkpoint 7", handle.subtask);
        assert_eq!(
            storage.read_state(7, handle).unwrap(),
            expected.into_bytes()
        );
        let StateLocation::File(file) = &handle.location else {
            panic!("filesystem state is in a file: {:?}", handle.location);
        };
        assert!(file.path.is_relative(), "{file:?}");
        let on_disk = storage.checkpoint_dir(7).join(&file.path);
        assert_eq!(fs::metadata(&on_disk).unwrap().len(), file.size);
        let bytes = fs::read(&on_disk).unwrap();
        assert_eq!(crc32fast::hash(&bytes[..bytes.len() - 4]), file.checksum);
    }
    assert_eq!(storage.list().unwrap(), vec![7]);
    assert_eq!(storage.describe(), storage.job_dir().display().to_string());
    assert!(storage.job_dir().ends_with(JOB));
}

#[test]
fn filesystem_storage_round_trips_empty_and_large_state() {
    let (_tmp, storage) = fs_storage();
    let large: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    for (subtask, bytes) in [(0, Vec::new()), (1, large)] {
        let location = storage.write_state(1, "big", subtask, &bytes).unwrap();
        let handle = handle("big", subtask, location);
        assert_eq!(storage.read_state(1, &handle).unwrap(), bytes);
    }
}

#[test]
fn memory_storage_round_trips_metadata_and_state() {
    let storage = MemoryCheckpointStorage::new(JOB);
    let metadata = complete_checkpoint(&storage, 3);
    assert_eq!(storage.load(3).unwrap(), metadata);
    for handle in &metadata.states {
        assert!(matches!(handle.location, StateLocation::Inline(_)));
        let expected = format!("state of subtask {} at checkpoint 3", handle.subtask);
        assert_eq!(
            storage.read_state(3, handle).unwrap(),
            expected.into_bytes()
        );
    }
    assert_eq!(storage.list().unwrap(), vec![3]);
    assert_eq!(storage.state_bytes(3), metadata.state_size());
    assert!(storage.describe().contains(JOB));
}

#[test]
fn clones_of_a_memory_storage_share_their_checkpoints() {
    let storage = MemoryCheckpointStorage::new(JOB);
    let next_run = storage.clone();
    let metadata = complete_checkpoint(&storage, 1);
    assert_eq!(next_run.latest_complete().unwrap().metadata, Some(metadata));
    next_run.discard(1).unwrap();
    assert!(storage.list().unwrap().is_empty());
}

#[test]
fn latest_complete_picks_the_newest_intact_checkpoint() {
    let (_tmp, fs_storage) = fs_storage();
    let memory = MemoryCheckpointStorage::new(JOB);
    for storage in [&fs_storage as &dyn CheckpointStorage, &memory] {
        assert!(storage.latest_complete().unwrap().metadata.is_none());
        complete_checkpoint(storage, 1);
        complete_checkpoint(storage, 2);
        let newest = complete_checkpoint(storage, 10);
        let latest = storage.latest_complete().unwrap();
        assert_eq!(latest.metadata, Some(newest), "{}", storage.describe());
        assert!(latest.skipped.is_empty());
        assert_eq!(storage.list().unwrap(), vec![1, 2, 10]);
    }
}

#[test]
fn a_storage_whose_directory_does_not_exist_yet_is_empty() {
    let (_tmp, storage) = fs_storage();
    assert!(storage.list().unwrap().is_empty());
    let latest = storage.latest_complete().unwrap();
    assert!(latest.metadata.is_none() && latest.skipped.is_empty());
    assert!(!storage.job_dir().exists());
}

#[test]
fn truncated_metadata_falls_back_to_the_previous_checkpoint() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1);
    let len = fs::read(metadata_path(&storage, 1)).unwrap().len();
    for cut in [0, 5, 8, 12, 19, 20, 24, len / 2, len - 4, len - 1] {
        assert_falls_back_to_checkpoint_1(
            |path| {
                let bytes = fs::read(path).unwrap();
                fs::write(path, &bytes[..cut]).unwrap();
            },
            |error| matches!(error, StorageError::Truncated { actual, .. } if *actual == cut as u64),
        );
    }
}

#[test]
fn metadata_with_a_flipped_byte_falls_back_to_the_previous_checkpoint() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1);
    let len = fs::read(metadata_path(&storage, 1)).unwrap().len();
    for at in 0..len {
        assert_falls_back_to_checkpoint_1(
            |path| {
                let mut bytes = fs::read(path).unwrap();
                bytes[at] ^= 0x40;
                fs::write(path, bytes).unwrap();
            },
            |error| {
                !error.path().as_os_str().is_empty() && !matches!(error, StorageError::Io { .. })
            },
        );
    }
}

#[test]
fn foreign_metadata_falls_back_to_the_previous_checkpoint() {
    assert_falls_back_to_checkpoint_1(
        |path| fs::write(path, b"hello").unwrap(),
        |error| matches!(error, StorageError::Foreign { .. }),
    );
}

#[test]
fn metadata_of_a_future_format_version_falls_back_to_the_previous_checkpoint() {
    assert_falls_back_to_checkpoint_1(
        |path| {
            let mut bytes = fs::read(path).unwrap();
            bytes[8..10].copy_from_slice(&3u16.to_le_bytes());
            fs::write(path, bytes).unwrap();
        },
        |error| {
            matches!(
                error,
                StorageError::UnsupportedVersion {
                    version: 3,
                    supported: 2,
                    ..
                }
            )
        },
    );
}

#[test]
fn missing_metadata_falls_back_to_the_previous_checkpoint() {
    assert_falls_back_to_checkpoint_1(
        |path| fs::remove_file(path).unwrap(),
        |error| matches!(error, StorageError::NotFound { .. }),
    );
}

#[test]
fn a_state_file_in_place_of_metadata_falls_back_to_the_previous_checkpoint() {
    assert_falls_back_to_checkpoint_1(
        |path| {
            let dir = path.parent().unwrap();
            fs::copy(dir.join("counter-0.state"), path).unwrap();
        },
        |error| matches!(error, StorageError::Corrupt { .. }),
    );
}

#[test]
fn metadata_of_another_checkpoint_falls_back_to_the_previous_checkpoint() {
    assert_falls_back_to_checkpoint_1(
        |path| {
            let chk_1 = path.parent().unwrap().with_file_name("chk-1");
            fs::copy(chk_1.join("_metadata"), path).unwrap();
        },
        |error| {
            matches!(error, StorageError::IdentityMismatch { expected, found, .. }
                if **expected == FileIdentity::Metadata { checkpoint_id: 2 }
                    && **found == FileIdentity::Metadata { checkpoint_id: 1 })
        },
    );
}

#[test]
fn every_newer_bad_checkpoint_is_reported_newest_first() {
    let (_tmp, storage) = fs_storage();
    let first = complete_checkpoint(&storage, 1);
    complete_checkpoint(&storage, 2);
    fs::write(metadata_path(&storage, 2), b"hello").unwrap();
    storage
        .write_state(3, "counter", 0, b"no metadata yet")
        .unwrap();
    let latest = storage.latest_complete().unwrap();
    assert_eq!(latest.metadata, Some(first));
    let paths: Vec<_> = latest.skipped.iter().map(StorageError::path).collect();
    assert_eq!(
        paths,
        vec![metadata_path(&storage, 3), metadata_path(&storage, 2)]
    );
}

#[test]
fn an_incomplete_memory_checkpoint_is_skipped_as_not_found() {
    let storage = MemoryCheckpointStorage::new(JOB);
    let first = complete_checkpoint(&storage, 1);
    storage
        .write_state(2, "counter", 0, b"no metadata yet")
        .unwrap();
    assert_eq!(storage.list().unwrap(), vec![1, 2]);
    let latest = storage.latest_complete().unwrap();
    assert_eq!(latest.metadata, Some(first));
    assert!(
        matches!(&latest.skipped[..], [StorageError::NotFound { path }] if path.ends_with("chk-2/_metadata")),
        "{:?}",
        latest.skipped
    );
    assert!(matches!(
        storage.load(2),
        Err(StorageError::NotFound { .. })
    ));
}

#[test]
fn a_corrupt_state_file_is_reported_with_its_path() {
    let (_tmp, storage) = fs_storage();
    let location = storage.write_state(1, "counter", 0, b"some state").unwrap();
    let StateLocation::File(file) = &location else {
        panic!("{location:?}");
    };
    let path = storage.checkpoint_dir(1).join(&file.path);
    let location = handle("counter", 0, location.clone());
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, bytes).unwrap();
    let error = storage.read_state(1, &location).unwrap_err();
    assert!(
        matches!(&error, StorageError::Corrupt { path: p, .. } if *p == path),
        "{error}"
    );
    fs::remove_file(&path).unwrap();
    assert_eq!(
        storage.read_state(1, &location),
        Err(StorageError::NotFound { path })
    );
}

#[test]
fn a_state_location_outside_the_checkpoint_directory_is_refused() {
    let (_tmp, storage) = fs_storage();
    complete_checkpoint(&storage, 1);
    for bad in ["../chk-1/counter-0.state", "/etc/hostname"] {
        let location = StateLocation::File(StateFile {
            path: PathBuf::from(bad),
            size: 0,
            checksum: 0,
        });
        let error = storage
            .read_state(2, &handle("counter", 0, location))
            .unwrap_err();
        assert!(
            matches!(error, StorageError::Corrupt { .. }),
            "{bad}: {error}"
        );
    }
}

#[test]
fn uids_that_differ_only_in_unsafe_characters_get_different_files() {
    let (_tmp, storage) = fs_storage();
    let uids = ["a/b", "a_b", "a%2Fb", "..", "", "ünïcode uid"];
    let locations: Vec<_> = uids
        .iter()
        .map(|uid| {
            handle(
                uid,
                0,
                storage.write_state(1, uid, 0, uid.as_bytes()).unwrap(),
            )
        })
        .collect();
    for (uid, location) in uids.iter().zip(&locations) {
        assert_eq!(storage.read_state(1, location).unwrap(), uid.as_bytes());
    }
    let files = files_under(storage.job_dir());
    assert_eq!(files.len(), 1 + uids.len(), "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.starts_with(storage.checkpoint_dir(1))));
}

#[test]
fn discard_removes_exactly_one_checkpoint_and_keeps_the_others() {
    let (_tmp, fs_storage) = fs_storage();
    let memory = MemoryCheckpointStorage::new(JOB);
    for storage in [&fs_storage as &dyn CheckpointStorage, &memory] {
        let first = complete_checkpoint(storage, 1);
        complete_checkpoint(storage, 2);
        let third = complete_checkpoint(storage, 3);
        storage.discard(2).unwrap();
        assert_eq!(storage.list().unwrap(), vec![1, 3]);
        assert_eq!(storage.load(1).unwrap(), first);
        assert_eq!(storage.load(3).unwrap(), third);
        for metadata in [&first, &third] {
            for handle in &metadata.states {
                let id = metadata.checkpoint_id;
                assert!(storage.read_state(id, handle).is_ok());
            }
        }
        assert!(matches!(
            storage.load(2),
            Err(StorageError::NotFound { .. })
        ));
        storage.discard(2).unwrap();
        storage.discard(99).unwrap();
    }
    assert!(!fs_storage.checkpoint_dir(2).exists());
}

/// A base directory writes fail under: a read-only job directory, or (as root, where permissions
/// do not stop writes) a path under a regular file.
fn unwritable_storage(tmp: &Path) -> FileSystemCheckpointStorage {
    use std::os::unix::fs::PermissionsExt;
    let storage = FileSystemCheckpointStorage::new(tmp.join("checkpoints"), JOB);
    fs::create_dir_all(storage.job_dir()).unwrap();
    fs::set_permissions(storage.job_dir(), fs::Permissions::from_mode(0o555)).unwrap();
    let probe = storage.job_dir().join("probe");
    if fs::write(&probe, b"x").is_err() {
        return storage;
    }
    fs::remove_file(probe).unwrap();
    fs::set_permissions(storage.job_dir(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(tmp.join("a_file"), b"not a directory").unwrap();
    FileSystemCheckpointStorage::new(tmp.join("a_file").join("sub"), JOB)
}

#[test]
fn writes_to_an_unwritable_directory_fail_with_an_io_error_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let storage = unwritable_storage(tmp.path());
    let state_file = storage.checkpoint_dir(1).join("counter-0.state");
    let error = storage.write_state(1, "counter", 0, b"state").unwrap_err();
    assert!(
        matches!(&error, StorageError::Io { path, .. } if state_file.starts_with(path)),
        "{error}"
    );
    let metadata = CheckpointMetadata {
        job_id: JOB.to_owned(),
        checkpoint_id: 1,
        timestamp_ms: 0,
        max_parallelism: 128,
        vertices: Vec::new(),
        states: Vec::new(),
    };
    let error = storage.write_metadata(&metadata).unwrap_err();
    assert!(
        matches!(&error, StorageError::Io { path, .. } if metadata_path(&storage, 1).starts_with(path)),
        "{error}"
    );
    // Reading may fail too (a path under a file cannot be listed), but never finds a checkpoint.
    if let Ok(latest) = storage.latest_complete() {
        assert!(latest.metadata.is_none());
    }
}

#[test]
fn a_successful_write_leaves_no_temp_files() {
    let (_tmp, storage) = fs_storage();
    for id in 1..=3 {
        complete_checkpoint(&storage, id);
    }
    // Rewriting the metadata of a checkpoint replaces it atomically, also without leftovers.
    let again = complete_checkpoint(&storage, 3);
    assert_eq!(storage.load(3).unwrap(), again);
    let files = files_under(storage.job_dir());
    assert!(!files.is_empty());
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "leftover {}", file.display());
    }
    assert!(!storage.shared_dir().exists());
}
