//! A storage audit: after more than a hundred incremental RocksDB checkpoints, some declined,
//! some timed out while their upload ran, some aborted by task failures and restarts, and a
//! cancellation, the job's directory holds exactly the retained checkpoints and the files they
//! refer to: no orphan `chk-<n>`, no orphan shared file, no stray file in a checkpoint, and
//! nothing missing (each retained checkpoint loads with every file checked, and the newest one
//! restores a run that computes on from it). Also: a cancellation during a state write leaves no
//! orphan checkpoint directory.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::checkpoint::restore::load_checkpoint;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::{CheckpointStorage, StateLocation};
use weir::runtime::CheckpointId;
use weir::task::operator::{Operator, StateWriter};
use weir::{
    BoxError, CheckpointFailureReason, CheckpointStatus, ExternalizedCheckpointRetention, Fault,
    FaultInjector, JobError, RestartStrategyConfig, StateBackend, StreamEnvironment, Target,
};

const JOB: &str = "audit";
const TOTAL: u64 = 200_000;
const PER_KEY: u64 = 50;
const RETAINED: u32 = 2;

/// Passes records on; the state write of every fifth checkpoint fails, which declines it.
struct Decliner;

impl Operator<u64, u64> for Decliner {
    fn process_batch(&mut self, input: Vec<u64>, out: &mut Vec<u64>) -> Result<(), BoxError> {
        out.extend(input);
        Ok(())
    }

    fn snapshot_state(&mut self, id: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
        Ok(Some(Box::new(move || match id % 5 {
            0 => Err(format!("checkpoint {id} declined on purpose").into()),
            _ => Ok(Vec::new()),
        })))
    }
}

/// Four failures of the sequence's subtask 1 (one per attempt), and acknowledgements of
/// subtask 0 held back past the checkpoint timeout for a few checkpoints.
fn faults() -> FaultInjector {
    let mut faults = FaultInjector::new();
    for attempt in 0..4 {
        faults = faults.with(Fault::FailAtRecord {
            target: Target {
                uid: "sequence".into(),
                subtask: 1,
                attempt: Some(attempt),
            },
            record: 500,
        });
    }
    for checkpoint in [3, 17, 41, 58, 77, 96, 111] {
        faults = faults.with(Fault::DelayAcknowledgement {
            target: Target {
                uid: "sequence".into(),
                subtask: 0,
                attempt: None,
            },
            checkpoint: Some(checkpoint),
            delay: Duration::from_millis(500),
        });
    }
    faults
}

/// The job: a paced source chained with the decliner, keyed into a per-key sequence on RocksDB
/// with incremental checkpoints every 10 ms into `base`.
fn job(base: &Path, pace: Pace) -> (StreamEnvironment, weir::CollectSink<(u64, u64, u64)>) {
    let mut env = deterministic_env(11);
    env.set_parallelism(2)
        .set_job_id(JOB)
        .set_state_backend(StateBackend::rocksdb())
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(base)
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 10,
            delay: Duration::from_millis(20),
        });
    let cp = env.checkpoint_config_mut();
    cp.incremental = true;
    cp.num_retained = RETAINED;
    cp.timeout = Duration::from_millis(100);
    cp.tolerable_failed_checkpoints = 1_000;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    let out = paced(&env, "numbers", TOTAL, pace)
        .forward()
        .transform("Decline", |_| Ok(Decliner))
        .uid("decliner")
        .key_by(|v| v / PER_KEY)
        .process(Sequence::default())
        .uid("sequence")
        .collect();
    (env, out)
}

/// How many checkpoints failed for each kind of reason.
fn failures(stats: &[weir::CheckpointStats]) -> (usize, usize, usize) {
    let count = |f: fn(&CheckpointFailureReason) -> bool| {
        stats
            .iter()
            .filter(|s| matches!(&s.status, CheckpointStatus::Failed(r) if f(r)))
            .count()
    };
    (
        count(|r| matches!(r, CheckpointFailureReason::Declined { .. })),
        count(|r| matches!(r, CheckpointFailureReason::Expired(_))),
        count(|r| matches!(r, CheckpointFailureReason::TaskFailure)),
    )
}

/// The names in directory `dir`.
fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// Checks that `job_dir` holds exactly `RETAINED` complete checkpoints, each with only its
/// metadata, the state files it records and the RocksDB directories of those, every file
/// reading back as recorded; `shared/` exactly what they refer to; nothing else. Returns the
/// retained ids.
fn audit(job_dir: &Path) -> Vec<CheckpointId> {
    let storage = FileSystemCheckpointStorage::at_job_dir(job_dir);
    let dirs = chk_dirs(job_dir);
    assert!(
        dirs.iter().all(|(_, complete)| *complete),
        "an incomplete checkpoint is left: {dirs:?}"
    );
    let ids: Vec<CheckpointId> = dirs.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), RETAINED as usize, "{ids:?}");
    for &id in &ids {
        let metadata = storage.load(id).expect("metadata loads");
        let mut required = BTreeSet::from(["_metadata".to_owned()]);
        let mut allowed = BTreeSet::new();
        for handle in &metadata.states {
            let StateLocation::File(file) = &handle.location else {
                panic!("state in a file");
            };
            let name = file.path.to_str().expect("UTF-8").to_owned();
            let stem = name.strip_suffix(".state").expect("a state file");
            allowed.insert(format!("{stem}.rocksdb"));
            required.insert(name);
        }
        let found = names(&storage.checkpoint_dir(id));
        let stray: Vec<_> = found
            .difference(&required)
            .filter(|n| !allowed.contains(*n))
            .collect();
        assert!(stray.is_empty(), "checkpoint {id} holds {stray:?}");
        assert!(found.is_superset(&required), "checkpoint {id}: {found:?}");
        load_checkpoint(&storage, id).expect("every file of a retained checkpoint as recorded");
    }
    assert_no_orphan_shared_files(job_dir);
    let mut expected: BTreeSet<String> = ids.iter().map(|id| format!("chk-{id}")).collect();
    expected.insert("shared".to_owned());
    assert_eq!(names(job_dir), expected);
    ids
}

#[test]
fn after_a_hundred_checkpoints_with_declines_aborts_and_failures_storage_holds_exactly_the_retained(
) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut env, _out) = job(tmp.path(), Pace::Every { burst: 5, polls: 1 });
    env.set_fault_injector(faults());
    let client = env.spawn().expect("job starts");
    let mut completed = client.subscribe_checkpoints();
    block_on(completed.wait_for(|s| s.as_ref().is_some_and(|s| s.id >= 130)))
        .expect("checkpoints complete");
    let stats = client.checkpoint_stats();
    let restarts = client.restart_history().len();
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    let (declined, expired, by_failure) = failures(&stats);
    assert!(
        declined >= 10 && expired >= 3 && by_failure >= 1,
        "declined {declined}, expired {expired}, aborted by a failure {by_failure}"
    );
    assert_eq!(restarts, 4);
    let retained = audit(&tmp.path().join(JOB));

    // Nothing missing: the newest retained checkpoint restores a run that computes on from it.
    let (mut second, out) = job(tmp.path(), Pace::Eager);
    let report = second.restore_from_latest(tmp.path()).expect("restores");
    assert_eq!(Some(&report.checkpoint_id), retained.last());
    assert!(report.skipped.is_empty() && report.left_in_place.is_empty());
    second.execute().expect("the restored run finishes");
    let records = out.records();
    for &(key, n, value) in &records {
        assert_eq!((key, n), (value / PER_KEY, value % PER_KEY + 1), "{value}");
    }
    assert!(records.iter().any(|r| r.2 == TOTAL - 1));
}

/// Deterministic, job id `audit`, one subtask per operator, checkpoints kept on cancellation.
fn single_env() -> StreamEnvironment {
    let mut env = deterministic_env(3);
    env.set_parallelism(1).set_job_id(JOB);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = RETAINED;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// Passes records on; its state write for checkpoint 2 blocks until the gate opens.
struct StallingWriter(Arc<Gate>);

impl Operator<u64, u64> for StallingWriter {
    fn process_batch(&mut self, input: Vec<u64>, out: &mut Vec<u64>) -> Result<(), BoxError> {
        out.extend(input);
        Ok(())
    }

    fn snapshot_state(&mut self, id: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
        let gate = self.0.clone();
        Ok(Some(Box::new(move || {
            if id == 2 {
                gate.enter_and_wait();
            }
            Ok(vec![1, 2, 3])
        })))
    }
}

#[test]
fn cancelling_during_a_state_write_leaves_no_orphan_checkpoint_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let mut env = single_env();
    env.enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(tmp.path());
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    paced(
        &env,
        "numbers",
        u64::MAX,
        Pace::Every { burst: 1, polls: 1 },
    )
    .rebalance()
    .transform("Stall", move |_| Ok(StallingWriter(g.clone())))
    .uid("stall")
    .discard();
    let client = spawn_running(&env);
    assert_eq!(trigger(&client).map(|s| s.id), Ok(1));
    std::thread::scope(|scope| {
        let second = scope.spawn(|| trigger(&client));
        gate.wait_entered();
        client.cancel();
        // The pending checkpoint is aborted (and its directory discarded) by the cancellation.
        assert_eq!(
            second.join().unwrap(),
            Err(CheckpointFailureReason::JobTerminating)
        );
    });
    gate.open();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    assert_eq!(chk_dirs(&tmp.path().join(JOB)), [(1, true)]);
}
