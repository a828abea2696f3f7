//! Restoring an aligned checkpoint at another parallelism: each key's state is found by the
//! subtask that owns its key group now, whatever the old and the new parallelism, on the hashmap
//! and the RocksDB backend (full and incremental checkpoints); a change of max parallelism is
//! refused.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use weir::{Error, ExternalizedCheckpointRetention, RestoreError, StateBackend, StreamEnvironment};

const JOB: &str = "rescale";
const TOTAL: u64 = 20_000;
const PER_KEY: u64 = 50;
const KEYS: u64 = TOTAL / PER_KEY;

/// Deterministic at `parallelism` with `backend`, checkpoints into `dir` retained.
fn env(
    dir: &Path,
    parallelism: u32,
    backend: StateBackend,
    incremental: bool,
) -> StreamEnvironment {
    let mut env = deterministic_env(11);
    env.set_parallelism(parallelism)
        .set_job_id(JOB)
        .set_state_backend(backend)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir);
    let cp = env.checkpoint_config_mut();
    cp.incremental = incremental;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// A run at `parallelism` counting `0..TOTAL` per key (`value / PER_KEY`) that completes
/// checkpoint 1 part way and is cancelled; returns the checkpoint's directory.
fn checkpointed_run(
    dir: &Path,
    parallelism: u32,
    backend: StateBackend,
    incremental: bool,
) -> PathBuf {
    let env = env(dir, parallelism, backend, incremental);
    let progress = Progress::default();
    let _out = paced(&env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(&progress))
        .uid("sequence")
        .collect();
    let client = spawn_running(&env);
    progress.wait_for(TOTAL / 4);
    assert_eq!(trigger(&client).map(|s| s.id), Ok(1));
    client.cancel();
    let _ = finish(client);
    dir.join(JOB).join("chk-1")
}

/// Restores `checkpoint` at `parallelism` and feeds one more record to every key (from a new
/// source: the old source's state is dropped); returns each key's count after it.
fn restored_counts(
    checkpoint: &Path,
    dir: &Path,
    parallelism: u32,
    backend: StateBackend,
) -> BTreeMap<u64, u64> {
    let mut env = env(dir, parallelism, backend, false);
    env.set_allow_non_restored_state(true);
    env.restore_from_checkpoint(checkpoint)
        .expect("the checkpoint loads");
    let out = env
        .from_vec((0..KEYS).map(|k| k * PER_KEY).collect())
        .uid("more")
        .key_by(|v| v / PER_KEY)
        .process(Sequence::default())
        .uid("sequence")
        .collect();
    env.execute().expect("the restored run finishes");
    out.records().into_iter().map(|(k, n, _)| (k, n)).collect()
}

/// From checkpoints taken at 2 and at 4, a restore at 1, 2, 3, 4 and 7 finds every key's count:
/// the same as the restore at the checkpoint's own parallelism.
fn rescales_every_way(backend: fn() -> StateBackend, incremental: bool) {
    for old in [2, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let checkpoint = checkpointed_run(&tmp.path().join("first"), old, backend(), incremental);
        let same = restored_counts(&checkpoint, &tmp.path().join("same"), old, backend());
        assert_eq!(same.len() as u64, KEYS);
        let restored: u64 = same.values().map(|n| n - 1).sum();
        assert!(
            restored >= TOTAL / 4,
            "only {restored} records' counts were restored"
        );
        for new in [1, 2, 3, 4, 7] {
            let dir = tmp.path().join(format!("p{new}"));
            let counts = restored_counts(&checkpoint, &dir, new, backend());
            assert_eq!(counts, same, "checkpoint at {old}, restored at {new}");
        }
    }
}

#[test]
fn hashmap_keyed_state_follows_its_key_groups_to_any_parallelism() {
    rescales_every_way(|| StateBackend::HashMap, false);
}

#[test]
fn rocksdb_keyed_state_follows_its_key_groups_to_any_parallelism() {
    rescales_every_way(StateBackend::rocksdb, false);
}

#[test]
fn incremental_rocksdb_keyed_state_follows_its_key_groups_to_any_parallelism() {
    rescales_every_way(StateBackend::rocksdb, true);
}

#[test]
fn a_changed_max_parallelism_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = checkpointed_run(&tmp.path().join("first"), 2, StateBackend::HashMap, false);
    let mut env = env(&tmp.path().join("second"), 3, StateBackend::HashMap, false);
    env.set_max_parallelism(256);
    env.restore_from_checkpoint(&checkpoint)
        .expect("the checkpoint loads");
    let _out = paced(&env, "numbers", TOTAL, Pace::Eager)
        .key_by(|v| v / PER_KEY)
        .process(Sequence::default())
        .uid("sequence")
        .collect();
    match env.execute() {
        Err(Error::Restore(RestoreError::MaxParallelismChanged { checkpoint, job })) => {
            assert_eq!((checkpoint, job), (128, 256));
        }
        other => panic!("expected MaxParallelismChanged, got {other:?}"),
    }
}

/// A reader with one position per subtask (not a split source) cannot be rescaled: old subtask
/// i's position at new subtask i would lose or repeat input. The restore fails at once, naming
/// the operator and both parallelisms, whatever the restart strategy.
#[test]
fn a_per_subtask_reader_position_is_refused_at_another_parallelism() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = checkpointed_run(&tmp.path().join("first"), 2, StateBackend::HashMap, false);
    let mut env = env(&tmp.path().join("second"), 3, StateBackend::HashMap, false);
    env.restore_from_checkpoint(&checkpoint)
        .expect("the checkpoint loads");
    let _out = paced(&env, "numbers", TOTAL, Pace::Eager)
        .key_by(|v| v / PER_KEY)
        .process(Sequence::default())
        .uid("sequence")
        .collect();
    let err = env
        .execute()
        .expect_err("the rescaled reader must be refused");
    let text = err.to_string();
    assert!(
        text.contains("numbers") && text.contains("parallelism 3") && text.contains("taken at 2"),
        "{text}"
    );
}
