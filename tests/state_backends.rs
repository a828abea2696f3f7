//! The RocksDB state backend in jobs: the same results as the hashmap backend, incremental
//! checkpoints that leave no orphan shared file, and checkpoints of either backend restored
//! by the other.

mod common;

use common::{
    assert_no_orphan_shared_files, chk_dirs, deterministic_env, finish, paced, Pace, Sequence,
};
use std::path::Path;
use std::time::Duration;
use weir::{
    CheckpointStatus, ExternalizedCheckpointRetention, Fault, FaultInjector, JobError,
    StateBackend, StreamEnvironment, Target,
};

const JOB: &str = "backends";

/// A deterministic job (seed 7): a paced source of `0..total` keyed by `x % 1000` into a
/// per-key sequence, with `backend` and 10 ms checkpoints into `dir`, retaining `retained`.
fn job(
    dir: &Path,
    backend: StateBackend,
    total: u64,
    retained: u32,
) -> (StreamEnvironment, weir::CollectSink<(u64, u64, u64)>) {
    let mut env = deterministic_env(7);
    env.set_parallelism(2)
        .set_job_id(JOB)
        .set_state_backend(backend)
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(dir);
    let cp = env.checkpoint_config_mut();
    cp.incremental = true;
    cp.num_retained = retained;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    let out = paced(
        &env,
        "numbers",
        total,
        Pace::Every {
            burst: 50,
            polls: 1,
        },
    )
    .key_by(|x| x % 1000)
    .process(Sequence::default())
    .uid("sequence")
    .collect();
    (env, out)
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn rocksdb_and_hashmap_jobs_compute_the_same_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (env, heap) = job(&dir.path().join("heap"), StateBackend::HashMap, 20_000, 1);
    env.execute().expect("hashmap run");
    let (env, rocks) = job(
        &dir.path().join("rocks"),
        StateBackend::rocksdb(),
        20_000,
        1,
    );
    env.execute().expect("rocksdb run");
    let heap = sorted(heap.records());
    assert_eq!(heap.len(), 20_000);
    assert_eq!(sorted(rocks.records()), heap);
}

#[test]
fn after_many_incremental_checkpoints_shared_holds_only_what_the_two_retained_ones_need() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut env, _out) = job(dir.path(), StateBackend::rocksdb(), 60_000, 2);
    // Fail near the end, without restart: the retained checkpoints stay on disk.
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("sequence", 0),
        record: 29_000,
    }));
    let (result, stats) = finish(env.spawn().expect("job starts"));
    assert!(matches!(result, Err(JobError::TaskFailed(_))), "{result:?}");
    let completed = stats
        .iter()
        .filter(|s| s.status == CheckpointStatus::Completed)
        .count();
    assert!(completed >= 20, "only {completed} checkpoints completed");
    let job_dir = dir.path().join(JOB);
    let complete: Vec<u64> = chk_dirs(&job_dir)
        .into_iter()
        .filter(|(_, complete)| *complete)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(complete.len(), 2, "retained checkpoints: {complete:?}");
    assert_no_orphan_shared_files(&job_dir);
    let shared = std::fs::read_dir(job_dir.join("shared"))
        .expect("shared/")
        .count();
    assert!(shared > 0, "incremental checkpoints wrote no shared file");
}

/// What a job with `restored_by` emits after restoring the latest checkpoint a job with
/// `written_by` left when it failed at record 9 000.
fn cross_restored_output(
    written_by: StateBackend,
    restored_by: StateBackend,
) -> Vec<(u64, u64, u64)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut env, _) = job(dir.path(), written_by, 20_000, 1);
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("sequence", 0),
        record: 9_000,
    }));
    assert!(
        env.execute().is_err(),
        "the injected failure ends the first run"
    );
    let (mut env, out) = job(dir.path(), restored_by, 20_000, 1);
    env.restore_from_latest(dir.path())
        .expect("a checkpoint completed");
    env.execute().expect("the restored run finishes");
    out.records()
}

#[test]
fn a_checkpoint_of_either_backend_restores_into_the_other() {
    for (written, restored) in [
        (StateBackend::rocksdb(), StateBackend::HashMap),
        (StateBackend::HashMap, StateBackend::rocksdb()),
    ] {
        let what = format!("{} → {}", written.name(), restored.name());
        let full = tempfile::tempdir().expect("temp dir");
        let (env, out) = job(full.path(), restored.clone(), 20_000, 1);
        env.execute().expect("the failure-free run finishes");
        let failure_free: std::collections::HashSet<_> = out.records().into_iter().collect();
        let resumed = cross_restored_output(written, restored);
        assert!(
            resumed.len() < failure_free.len(),
            "{what}: nothing was restored"
        );
        // Each key's sequence goes on from its restored number: every record is the one the
        // failure-free run emitted for that value, up to each key's last.
        for record in &resumed {
            assert!(failure_free.contains(record), "{what}: {record:?}");
        }
        let last = |records: &mut dyn Iterator<Item = (u64, u64, u64)>| {
            let mut last = std::collections::BTreeMap::new();
            for (key, n, _) in records {
                let entry = last.entry(key).or_insert(0);
                *entry = n.max(*entry);
            }
            last
        };
        let expected = last(&mut failure_free.iter().copied());
        assert_eq!(last(&mut resumed.into_iter()), expected, "{what}");
    }
}

#[test]
fn incremental_checkpoints_without_a_checkpoint_directory_are_refused_before_the_job_runs() {
    let mut env = StreamEnvironment::new();
    env.set_state_backend(StateBackend::rocksdb())
        .enable_checkpointing(Duration::from_millis(10));
    env.checkpoint_config_mut().incremental = true;
    env.generate_sequence(0, 10)
        .key_by(|x| x % 2)
        .reduce(|a, b| a + b)
        .discard();
    let error = env.execute().expect_err("refused").to_string();
    assert!(error.contains("checkpoint directory"), "{error}");
}

/// Counts records per key in a value state with time-to-live `ttl`.
#[derive(Clone)]
struct CountWithTtl {
    ttl: Duration,
    count: weir::ValueState<u64>,
}

impl weir::KeyedProcessFunction<u64, u64, u64> for CountWithTtl {
    fn open(&mut self, ctx: &mut weir::RuntimeContext<'_, u64>) -> Result<(), weir::BoxError> {
        self.count = ctx
            .with_ttl(weir::StateTtlConfig::new(self.ttl))
            .value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut weir::KeyedContext<'_, u64>,
        out: &mut Vec<u64>,
    ) -> Result<(), weir::BoxError> {
        out.push(*self.count.modify(ctx, || 0, |c| *c += 1));
        Ok(())
    }
}

/// The counts of 100 records of one key, 10 ms apart on the job clock, with time-to-live `ttl`.
fn counts_with_ttl(backend: StateBackend, ttl: Duration) -> Vec<u64> {
    let mut env = deterministic_env(3);
    env.set_parallelism(1).set_state_backend(backend);
    let out = paced(
        &env,
        "numbers",
        100,
        Pace::Every {
            burst: 1,
            polls: 10,
        },
    )
    .key_by(|_| 0u64)
    .process(CountWithTtl {
        ttl,
        count: Default::default(),
    })
    .collect();
    env.execute().expect("job runs");
    out.records()
}

#[test]
fn state_time_to_live_runs_on_the_job_clock_with_both_backends() {
    for backend in [StateBackend::HashMap, StateBackend::rocksdb()] {
        let kept = counts_with_ttl(backend.clone(), Duration::from_millis(25));
        assert_eq!(
            kept,
            (1..=100).collect::<Vec<_>>(),
            "{}: 25 ms outlives 10 ms gaps",
            backend.name()
        );
        let expired = counts_with_ttl(backend.clone(), Duration::from_millis(5));
        assert_eq!(
            expired,
            vec![1; 100],
            "{}: 5 ms expires between records",
            backend.name()
        );
    }
}

#[test]
fn flink_keys_choose_the_backend_and_incremental_checkpoints() {
    let mut conf = weir::Configuration::new();
    conf.set("state.backend.type", "rocksdb")
        .expect("known key");
    conf.set("execution.checkpointing.incremental", "true")
        .expect("known key");
    let env = StreamEnvironment::from_configuration(&conf).expect("valid");
    assert_eq!(env.state_backend().name(), "rocksdb");
    assert!(env.checkpoint_config().incremental);
    conf.set("state.backend.type", "hashmap")
        .expect("known key");
    let env = StreamEnvironment::from_configuration(&conf).expect("valid");
    assert_eq!(env.state_backend(), &StateBackend::HashMap);
    let error = conf
        .set("state.backend.type", "heap")
        .expect_err("an unknown backend is refused")
        .to_string();
    assert!(error.contains("state.backend.type"), "{error}");
}

/// The id of a process that has ended (a child that exited and was waited for).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

#[test]
fn a_rocksdb_job_removes_working_directories_its_dead_predecessors_left() {
    let local = tempfile::tempdir().expect("temp dir");
    let stale = local.path().join("sequence-0-4242-0");
    std::fs::create_dir_all(stale.join("db-0")).expect("mkdir");
    std::fs::write(stale.join("weir-owner.pid"), format!("{}\n", dead_pid())).expect("owner");
    let unowned = local.path().join("notes-1-2");
    std::fs::create_dir_all(&unowned).expect("mkdir");
    let mut env = deterministic_env(5);
    env.set_parallelism(1)
        .set_state_backend(weir::RocksDbStateBackend::default().local_dir(local.path()));
    let out = paced(&env, "numbers", 100, Pace::Eager)
        .key_by(|x| x % 10)
        .process(Sequence::default())
        .uid("sequence")
        .collect();
    env.execute().expect("job runs");
    assert_eq!(out.records().len(), 100);
    assert!(!stale.exists(), "the dead process's directory is removed");
    assert!(
        unowned.exists(),
        "a directory without an owner file is left alone"
    );
}

/// A job whose keyed operator has a generated uid, with `extra` maps before it (which move that
/// uid); it fails at record `fail_at` when given.
fn generated_uid_job(dir: &Path, extra: usize, fail_at: Option<u64>) -> StreamEnvironment {
    let mut env = deterministic_env(9);
    env.set_parallelism(1)
        .set_job_id("generated")
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(dir);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    let mut stream = paced(
        &env,
        "numbers",
        5_000,
        Pace::Every {
            burst: 50,
            polls: 1,
        },
    )
    .map(move |x| {
        assert!(Some(x) != fail_at, "injected failure at {x}");
        x
    });
    for _ in 0..extra {
        stream = stream.map(|x| x).name("Extra");
    }
    stream
        .key_by(|x| x % 10)
        .process(Sequence::default())
        .discard();
    env
}

#[test]
fn state_of_a_generated_uid_that_no_longer_matches_says_to_set_a_uid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = generated_uid_job(dir.path(), 0, Some(4_000));
    assert!(
        first.execute().is_err(),
        "the injected failure ends the first run"
    );
    let mut second = generated_uid_job(dir.path(), 1, None);
    second
        .restore_from_latest(dir.path())
        .expect("a checkpoint completed");
    match second.execute() {
        Err(weir::Error::Restore(weir::RestoreError::UnknownOperatorState { uid })) => {
            assert!(uid.starts_with("auto-"), "{uid}");
        }
        other => panic!("expected unknown operator state, got {other:?}"),
    }
    let message = second.execute().expect_err("refused").to_string();
    assert!(message.contains(".uid("), "{message}");
}
