//! Incremental RocksDB checkpoints across two rescales, in one job directory: a run at
//! parallelism 2 takes incremental checkpoints and stops with a savepoint; a run restored from
//! it at 4 takes six checkpoints with one retained and is cancelled; a run restored from that
//! run's latest checkpoint at 1 reads on and finishes. Its per-key counts equal those of one
//! run at 2 over the same input, without any restore. After every step the job's `shared/`
//! directory holds exactly the files its complete checkpoints refer to (none orphaned, none
//! missing), and the savepoint and the checkpoint the last run restored from are byte for byte
//! what they were (`NO_CLAIM`: a restored run never changes or deletes what it restored from).

mod common;

use common::phased::{phased, Phases};
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir::{
    CollectSink, ExternalizedCheckpointRetention, JobClient, JobError, StateBackend,
    StreamEnvironment,
};

const JOB: &str = "rescale-incremental-shared";
const KEYS: u64 = 64;
/// Records per phase: 10 per key.
const PHASE: u64 = 10 * KEYS;
/// Phases of the first run (a checkpoint after each but the last, then the savepoint), of the
/// second (a checkpoint after each) and of the third.
const FIRST: usize = 4;
const SECOND: usize = 6;
const THIRD: usize = 1;

/// Phase `i` of the input: values `i * PHASE..(i + 1) * PHASE`, keyed by `value % KEYS`.
fn phase(i: usize) -> Vec<u64> {
    let start = i as u64 * PHASE;
    (start..start + PHASE).collect()
}

/// Phases `from..to` of the input.
fn phases(from: usize, to: usize) -> Vec<Vec<u64>> {
    (from..to).map(phase).collect()
}

/// Deterministic at `parallelism`, RocksDB with incremental checkpoints into `base` (one
/// retained, kept on cancellation).
fn env(base: &Path, parallelism: u32) -> StreamEnvironment {
    let mut env = deterministic_env(21);
    env.set_parallelism(parallelism)
        .set_job_id(JOB)
        .set_state_backend(StateBackend::rocksdb())
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    let cp = env.checkpoint_config_mut();
    cp.incremental = true;
    cp.num_retained = 1;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// The job: `script` from source `source`, a per-key [`Sequence`] (uid `sequence`) counting
/// into `progress`, its output collected.
fn job(
    env: &StreamEnvironment,
    source: &str,
    script: &Arc<Phases<u64>>,
    progress: &Progress,
) -> CollectSink<(u64, u64, u64)> {
    phased(env, source, script)
        .key_by(|v| v % KEYS)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .collect()
}

/// Each key's count: the highest sequence number `output` holds for it.
fn counts(output: &[(u64, u64, u64)]) -> BTreeMap<u64, u64> {
    let mut counts = BTreeMap::new();
    for &(key, n, _) in output {
        let count = counts.entry(key).or_insert(0);
        *count = n.max(*count);
    }
    counts
}

/// Every file under `dir` with its bytes (none if `dir` does not exist).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), fs::read(&path).expect("reads"));
        }
    }
    out
}

/// Releases the next phase of `script`, waits until the job processed it, and takes a
/// checkpoint; returns its id.
fn phase_then_checkpoint(client: &JobClient, script: &Phases<u64>, progress: &Progress) -> u64 {
    let released = script.release_next();
    progress.wait_for(released as u64);
    trigger(client).expect("the checkpoint completes").id
}

/// How many files the job's `shared/` directory holds.
fn shared_files(job_dir: &Path) -> usize {
    fs::read_dir(job_dir.join("shared")).map_or(0, |d| d.count())
}

/// The savepoint a run at 2 stops with, after three incremental checkpoints.
fn first_run(base: &Path, savepoints: &Path) -> PathBuf {
    let job_dir = base.join(JOB);
    let env = env(base, 2);
    let (script, progress) = (Phases::new(phases(0, FIRST)), Progress::default());
    let _out = job(&env, "numbers-1", &script, &progress);
    let client = spawn_running(&env);
    for _ in 1..FIRST {
        phase_then_checkpoint(&client, &script, &progress);
        assert_no_orphan_shared_files(&job_dir);
        assert!(
            shared_files(&job_dir) > 0,
            "incremental checkpoints share files"
        );
    }
    let released = script.release_next();
    progress.wait_for(released as u64);
    let savepoint = block_on(client.stop_with_savepoint(savepoints)).expect("the savepoint");
    finish(client).0.expect("the stopped job ends Finished");
    // A finished job deletes its checkpoints and the shared files they used.
    assert_no_orphan_shared_files(&job_dir);
    savepoint.path
}

/// A run at 4 restored from `savepoint`: six checkpoints with one retained, then cancelled.
/// Returns its last checkpoint's directory.
fn second_run(base: &Path, savepoint: &Path, saved: &BTreeMap<PathBuf, Vec<u8>>) -> PathBuf {
    let job_dir = base.join(JOB);
    let mut env = env(base, 4);
    env.set_allow_non_restored_state(true); // the first run's source positions
    env.restore_from_savepoint(savepoint).expect("restores");
    let (script, progress) = (
        Phases::new(phases(FIRST, FIRST + SECOND)),
        Progress::default(),
    );
    let _out = job(&env, "numbers-2", &script, &progress);
    let client = spawn_running(&env);
    let mut ids = Vec::new();
    for _ in 0..SECOND {
        ids.push(phase_then_checkpoint(&client, &script, &progress));
        assert_no_orphan_shared_files(&job_dir);
        assert_eq!(&files(savepoint), saved, "the savepoint changed");
    }
    let last = ids[SECOND - 1];
    assert_eq!(
        chk_dirs(&job_dir),
        [(last, true)],
        "one checkpoint retained"
    );
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    assert_no_orphan_shared_files(&job_dir);
    job_dir.join(format!("chk-{last}"))
}

/// A run at 1 restored from `checkpoint`: one more phase, two checkpoints, then the end of
/// its input. Returns each key's count.
fn third_run(base: &Path, checkpoint: &Path) -> BTreeMap<u64, u64> {
    let job_dir = base.join(JOB);
    let mut env = env(base, 1);
    env.set_allow_non_restored_state(true); // the second run's source positions
    env.restore_from_checkpoint(checkpoint)
        .expect("the checkpoint loads");
    let first = FIRST + SECOND;
    let (script, progress) = (
        Phases::new(phases(first, first + THIRD)),
        Progress::default(),
    );
    let out = job(&env, "numbers-3", &script, &progress);
    let client = spawn_running(&env);
    phase_then_checkpoint(&client, &script, &progress);
    assert_no_orphan_shared_files(&job_dir);
    trigger(&client).expect("the checkpoint completes");
    assert_no_orphan_shared_files(&job_dir);
    script.end();
    finish(client).0.expect("the job finishes");
    assert_no_orphan_shared_files(&job_dir);
    counts(&out.records())
}

/// The same input, in one run at 2 without any restore: each key's count.
fn unrescaled_counts(base: &Path) -> BTreeMap<u64, u64> {
    let env = env(base, 2);
    let script = Phases::all(phases(0, FIRST + SECOND + THIRD));
    let out = job(&env, "numbers", &script, &Progress::default());
    env.execute().expect("the run finishes");
    counts(&out.records())
}

#[test]
fn shared_files_stay_exact_and_restored_files_untouched_across_two_rescales() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("checkpoints");
    let savepoint = first_run(&base, &tmp.path().join("savepoints"));
    let saved = files(&savepoint);
    assert!(!saved.is_empty(), "the savepoint holds files");

    let checkpoint = second_run(&base, &savepoint, &saved);
    assert_eq!(files(&savepoint), saved, "the savepoint changed");
    // The checkpoint the third run restores from, with the shared files it refers to.
    let restored_from = |dir: &Path| {
        let mut all = files(dir);
        all.extend(files(&base.join(JOB).join("shared")));
        all
    };
    let retained = restored_from(&checkpoint);

    let counts = third_run(&base, &checkpoint);
    assert_eq!(files(&savepoint), saved, "the savepoint changed");
    assert_eq!(
        restored_from(&checkpoint),
        retained,
        "the checkpoint the last run restored from changed"
    );

    let expected = unrescaled_counts(&tmp.path().join("reference"));
    assert_eq!(expected.len() as u64, KEYS);
    assert!(expected
        .values()
        .all(|&n| n == 10 * (FIRST + SECOND + THIRD) as u64));
    assert_eq!(counts, expected, "per-key counts after 2 → 4 → 1");
}
