//! Incremental RocksDB checkpoints of a keyed backend: what a checkpoint adds after a small
//! change, and a restore from it.

use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::state::backend::{BackendSettings, RocksDbStateBackend, StateBackend};
use crate::state::keyed::backend::KeyedStateBackend;
use crate::state::keyed::{KeyedContext, RuntimeContext};
use crate::ValueState;
use weir_actors::graph::task::TaskSnapshot;

const KEYS: u64 = 1_000_000;
const UPDATED: u64 = KEYS / 100;

fn backend(
    storage: &FileSystemCheckpointStorage,
    local: &std::path::Path,
) -> KeyedStateBackend<u64> {
    backend_with(Some(storage), true, None, local)
}

fn backend_with(
    storage: Option<&FileSystemCheckpointStorage>,
    incremental: bool,
    restored_from: Option<(u64, FileSystemCheckpointStorage)>,
    local: &std::path::Path,
) -> KeyedStateBackend<u64> {
    let config = RocksDbStateBackend::default().local_dir(local);
    let settings = BackendSettings {
        backend: StateBackend::RocksDb(config.clone()),
        incremental,
        storage: storage.cloned(),
        clock: Default::default(),
        restored_from,
    };
    let mut backend = KeyedStateBackend::new(128, 0..=127, "count [count]");
    backend
        .use_rocksdb(&settings, &config, "count", 0)
        .expect("RocksDB opens");
    backend
}

fn put(backend: &mut KeyedStateBackend<u64>, state: &ValueState<u64>, key: u64, value: u64) {
    state.update(&mut KeyedContext { key: &key, backend }, value);
}

fn get(backend: &mut KeyedStateBackend<u64>, state: &ValueState<u64>, key: u64) -> Option<u64> {
    state.value(&mut KeyedContext { key: &key, backend })
}

fn checkpoint(backend: &mut KeyedStateBackend<u64>, id: u64) -> TaskSnapshot {
    let write = backend
        .snapshot(
            id,
            weir_actors::checkpoint::snapshot_kind::SnapshotKind::Checkpoint,
        )
        .expect("snapshot starts");
    let snapshot = write().expect("snapshot writes");
    backend.notify_complete(id);
    snapshot
}

/// Bytes the checkpoint wrote: its state bytes, its own files and the shared files it uploaded.
fn added(s: &TaskSnapshot) -> u64 {
    s.bytes.len() as u64
        + s.files_bytes
        + s.shared
            .iter()
            .filter(|f| f.uploaded)
            .map(|f| f.size)
            .sum::<u64>()
}

/// Bytes of the whole state the checkpoint restores.
fn full(s: &TaskSnapshot) -> u64 {
    s.bytes.len() as u64 + s.files_bytes + s.shared.iter().map(|f| f.size).sum::<u64>()
}

#[test]
fn a_full_checkpoint_keeps_its_files_in_its_directory_and_restores_wherever_it_is_moved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let mut b = backend_with(Some(&storage), false, None, &dir.path().join("local"));
    let count: ValueState<u64> = RuntimeContext::new(&mut b)
        .value_state("count")
        .expect("declared");
    for key in 0..10_000 {
        put(&mut b, &count, key, key * 3);
    }
    let snapshot = checkpoint(&mut b, 4);
    assert!(
        snapshot.shared.is_empty(),
        "a full checkpoint shares nothing"
    );
    let private = storage.checkpoint_dir(4).join("count-0.rocksdb");
    let on_disk: u64 = std::fs::read_dir(&private)
        .expect("the checkpoint's own RocksDB directory")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert_eq!(snapshot.files_bytes, on_disk, "its files are counted");
    assert!(
        (snapshot.bytes.len() as u64) * 10 < on_disk,
        "the state bytes hold the handle, not the files ({} bytes)",
        snapshot.bytes.len()
    );
    let job_dir = storage.job_dir().to_string_lossy().into_owned();
    let needle = job_dir.as_bytes();
    assert!(
        !snapshot.bytes.windows(needle.len()).any(|w| w == needle),
        "the handle records no absolute path"
    );

    // Moved elsewhere, the checkpoint restores from where it is now.
    let moved = dir.path().join("moved");
    std::fs::rename(storage.job_dir(), &moved).expect("moved");
    let from = Some((4, FileSystemCheckpointStorage::at_job_dir(moved)));
    let mut restored = backend_with(None, false, from, &dir.path().join("local"));
    let count: ValueState<u64> = RuntimeContext::new(&mut restored)
        .value_state("count")
        .expect("declared");
    restored.restore(&snapshot.bytes).expect("restores");
    for key in (0..10_000).step_by(37) {
        assert_eq!(get(&mut restored, &count, key), Some(key * 3), "key {key}");
    }

    // With no directory to find the files in, the restore is a clear error.
    let mut lost = backend_with(None, false, None, &dir.path().join("local"));
    let error = lost.restore(&snapshot.bytes).expect_err("no directory");
    assert!(
        error.to_string().contains("checkpoint directory"),
        "the error says what is missing: {error}"
    );
}

#[test]
fn with_one_percent_of_a_million_keys_updated_an_incremental_checkpoint_adds_under_a_tenth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FileSystemCheckpointStorage::new(dir.path().join("checkpoints"), "job");
    let mut b = backend(&storage, &dir.path().join("local"));
    let count: ValueState<u64> = RuntimeContext::new(&mut b)
        .value_state("count")
        .expect("declared");
    for key in 0..KEYS {
        put(&mut b, &count, key, 1);
    }
    // The base checkpoint starts from a settled instance: compactions still running after it
    // would rewrite files the next checkpoint must then upload.
    b.compact_rocksdb();
    let first = checkpoint(&mut b, 1);
    assert_eq!(
        added(&first),
        full(&first),
        "the first checkpoint uploads everything"
    );

    for key in (0..KEYS).step_by((KEYS / UPDATED) as usize) {
        put(&mut b, &count, key, 2);
    }
    let second = checkpoint(&mut b, 2);
    let (added, full) = (added(&second), full(&second));
    eprintln!(
        "1 % of 1 M keys updated: the incremental checkpoint added {added} of {full} bytes \
         ({:.2} %)",
        added as f64 * 100.0 / full as f64
    );
    assert!(
        added * 10 < full,
        "an incremental checkpoint after 1 % of updates added {added} of {full} bytes"
    );

    // Restoring the incremental checkpoint gives back every key's value.
    let mut restored = backend(&storage, &dir.path().join("local"));
    let count: ValueState<u64> = RuntimeContext::new(&mut restored)
        .value_state("count")
        .expect("declared");
    restored.restore(&second.bytes).expect("restores");
    for key in (0..KEYS).step_by(997) {
        let expected = if key % (KEYS / UPDATED) == 0 { 2 } else { 1 };
        assert_eq!(get(&mut restored, &count, key), Some(expected), "key {key}");
    }
}

#[test]
fn an_entry_that_does_not_decode_is_a_typed_error_naming_operator_state_and_key_group() {
    use super::RocksKeyed;
    use crate::state::access_error::ErrorSlot;
    use crate::state::key_groups::KeyGroups;
    use crate::state::keyed::error::{StateAccessCause, StateOperation};
    use crate::KeyedStateError;
    let local = tempfile::tempdir().expect("temp dir");
    let config = RocksDbStateBackend::default().local_dir(local.path());
    let rocks = RocksKeyed::open(&BackendSettings::default(), &config, "count", 0, 128)
        .expect("RocksDB opens");
    let groups = KeyGroups::new(128, 0..=127);
    let errors = ErrorSlot::default();
    let mut map = rocks
        .map::<u64, u64>("counts", &groups, &errors)
        .expect("registered");
    let key_group = groups.assigner.key_group(&7u64);
    let key = postcard::to_allocvec(&7u64).expect("encodes");
    rocks
        .instance
        .lock()
        .store
        .put("counts", key_group, &key, &[0xff; 12])
        .expect("written");
    assert_eq!(
        map.get(&7),
        None,
        "an entry that does not decode reads as absent"
    );
    let error = errors.lock().take().map(|e| e.into_error("Count [count]"));
    match error {
        Some(KeyedStateError::StateAccess {
            operator,
            state,
            key_group: Some(group),
            operation: StateOperation::Read,
            cause: StateAccessCause::ValueDecoding(_),
        }) => {
            assert_eq!(
                (operator.as_str(), state.as_str()),
                ("Count [count]", "counts")
            );
            assert_eq!(group, key_group);
        }
        other => panic!("expected a typed decoding error, got {other:?}"),
    }
}
