//! The job's `shared/` area of a filesystem checkpoint storage: discarding a checkpoint deletes
//! exactly the shared files no complete checkpoint needs, a refused late write removes what it
//! uploaded, and a new run deletes what an earlier one left behind; incremental RocksDB
//! checkpoints upload only new SST files, and a reference-counting registry keeps exactly the
//! files of the retained ones.

mod common;

use common::rocks_store::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, SharedFile, StateHandle, StorageError, VertexMetadata,
};
use weir::runtime::CheckpointId;
use weir::state::rocksdb::incremental::{
    IncrementalCheckpointer, IncrementalHandle, SharedFileRegistry,
};
use weir::state::rocksdb::store::{RocksDbError, RocksDbOptions, RocksDbStateStore};

const JOB: &str = "job-1";

fn fs_storage() -> (tempfile::TempDir, FileSystemCheckpointStorage) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let storage = FileSystemCheckpointStorage::new(tmp.path().join("checkpoints"), JOB);
    (tmp, storage)
}

/// Checkpoint `id` of one subtask referring to `shared` (file names in `shared/`), which it
/// creates if they are new; written complete unless `complete` is false.
fn checkpoint_with_shared(
    storage: &FileSystemCheckpointStorage,
    id: CheckpointId,
    shared: &[&str],
    complete: bool,
) {
    fs::create_dir_all(storage.shared_dir()).unwrap();
    let files = shared
        .iter()
        .map(|name| {
            let path = storage.shared_dir().join(name);
            if !path.exists() {
                fs::write(&path, name.as_bytes()).unwrap();
            }
            SharedFile {
                path: PathBuf::from("shared").join(name),
                size: name.len() as u64,
                uploaded: name.contains(&format!("-{id}-")),
            }
        })
        .collect();
    let location = storage.write_state(id, "counter", 0, b"handle").unwrap();
    if !complete {
        return;
    }
    storage
        .write_metadata(&CheckpointMetadata {
            job_id: JOB.to_owned(),
            checkpoint_id: id,
            timestamp_ms: 0,
            max_parallelism: 128,
            vertices: vec![VertexMetadata {
                uid: "counter".to_owned(),
                parallelism: 1,
            }],
            states: vec![StateHandle {
                vertex_uid: "counter".to_owned(),
                subtask: 0,
                operator_uids: vec!["counter".to_owned()],
                location,
                size: 6,
                shared: files,
            }],
        })
        .unwrap();
}

fn shared_names(storage: &FileSystemCheckpointStorage) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(storage.shared_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn discarding_checkpoints_deletes_exactly_the_shared_files_no_complete_checkpoint_needs() {
    let (_dir, storage) = fs_storage();
    checkpoint_with_shared(
        &storage,
        1,
        &["counter-0-1-000001.sst", "counter-0-1-000002.sst"],
        true,
    );
    checkpoint_with_shared(
        &storage,
        2,
        &["counter-0-1-000002.sst", "counter-0-2-000003.sst"],
        true,
    );
    // Checkpoint 3 uploaded a file but never completed (aborted).
    checkpoint_with_shared(
        &storage,
        3,
        &["counter-0-2-000003.sst", "counter-0-3-000004.sst"],
        false,
    );

    storage.discard(1).unwrap();
    assert_eq!(
        shared_names(&storage),
        [
            "counter-0-1-000002.sst",
            "counter-0-2-000003.sst",
            "counter-0-3-000004.sst"
        ],
        "only checkpoint 1's own file goes; what checkpoint 2 needs stays"
    );
    storage.discard(3).unwrap();
    assert_eq!(
        shared_names(&storage),
        ["counter-0-1-000002.sst", "counter-0-2-000003.sst"],
        "the aborted checkpoint's upload goes, the file it shared with checkpoint 2 stays"
    );
    storage.discard(2).unwrap();
    assert!(shared_names(&storage).is_empty());
}

#[test]
fn shared_files_of_a_state_write_refused_after_a_discard_are_removed_unless_needed() {
    let (_dir, storage) = fs_storage();
    checkpoint_with_shared(&storage, 1, &["counter-0-1-000001.sst"], true);
    storage.discard(2).unwrap();
    fs::write(storage.shared_dir().join("counter-0-2-000002.sst"), b"late").unwrap();
    assert!(storage.write_state(2, "counter", 0, b"late").is_err());
    storage
        .discard_shared(
            2,
            &[
                PathBuf::from("shared/counter-0-2-000002.sst"),
                PathBuf::from("shared/counter-0-1-000001.sst"),
            ],
        )
        .unwrap();
    assert_eq!(shared_names(&storage), ["counter-0-1-000001.sst"]);
}

#[test]
fn a_new_run_deletes_incomplete_checkpoints_and_orphan_shared_files_and_numbers_after_them() {
    let (_dir, storage) = fs_storage();
    checkpoint_with_shared(&storage, 1, &["counter-0-1-a.000001.sst"], true);
    checkpoint_with_shared(
        &storage,
        2,
        &["counter-0-1-a.000001.sst", "counter-0-2-a.000002.sst"],
        false,
    );
    fs::write(
        storage.shared_dir().join("counter-1-9-b.000003.sst"),
        b"orphan",
    )
    .unwrap();
    assert_eq!(storage.highest_used_id().unwrap(), Some(9));
    storage.delete_leftovers().unwrap();
    assert_eq!(storage.list().unwrap(), vec![1]);
    assert_eq!(shared_names(&storage), ["counter-0-1-a.000001.sst"]);
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| entries.map(|e| file_size(&e.expect("entry").path())).sum())
        .unwrap_or(0)
}

/// The files in `shared/`, relative to the job directory.
fn shared_files(storage: &FileSystemCheckpointStorage) -> BTreeSet<PathBuf> {
    match fs::read_dir(storage.shared_dir()) {
        Ok(entries) => entries
            .map(|e| PathBuf::from("shared").join(e.expect("entry").file_name()))
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[test]
fn a_second_incremental_checkpoint_after_one_percent_updates_adds_under_ten_percent_of_a_full_one()
{
    const KEYS: u64 = 100_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let checkpointer =
        IncrementalCheckpointer::new(storage.clone(), "counter", 0, dir.path().join("staging"));
    let mut store =
        RocksDbStateStore::open(dir.path().join("db"), RocksDbOptions::default()).expect("open");
    store.register_state("counts").expect("register");
    for key in 0..KEYS {
        put(&mut store, "counts", key, 0);
    }
    // After the bulk load, compact once so that no background compaction of the loaded files
    // lands between the two checkpoints being compared.
    store.compact_all().expect("compact");
    let first = checkpointer
        .checkpoint(&store, 1, None)
        .expect("checkpoint 1");
    let shared_after_first = shared_files(&storage);

    for key in (0..KEYS).step_by(100) {
        put(&mut store, "counts", key, 1);
    }
    let second = checkpointer
        .checkpoint(&store, 2, Some(&first))
        .expect("checkpoint 2");

    // Measured on disk: new shared files plus checkpoint 2's own directory, against the size of
    // every file checkpoint 2 needs (what a full copy would write).
    let new_shared: u64 = shared_files(&storage)
        .difference(&shared_after_first)
        .map(|f| file_size(&storage.job_dir().join(f)))
        .sum();
    let private_dir = storage.checkpoint_dir(2).join("counter-0.rocksdb");
    let added = new_shared + dir_bytes(&private_dir);
    let full: u64 = second
        .shared
        .iter()
        .map(|f| file_size(&storage.job_dir().join(&f.path)))
        .sum::<u64>()
        + dir_bytes(&private_dir);
    let ratio = added as f64 / full as f64;
    eprintln!(
        "incremental checkpoint 2: {added} of {full} bytes ({:.2} %)",
        ratio * 100.0
    );
    assert_eq!(added, second.uploaded_bytes);
    assert_eq!(full, second.full_bytes());
    assert!(ratio < 0.10, "checkpoint 2 added {added} of {full} bytes");

    let restored = second
        .restore(
            &storage,
            dir.path().join("restored"),
            RocksDbOptions::default(),
        )
        .expect("restore");
    assert_eq!(contents(&restored), contents(&store));
}

/// What a run of checkpoints with retention left and did.
struct RetentionRun {
    /// The retained handles, oldest first, with the contents each one captured.
    retained: Vec<(IncrementalHandle, Contents)>,
    /// Shared files the registry released (and that were deleted).
    deleted: usize,
    /// Bytes uploaded, and bytes a full checkpoint would have copied, over all checkpoints.
    uploaded: u64,
    full: u64,
}

/// Loads 20 000 keys, then takes `count` checkpoints with 1 % of the keys updated before each,
/// keeping the newest `retain` and deleting what the registry releases.
fn checkpoints_with_retention(
    dir: &Path,
    storage: &FileSystemCheckpointStorage,
    count: CheckpointId,
    retain: usize,
) -> RetentionRun {
    let checkpointer = IncrementalCheckpointer::new(storage.clone(), "op", 3, dir.join("staging"));
    // Small memtables, so that flushes and compactions replace files between checkpoints.
    let options = RocksDbOptions {
        write_buffer_bytes: 64 << 10,
        ..RocksDbOptions::default()
    };
    let mut store = RocksDbStateStore::open(dir.join("db"), options).expect("open");
    store.register_state("counts").expect("register");
    for key in 0..20_000 {
        put(&mut store, "counts", key, 0);
    }
    let mut registry = SharedFileRegistry::new();
    let mut run = RetentionRun {
        retained: Vec::new(),
        deleted: 0,
        uploaded: 0,
        full: 0,
    };
    for id in 1..=count {
        for key in (id..20_000).step_by(100) {
            put(&mut store, "counts", key, id);
        }
        let base = run.retained.last().map(|(h, _)| h);
        let handle = checkpointer
            .checkpoint(&store, id, base)
            .expect("checkpoint");
        registry.register(id, handle.shared_paths());
        run.uploaded += handle.uploaded_bytes;
        run.full += handle.full_bytes();
        run.retained.push((handle, contents(&store)));
        while run.retained.len() > retain {
            let (old, _) = run.retained.remove(0);
            // The checkpoint's own files go; its shared files go by the registry's count (the
            // storage's `discard` collects shared files by the complete checkpoints' metadata,
            // which this test of the building blocks does not write).
            std::fs::remove_dir_all(storage.checkpoint_dir(old.checkpoint_id)).expect("discard");
            let unreferenced = registry.release(old.checkpoint_id);
            run.deleted += unreferenced.len();
            checkpointer
                .delete_shared_files(&unreferenced)
                .expect("delete");
        }
    }
    run
}

#[test]
fn after_ten_checkpoints_with_two_retained_shared_holds_exactly_their_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let run = checkpoints_with_retention(dir.path(), &storage, 10, 2);
    assert!(
        run.deleted > 0,
        "compactions made some shared files unneeded"
    );
    assert!(
        run.uploaded < run.full / 2,
        "checkpoints reused shared files"
    );
    eprintln!(
        "10 checkpoints: uploaded {} of {} bytes ({:.1} %), deleted {} shared files",
        run.uploaded,
        run.full,
        run.uploaded as f64 * 100.0 / run.full as f64,
        run.deleted
    );

    let referenced: BTreeSet<PathBuf> = run
        .retained
        .iter()
        .flat_map(|(h, _)| h.shared_paths().map(Path::to_path_buf))
        .collect();
    assert_eq!(
        shared_files(&storage),
        referenced,
        "no orphans, nothing missing"
    );
    for (i, (handle, captured)) in run.retained.iter().enumerate() {
        let restored = handle
            .restore(
                &storage,
                dir.path().join(format!("restored-{i}")),
                RocksDbOptions::default(),
            )
            .expect("every retained checkpoint restores");
        assert_eq!(&contents(&restored), captured);
    }
}

#[test]
fn the_registry_releases_a_shared_file_only_when_no_retained_checkpoint_refers_to_it() {
    let mut registry = SharedFileRegistry::new();
    registry.register(1, ["shared/a", "shared/b"]);
    registry.register(2, ["shared/b", "shared/c"]);
    registry.register(2, ["shared/c", "shared/d"]);
    assert_eq!(registry.reference_count(Path::new("shared/b")), 2);
    assert_eq!(registry.reference_count(Path::new("shared/c")), 1);

    assert_eq!(registry.release(1), [PathBuf::from("shared/a")]);
    assert_eq!(registry.release(1), Vec::<PathBuf>::new());
    assert_eq!(registry.release(7), Vec::<PathBuf>::new());
    assert_eq!(
        registry.release(2),
        ["shared/b", "shared/c", "shared/d"].map(PathBuf::from)
    );
    assert_eq!(registry.referenced_files().count(), 0);
    assert_eq!(registry.checkpoints().count(), 0);
}

#[test]
fn a_restore_missing_a_shared_file_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let checkpointer =
        IncrementalCheckpointer::new(storage.clone(), "op", 0, dir.path().join("staging"));
    let store = filled_store(&dir.path().join("db"), 1_000);
    let handle = checkpointer
        .checkpoint(&store, 1, None)
        .expect("checkpoint");
    let lost = storage.job_dir().join(&handle.shared[0].path);
    fs::remove_file(&lost).expect("remove");
    match handle.restore(
        &storage,
        dir.path().join("restored"),
        RocksDbOptions::default(),
    ) {
        Err(RocksDbError::Io { path, .. }) => assert_eq!(path, lost),
        other => panic!(
            "expected an Io error naming {}, got {other:?}",
            lost.display()
        ),
    }
}

#[test]
fn a_failed_upload_leaves_no_shared_files_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let checkpointer =
        IncrementalCheckpointer::new(storage.clone(), "op", 0, dir.path().join("staging"));
    let store = filled_store(&dir.path().join("db"), 1_000);
    // SST files are copied first; then CURRENT cannot be written where a directory stands.
    let blocked = storage
        .checkpoint_dir(1)
        .join("op-0.rocksdb")
        .join("CURRENT");
    fs::create_dir_all(&blocked).expect("create");
    match checkpointer.checkpoint(&store, 1, None) {
        Err(RocksDbError::Storage(StorageError::Io { path, .. })) => assert_eq!(path, blocked),
        other => panic!(
            "expected an Io error naming {}, got {other:?}",
            blocked.display()
        ),
    }
    assert_eq!(shared_files(&storage), BTreeSet::new());
}
