//! The RocksDB state store: reads and writes per state, key-group scans, map-state prefix scans,
//! full and native snapshots, and typed errors for bad working directories and bad input.
//! (Incremental checkpoints with reference-counted shared files: `shared_files.rs`.)

mod common;

use common::rocks_store::*;
use std::fs;
use weir::state::rocksdb::store::{RocksDbError, RocksDbOptions, RocksDbStateStore, MAX_KEY_GROUP};

#[test]
fn values_are_put_read_and_deleted_per_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        RocksDbStateStore::open(dir.path().join("db"), RocksDbOptions::default()).expect("open");
    store.register_state("a").expect("register");
    store.register_state("b").expect("register");
    let (group, key) = (group_of(7), key_bytes(7));
    store.put("a", group, &key, b"in a").expect("put");
    store.put("b", group, &key, b"in b").expect("put");
    assert_eq!(
        store.get("a", group, &key).expect("get"),
        Some(b"in a".to_vec())
    );
    assert_eq!(
        store.get("b", group, &key).expect("get"),
        Some(b"in b".to_vec())
    );
    assert_eq!(store.get("a", group + 1, &key).expect("get"), None);

    store.delete("a", group, &key).expect("delete");
    assert_eq!(store.get("a", group, &key).expect("get"), None);
    assert_eq!(
        store.get("b", group, &key).expect("get"),
        Some(b"in b".to_vec())
    );
    assert_eq!(store.states().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn an_unregistered_state_is_a_typed_error_naming_the_state_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let store = RocksDbStateStore::open(&path, RocksDbOptions::default()).expect("open");
    match store.get("missing", 0, b"k") {
        Err(RocksDbError::UnknownState { state, path: p }) => {
            assert_eq!(state, "missing");
            assert_eq!(p, path);
        }
        other => panic!("expected UnknownState, got {other:?}"),
    }
}

#[test]
fn a_key_group_above_the_largest_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        RocksDbStateStore::open(dir.path().join("db"), RocksDbOptions::default()).expect("open");
    store.register_state("s").expect("register");
    let err = store.put("s", MAX_KEY_GROUP + 1, b"k", b"v").unwrap_err();
    assert!(
        matches!(err, RocksDbError::KeyGroupOutOfRange { key_group, .. } if key_group == MAX_KEY_GROUP + 1)
    );
    store
        .put("s", MAX_KEY_GROUP, b"k", b"v")
        .expect("the largest key group is fine");
    let all: Vec<_> = store
        .scan_key_group_range("s", MAX_KEY_GROUP..=MAX_KEY_GROUP)
        .expect("scan")
        .collect::<Result<_, _>>()
        .expect("entries");
    assert_eq!(all.len(), 1);
}

#[test]
fn a_key_group_range_scan_returns_exactly_the_keys_of_those_groups_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = filled_store(&dir.path().join("db"), 5_000);
    let scanned: Vec<(u32, Vec<u8>)> = store
        .scan_key_group_range("counts", 10..=20)
        .expect("scan")
        .map(|e| e.map(|e| (e.key_group, e.key)))
        .collect::<Result<_, _>>()
        .expect("entries");
    let mut expected: Vec<(u32, Vec<u8>)> = (0..5_000u64)
        .filter(|k| (10..=20).contains(&group_of(*k)))
        .map(|k| (group_of(k), key_bytes(k)))
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(scanned, expected);
}

#[test]
fn a_map_state_prefix_scan_returns_the_user_keys_of_one_key_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        RocksDbStateStore::open(dir.path().join("db"), RocksDbOptions::default()).expect("open");
    store.register_state("map").expect("register");
    // Keys of one key group whose encodings are close: 1 is [1], 128 is [128, 1], 129 [129, 1].
    let group = 5;
    let keys: Vec<u64> = vec![1, 128, 129, 16_384];
    for &key in &keys {
        for user_key in 0..10u32 {
            let mut db_key = key_bytes(key);
            db_key.extend(postcard::to_allocvec(&user_key).expect("encodes"));
            store
                .put("map", group, &db_key, &value(key, u64::from(user_key)))
                .expect("put");
        }
    }
    for &key in &keys {
        let entries = store
            .prefix_scan("map", group, &key_bytes(key))
            .expect("scan");
        let user_keys: Vec<u32> = entries
            .iter()
            .map(|(k, _)| postcard::from_bytes(k).expect("user key decodes"))
            .collect();
        assert_eq!(user_keys, (0..10).collect::<Vec<_>>(), "key {key}");
        assert_eq!(entries[3].1, value(key, 3));
    }
    assert!(store
        .prefix_scan("map", group + 1, &key_bytes(1))
        .expect("scan")
        .is_empty());
}

#[test]
fn deleting_a_key_group_range_removes_only_those_groups_from_every_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = filled_store(&dir.path().join("db"), 3_000);
    let before = contents(&store);
    store.delete_key_group_range(0..=63).expect("delete range");
    store.compact_all().expect("compact");
    let expected: Contents = before
        .into_iter()
        .filter(|((_, g, _), _)| *g > 63)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(contents(&store), expected);
}

#[test]
fn a_full_snapshot_restored_into_a_new_store_has_equal_contents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = filled_store(&dir.path().join("db"), 5_000);
    let snapshot = store.full_snapshot().expect("snapshot");

    let mut restored =
        RocksDbStateStore::open(dir.path().join("restored"), RocksDbOptions::default())
            .expect("open");
    restored
        .restore_full_snapshot(&snapshot, 0..=MAX_KEY_GROUP)
        .expect("restore");
    assert_eq!(contents(&restored), contents(&store));

    // At another parallelism, a subtask takes only its key groups.
    let mut half =
        RocksDbStateStore::open(dir.path().join("half"), RocksDbOptions::default()).expect("open");
    half.restore_full_snapshot(&snapshot, 64..=127)
        .expect("restore");
    let expected: Contents = contents(&store)
        .into_iter()
        .filter(|((_, g, _), _)| (64..=127).contains(g))
        .collect();
    assert_eq!(contents(&half), expected);
}

#[test]
fn a_corrupt_full_snapshot_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        RocksDbStateStore::open(dir.path().join("db"), RocksDbOptions::default()).expect("open");
    let err = store
        .restore_full_snapshot(&[0xFF; 7], 0..=127)
        .unwrap_err();
    assert!(
        matches!(err, RocksDbError::CorruptSnapshot { .. }),
        "{err:?}"
    );
}

#[test]
fn a_native_checkpoint_restored_into_a_new_store_has_equal_contents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = filled_store(&dir.path().join("db"), 5_000);
    let checkpoint = dir.path().join("checkpoint");
    let files = store.native_checkpoint(&checkpoint).expect("checkpoint");
    assert!(files.iter().any(|f| f.is_sst()));
    assert!(files.iter().any(|f| f.name == "CURRENT"));
    for file in &files {
        assert_eq!(file_size(&checkpoint.join(&file.name)), file.size);
    }

    let restored = RocksDbStateStore::restore_native_checkpoint(
        &checkpoint,
        dir.path().join("restored"),
        RocksDbOptions::default(),
    )
    .expect("restore");
    assert_eq!(restored.states().collect::<Vec<_>>(), ["counts", "totals"]);
    assert_eq!(contents(&restored), contents(&store));
}

#[test]
fn a_store_moves_to_another_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = filled_store(&dir.path().join("db"), 10);
    let store = std::thread::spawn(move || {
        put(&mut store, "counts", 3, 9);
        store
    })
    .join()
    .expect("thread");
    let got = store
        .get("counts", group_of(3), &key_bytes(3))
        .expect("get");
    assert_eq!(got, Some(value(3, 9)));
}

#[test]
fn a_working_directory_under_a_regular_file_is_a_typed_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    fs::write(&file, b"not a directory").expect("write");
    let path = file.join("db");
    let err = RocksDbStateStore::open(&path, RocksDbOptions::default()).unwrap_err();
    assert!(
        matches!(&err, RocksDbError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

#[test]
fn a_working_directory_that_is_not_empty_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("leftover"), b"x").expect("write");
    let err = RocksDbStateStore::open(dir.path(), RocksDbOptions::default()).unwrap_err();
    assert!(matches!(err, RocksDbError::NotEmpty { .. }), "{err:?}");
}
