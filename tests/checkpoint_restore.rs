//! Restoring and starting a job against what is on disk: a damaged, missing or misplaced state
//! file (or shared file) of the newest checkpoint makes `restore_from_latest` fall back to the
//! previous complete checkpoint and say which file and why; a missing job directory and a job
//! directory without a checkpoint are different errors; what cannot be read is reported and left
//! in place; a checkpoint directory that cannot be written or listed stops the job before it
//! starts; a run restored from an older checkpoint leaves the later ones intact.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::checkpoint::startup::StorageStartError;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, LatestCheckpoint, StateHandle, StateLocation,
    StorageError,
};
use weir::runtime::CheckpointId;
use weir::{
    CheckpointFailureReason, Error, ExternalizedCheckpointRetention, JobError, RestoreError,
    StateBackend, StreamEnvironment,
};

const JOB: &str = "restore";
const TOTAL: u64 = 20_000;
const PER_KEY: u64 = 50;

/// Deterministic, job id `restore`, the `retained` newest checkpoints kept even on
/// cancellation.
fn env(retained: u32) -> StreamEnvironment {
    let mut env = deterministic_env(5);
    env.set_parallelism(2).set_job_id(JOB);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = retained;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// `0..TOTAL` keyed by `value / 50` into a per-key sequence, counted into `progress`.
fn sequence_job(
    env: &StreamEnvironment,
    pace: Pace,
    progress: &Progress,
) -> weir::CollectSink<(u64, u64, u64)> {
    paced(env, "numbers", TOTAL, pace)
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .collect()
}

/// A first run under `base` that completes checkpoints 1 to 3 (records flowing between them)
/// and is cancelled, its checkpoints retained.
fn first_run(base: &Path, mut env: StreamEnvironment) {
    env.enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    let progress = Progress::default();
    let _out = sequence_job(&env, Pace::Every { burst: 1, polls: 1 }, &progress);
    let client = spawn_running(&env);
    for id in 1..=3 {
        // Records after the previous checkpoint's barrier: each checkpoint has new state.
        progress.wait_for(progress.count() + 300);
        assert_eq!(trigger(&client).map(|s| s.id), Ok(id));
    }
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
}

fn job_dir(base: &Path) -> PathBuf {
    base.join(JOB)
}

fn state_file(base: &Path, id: CheckpointId, uid: &str, subtask: u32) -> PathBuf {
    job_dir(base)
        .join(format!("chk-{id}"))
        .join(FileSystemCheckpointStorage::state_file_name(uid, subtask))
}

/// One way to damage a state file of checkpoint 3, and the error it must cause.
struct Damage {
    name: &'static str,
    apply: fn(&Path),
    detected: fn(&StorageError) -> bool,
}

const DAMAGES: [Damage; 5] = [
    Damage {
        name: "a flipped byte",
        apply: |base| {
            let path = state_file(base, 3, "sequence", 0);
            let mut bytes = fs::read(&path).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x10;
            fs::write(path, bytes).unwrap();
        },
        detected: |e| matches!(e, StorageError::Corrupt { .. }),
    },
    Damage {
        name: "truncated",
        apply: |base| {
            let path = state_file(base, 3, "sequence", 0);
            let bytes = fs::read(&path).unwrap();
            fs::write(path, &bytes[..bytes.len() - 9]).unwrap();
        },
        detected: |e| matches!(e, StorageError::Truncated { .. }),
    },
    Damage {
        name: "missing",
        apply: |base| fs::remove_file(state_file(base, 3, "sequence", 0)).unwrap(),
        detected: |e| matches!(e, StorageError::NotFound { .. }),
    },
    Damage {
        name: "another subtask's",
        apply: |base| {
            let other = state_file(base, 3, "sequence", 1);
            fs::copy(other, state_file(base, 3, "sequence", 0)).unwrap();
        },
        detected: |e| matches!(e, StorageError::IdentityMismatch { found, .. } if found.checkpoint_id() == 3),
    },
    Damage {
        name: "an earlier checkpoint's",
        apply: |base| {
            let earlier = state_file(base, 2, "sequence", 0);
            fs::copy(earlier, state_file(base, 3, "sequence", 0)).unwrap();
        },
        detected: |e| matches!(e, StorageError::IdentityMismatch { found, .. } if found.checkpoint_id() == 2),
    },
];

/// Every record of a run restored from a checkpoint continues its key's sequence: the restored
/// state is each key's own, and the run reads the source to its end.
fn assert_continues_every_sequence(records: &[(u64, u64, u64)]) {
    assert!(!records.is_empty());
    for &(key, n, value) in records {
        assert_eq!((key, n), (value / PER_KEY, value % PER_KEY + 1), "{value}");
    }
    assert!(records.iter().any(|r| r.2 == TOTAL - 1));
}

#[test]
fn a_damaged_missing_or_misplaced_state_file_of_the_newest_checkpoint_falls_back_to_the_previous() {
    let tmp = tempfile::tempdir().unwrap();
    first_run(tmp.path(), env(2));
    let damaged = state_file(tmp.path(), 3, "sequence", 0);
    let intact = fs::read(&damaged).unwrap();
    for damage in &DAMAGES {
        (damage.apply)(tmp.path());
        let mut second = env(2);
        let report = second.restore_from_latest(tmp.path()).expect(damage.name);
        assert_eq!(report.checkpoint_id, 2, "{}", damage.name);
        assert_eq!(
            report.skipped.len(),
            1,
            "{}: {:?}",
            damage.name,
            report.skipped
        );
        let error = &report.skipped[0];
        assert!((damage.detected)(error), "{}: {error}", damage.name);
        assert_eq!(error.path(), damaged, "{}", damage.name);
        assert!(error.to_string().contains(&damaged.display().to_string()));
        fs::write(&damaged, &intact).unwrap();
    }
    // The restored run computes from checkpoint 2's state, each subtask its own.
    (DAMAGES[3].apply)(tmp.path());
    let mut second = env(2);
    second
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(tmp.path());
    assert_eq!(
        second
            .restore_from_latest(tmp.path())
            .unwrap()
            .checkpoint_id,
        2
    );
    let out = sequence_job(&second, Pace::Eager, &Progress::default());
    second.execute().expect("the restored run finishes");
    assert_continues_every_sequence(&out.records());
}

#[test]
fn a_missing_shared_file_of_the_newest_incremental_checkpoint_falls_back_to_the_previous() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = env(2);
    first.set_state_backend(StateBackend::rocksdb());
    first.checkpoint_config_mut().incremental = true;
    first_run(tmp.path(), first);
    let storage = FileSystemCheckpointStorage::new(tmp.path(), JOB);
    let newest = storage.load(3).unwrap();
    let uploaded: Vec<_> = newest
        .states
        .iter()
        .flat_map(|s| &s.shared)
        .filter(|f| f.uploaded)
        .collect();
    assert!(!uploaded.is_empty(), "checkpoint 3 uploaded no shared file");
    let lost = job_dir(tmp.path()).join(&uploaded[0].path);
    fs::remove_file(&lost).unwrap();
    let mut second = env(2);
    second.set_state_backend(StateBackend::rocksdb());
    let report = second.restore_from_latest(tmp.path()).unwrap();
    assert_eq!(report.checkpoint_id, 2);
    assert_eq!(report.skipped, [StorageError::NotFound { path: lost }]);
}

#[test]
fn restore_from_latest_tells_a_missing_job_directory_from_one_without_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("other-job")).unwrap();
    let error = env(1).restore_from_latest(tmp.path()).unwrap_err();
    match error {
        Error::Restore(RestoreError::JobDirectoryNotFound {
            ref dir,
            ref job_id,
            ref existing_jobs,
        }) => {
            assert_eq!((dir, job_id.as_str()), (&job_dir(tmp.path()), JOB));
            assert_eq!(existing_jobs, &["other-job"]);
            assert!(error.to_string().contains("other-job"), "{error}");
        }
        other => panic!("expected JobDirectoryNotFound, got {other}"),
    }
    // A run that failed before its first checkpoint leaves the job's directory, empty.
    let mut failing = env(1);
    failing
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(tmp.path());
    failing.set_fault_injector(weir::FaultInjector::new().with(weir::Fault::FailAtRecord {
        target: weir::Target::first_attempt("sequence", 0),
        record: 10,
    }));
    let _out = sequence_job(&failing, Pace::Eager, &Progress::default());
    assert!(failing.execute().is_err());
    match env(1).restore_from_latest(tmp.path()) {
        Err(Error::Restore(RestoreError::NoCompleteCheckpoint { dir, skipped })) => {
            assert_eq!(dir, job_dir(tmp.path()));
            assert!(skipped.is_empty(), "{skipped:?}");
        }
        other => panic!("expected NoCompleteCheckpoint, got {other:?}"),
    }
}

#[test]
fn a_checkpoint_that_cannot_be_read_is_reported_and_left_in_place_by_the_restored_run() {
    let tmp = tempfile::tempdir().unwrap();
    first_run(tmp.path(), env(3));
    // Checkpoint 1 now looks like a newer weir's: this build cannot read it.
    let oldest = job_dir(tmp.path()).join("chk-1").join("_metadata");
    let mut bytes = fs::read(&oldest).unwrap();
    bytes[8..10].copy_from_slice(&9u16.to_le_bytes());
    fs::write(&oldest, &bytes).unwrap();
    let mut second = env(3);
    second
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(tmp.path());
    let report = second.restore_from_latest(tmp.path()).unwrap();
    assert_eq!(report.checkpoint_id, 3);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert!(
        matches!(&report.left_in_place[..], [StorageError::UnsupportedVersion { path, version: 9, .. }] if *path == oldest),
        "{:?}",
        report.left_in_place
    );
    let out = sequence_job(&second, Pace::Eager, &Progress::default());
    second.execute().expect("the restored run finishes");
    assert_continues_every_sequence(&out.records());
    assert_eq!(
        fs::read(&oldest).unwrap(),
        bytes,
        "checkpoint 1 was touched"
    );
}

#[test]
fn a_checkpoint_directory_that_cannot_be_written_stops_the_job_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    fs::write(&file, b"not a directory").unwrap();
    let mut env = env(1);
    env.enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(file.join("checkpoints"));
    let _out = sequence_job(&env, Pace::Eager, &Progress::default());
    for result in [env.spawn().map(drop), env.execute().map(drop)] {
        match result {
            Err(Error::Storage(StorageStartError::NotWritable { location, source })) => {
                assert!(location.contains("a-file"), "{location}");
                assert!(
                    matches!(&source, StorageError::Io { path, .. } if path.starts_with(&file)),
                    "{source}"
                );
            }
            other => panic!("the job started: {other:?}"),
        }
    }
}

/// File-system storage whose listing fails, as a directory that cannot be read would.
struct Unlistable(FileSystemCheckpointStorage);

impl CheckpointStorage for Unlistable {
    fn write_state(
        &self,
        id: CheckpointId,
        uid: &str,
        subtask: u32,
        bytes: &[u8],
    ) -> Result<StateLocation, StorageError> {
        self.0.write_state(id, uid, subtask, bytes)
    }
    fn read_state(&self, id: CheckpointId, at: &StateHandle) -> Result<Vec<u8>, StorageError> {
        self.0.read_state(id, at)
    }
    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        self.0.write_metadata(metadata)
    }
    fn discard(&self, id: CheckpointId) -> Result<(), StorageError> {
        self.0.discard(id)
    }
    fn load(&self, id: CheckpointId) -> Result<CheckpointMetadata, StorageError> {
        self.0.load(id)
    }
    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError> {
        self.0.latest_complete()
    }
    fn list(&self) -> Result<Vec<CheckpointId>, StorageError> {
        Err(StorageError::Io {
            operation: "list",
            path: self.0.job_dir().to_path_buf(),
            reason: "Input/output error".into(),
        })
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

#[test]
fn a_checkpoint_directory_that_cannot_be_listed_stops_the_job_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    first_run(tmp.path(), env(2));
    let first_runs = fs::read(job_dir(tmp.path()).join("chk-3").join("_metadata")).unwrap();
    let start = |env: &mut StreamEnvironment| {
        env.enable_checkpointing(Duration::from_millis(10));
        let _out = sequence_job(env, Pace::Eager, &Progress::default());
        env.spawn().map(drop)
    };
    // A listing that fails outright, and an entry whose kind cannot be found out.
    let mut unlistable = env(2);
    let storage = FileSystemCheckpointStorage::new(tmp.path(), JOB);
    unlistable.set_checkpoint_storage(Arc::new(Unlistable(storage)));
    let looping = job_dir(tmp.path()).join("chk-9");
    let mut looped = env(2);
    looped.set_checkpoint_dir(tmp.path());
    for (mut env, failing) in [(unlistable, job_dir(tmp.path())), (looped, looping.clone())] {
        if failing == looping {
            std::os::unix::fs::symlink(&looping, &looping).unwrap();
        }
        match start(&mut env) {
            Err(Error::Storage(StorageStartError::CannotList { source, .. })) => {
                assert_eq!(source.path(), failing, "{source}");
            }
            other => panic!("the job started though ids could collide: {other:?}"),
        }
    }
    let now = fs::read(job_dir(tmp.path()).join("chk-3").join("_metadata")).unwrap();
    assert!(
        now == first_runs,
        "an earlier run's checkpoint was overwritten"
    );
}

#[test]
fn a_checkpoint_directory_lost_mid_run_declines_naming_the_operator_and_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut env = env(1);
    env.enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(tmp.path());
    let _out = sequence_job(
        &env,
        Pace::Every { burst: 1, polls: 1 },
        &Progress::default(),
    );
    let client = spawn_running(&env);
    assert_eq!(trigger(&client).map(|s| s.id), Ok(1));
    let dir = job_dir(tmp.path());
    fs::remove_dir_all(&dir).unwrap();
    fs::write(&dir, b"a file where the job's directory was").unwrap();
    match trigger(&client) {
        Err(CheckpointFailureReason::Declined { subtask, cause }) => {
            let named = subtask.to_string();
            let uids = ["(uid numbers)", "(uid sequence)"];
            assert!(uids.iter().any(|u| named.contains(u)), "{named}");
            let reason = cause.to_string();
            assert!(reason.contains(&dir.display().to_string()), "{reason}");
        }
        other => panic!("expected a decline, got {other:?}"),
    }
    client.cancel();
    let _ = finish(client);
}

/// Restores the older checkpoint of a first run and runs to the end: the later ones stay.
#[test]
fn restoring_an_older_checkpoint_leaves_the_first_runs_later_checkpoints_intact() {
    let tmp = tempfile::tempdir().unwrap();
    first_run(tmp.path(), env(3));
    let metadata = |id: u64| {
        job_dir(tmp.path())
            .join(format!("chk-{id}"))
            .join("_metadata")
    };
    let later: Vec<Vec<u8>> = [2, 3].map(|id| fs::read(metadata(id)).unwrap()).into();
    let mut second = env(2);
    second
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(tmp.path());
    second
        .restore_from_checkpoint(job_dir(tmp.path()).join("chk-1"))
        .expect("checkpoint 1 loads");
    let _out = sequence_job(&second, Pace::Eager, &Progress::default());
    second.execute().expect("the restored run finishes");
    for (id, bytes) in [2, 3].into_iter().zip(later) {
        let now = fs::read(metadata(id)).ok();
        assert!(
            now == Some(bytes),
            "checkpoint {id} of the first run was replaced"
        );
    }
}
