//! Every checkpoint setting, observed on running jobs in deterministic mode (one arbiter, a paused
//! tokio clock that jumps to the next timer): trigger times, durations and statuses come from
//! `checkpoint_stats()` in virtual time, so the assertions are exact.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::stats::SubtaskCheckpointStats;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, LatestCheckpoint, StateHandle,
    StateLocation as Location, StorageError,
};
use weir::runtime::CheckpointId;
use weir::{
    CheckpointFailureReason as Reason, CheckpointStats, CheckpointStatus, DeclineCause,
    ExternalizedCheckpointRetention as Retention, FaultInjector, JobError, JobStatus,
    StreamEnvironment,
};

const JOB: &str = "cfg";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Parallelism 1, deterministic, checkpoints every `interval`.
fn env(interval: Duration) -> StreamEnvironment {
    let mut env = deterministic_env(11);
    env.set_parallelism(1)
        .set_job_id(JOB)
        .enable_checkpointing(interval);
    env
}

/// One record per millisecond of virtual time, `total` of them, counted per key.
fn counting_job(env: &StreamEnvironment, total: u64) {
    paced(env, "src", total, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v % 16)
        .process(Sequence::default())
        .uid("count")
        .discard();
}

/// Checkpoints `ids` are acknowledged long after a 20 ms timeout.
fn expiring(ids: &[CheckpointId]) -> FaultInjector {
    ids.iter().fold(FaultInjector::new(), |f, id| {
        f.with(slow_ack("src", Some(*id), ms(500)))
    })
}

fn run(env: &StreamEnvironment) -> (Result<weir::JobResult, JobError>, Vec<CheckpointStats>) {
    finish(env.spawn().expect("job starts"))
}

#[test]
fn periodic_checkpoints_are_triggered_one_interval_apart_in_virtual_time() {
    for interval in [ms(10), ms(25)] {
        let env = env(interval);
        // The source reads its last record at about 295 ms, off both intervals' grids.
        counting_job(&env, 295);
        let (result, stats) = run(&env);
        result.expect("job finishes");
        let [periodic @ .., exhausted, last] = stats.as_slice() else {
            panic!("too few checkpoints: {stats:?}");
        };
        for (i, s) in periodic.iter().enumerate() {
            assert_eq!(s.status, CheckpointStatus::Completed);
            assert_eq!(s.trigger_time, interval * (i as u32 + 1), "{s:?}");
        }
        // Then one triggered when the source read everything (it covers the source's last
        // records), and the final one, once every subtask's input ended.
        let count = (exhausted.trigger_time.as_millis() / interval.as_millis()) as usize;
        assert_eq!(periodic.len(), count, "{interval:?}: {stats:?}");
        assert_eq!(exhausted.status, CheckpointStatus::Completed);
        assert_eq!(last.status, CheckpointStatus::Completed);
        assert!(last.trigger_time >= exhausted.trigger_time);
    }
}

#[test]
fn min_pause_separates_a_checkpoint_completion_from_the_next_trigger() {
    let gaps = |min_pause: Duration| {
        let mut env = env(ms(10));
        env.checkpoint_config_mut().min_pause = min_pause;
        env.set_fault_injector(FaultInjector::new().with(slow_ack("src", None, ms(15))));
        counting_job(&env, 300);
        let (result, stats) = run(&env);
        result.expect("job finishes");
        // How the job's last checkpoints end as it finishes is not what is checked here.
        let running: Vec<_> = stats.iter().filter(|s| s.trigger_time < ms(280)).collect();
        assert!(running.len() >= 5);
        assert!(running.iter().all(|s| s.duration == ms(15)), "{stats:?}");
        stats
            .windows(2)
            .map(|w| w[1].trigger_time - (w[0].trigger_time + w[0].duration))
            .collect::<Vec<Duration>>()
    };
    // With a 30 ms pause each trigger waits exactly that long after the previous completion …
    let paused = gaps(ms(30));
    assert!(paused.iter().all(|g| *g == ms(30)), "{paused:?}");
    // … without one, the next trigger goes the moment the slow checkpoint completes.
    let unpaused = gaps(Duration::ZERO);
    assert!(unpaused.iter().any(|g| *g < ms(30)), "{unpaused:?}");
}

#[test]
fn a_checkpoint_acknowledged_after_the_timeout_expires_and_later_ones_complete() {
    let mut env = env(ms(10));
    let cp = env.checkpoint_config_mut();
    cp.timeout = ms(20);
    cp.tolerable_failed_checkpoints = 1;
    env.set_fault_injector(FaultInjector::new().with(slow_ack("src", Some(2), ms(50))));
    counting_job(&env, 300);
    let (result, stats) = run(&env);
    result.expect("one expired checkpoint is tolerated: the job finishes");
    let (early, expired) = (&stats[0], &stats[1]);
    assert_eq!((early.id, &early.status), (1, &CheckpointStatus::Completed));
    assert_eq!(
        expired.status,
        CheckpointStatus::Failed(Reason::Expired(ms(20)))
    );
    assert_eq!(expired.duration, ms(20));
    let later: Vec<_> = stats.iter().filter(|s| s.id > 2).collect();
    assert!(later.len() >= 5, "{stats:?}");
    assert!(later
        .iter()
        .all(|s| s.status == CheckpointStatus::Completed));
}

/// Every checkpoint acknowledged 25 ms late; returns the `[trigger, end)` spans.
fn spans(max_concurrent: u32) -> Vec<(Duration, Duration)> {
    let mut env = env(ms(10));
    env.checkpoint_config_mut().max_concurrent = max_concurrent;
    env.set_fault_injector(FaultInjector::new().with(slow_ack("src", None, ms(25))));
    counting_job(&env, 300);
    let (result, stats) = run(&env);
    result.expect("job finishes");
    assert!(stats.len() >= 5);
    stats
        .iter()
        .map(|s| (s.trigger_time, s.trigger_time + s.duration))
        .collect()
}

fn most_in_flight(spans: &[(Duration, Duration)]) -> usize {
    spans
        .iter()
        .map(|(at, _)| spans.iter().filter(|(t, e)| t <= at && at < e).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn one_concurrent_checkpoint_never_overlaps_another() {
    let spans = spans(1);
    assert!(spans.windows(2).all(|w| w[1].0 >= w[0].1), "{spans:?}");
    assert_eq!(most_in_flight(&spans), 1);
}

#[test]
fn two_concurrent_checkpoints_overlap_but_never_three() {
    let spans = spans(2);
    assert!(spans.windows(2).any(|w| w[1].0 < w[0].1), "{spans:?}");
    assert_eq!(most_in_flight(&spans), 2, "{spans:?}");
}

/// Runs with `tolerable` failures allowed and checkpoints `failing` expiring.
fn tolerate(
    tolerable: u32,
    failing: &[CheckpointId],
) -> (Result<weir::JobResult, JobError>, Vec<CheckpointStats>) {
    let mut env = env(ms(10));
    let cp = env.checkpoint_config_mut();
    cp.timeout = ms(20);
    cp.tolerable_failed_checkpoints = tolerable;
    env.set_fault_injector(expiring(failing));
    counting_job(&env, 300);
    run(&env)
}

fn failed_ids(stats: &[CheckpointStats]) -> Vec<CheckpointId> {
    let failed = stats
        .iter()
        .filter(|s| s.status != CheckpointStatus::Completed);
    failed.map(|s| s.id).collect()
}

#[test]
fn zero_tolerable_failures_fail_the_job_on_the_first_expired_checkpoint() {
    let (result, stats) = tolerate(0, &[1]);
    assert_eq!(
        result.unwrap_err(),
        JobError::CheckpointingFailed {
            failures: 1,
            last: Reason::Expired(ms(20))
        }
    );
    assert_eq!(failed_ids(&stats), [1]);
    assert!(completed_ids(&stats).is_empty(), "{stats:?}");
}

#[test]
fn n_tolerable_failures_fail_the_job_exactly_at_n_plus_one_in_a_row() {
    // Two failures in a row, a success, two more: never three in a row, so the job finishes.
    let (result, stats) = tolerate(2, &[1, 2, 4, 5]);
    result.expect("no more than 2 consecutive failures");
    assert_eq!(failed_ids(&stats), [1, 2, 4, 5]);
    assert!(completed_ids(&stats).len() >= 5);
    // The third consecutive failure (checkpoints 5, 6, 7 after successes 1 to 4) fails it.
    let (result, stats) = tolerate(2, &[2, 5, 6, 7]);
    assert_eq!(
        result.unwrap_err(),
        JobError::CheckpointingFailed {
            failures: 3,
            last: Reason::Expired(ms(20))
        }
    );
    assert_eq!(failed_ids(&stats), [2, 5, 6, 7]);
    assert_eq!(completed_ids(&stats), [1, 3, 4]);
}

/// An endless paced job, checkpointing on request only, whose map panics once `fail` is set.
fn endless_job(dir: &Path, fail: &Arc<AtomicBool>) -> StreamEnvironment {
    let mut env = env(MANUAL_ONLY);
    env.set_checkpoint_dir(dir);
    let fail = fail.clone();
    paced(&env, "src", u64::MAX, Pace::Every { burst: 1, polls: 1 })
        .map(move |v| {
            assert!(!fail.load(Ordering::SeqCst), "injected failure");
            v
        })
        .uid("may-fail")
        .key_by(|v| v % 16)
        .process(Sequence::default())
        .uid("count")
        .discard();
    env
}

#[test]
fn num_retained_checkpoints_are_exactly_the_checkpoint_directories_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let mut env = endless_job(tmp.path(), &Arc::default());
    let cp = env.checkpoint_config_mut();
    cp.num_retained = 3;
    cp.externalized_retention = Retention::RetainOnCancellation;
    let client = spawn_running(&env);
    for id in 1..=9u64 {
        assert_eq!(trigger(&client).map(|s| s.id), Ok(id));
        // No checkpoint is in flight now: the directory holds the newest retained ones only.
        let expected: Vec<(u64, bool)> = (id.saturating_sub(2).max(1)..=id)
            .map(|i| (i, true))
            .collect();
        assert_eq!(chk_dirs(&tmp.path().join(JOB)), expected, "after {id}");
    }
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    assert_eq!(
        chk_dirs(&tmp.path().join(JOB)),
        [(7, true), (8, true), (9, true)]
    );
}

#[derive(Debug, Clone, Copy)]
enum Ending {
    Cancel,
    Failure,
}

/// Completes checkpoints 1 to 3 (two retained), ends the job, and lists what is left on disk.
fn left_after(retention: Retention, ending: Ending) -> Vec<(u64, bool)> {
    let tmp = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let mut env = endless_job(tmp.path(), &fail);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = 2;
    cp.externalized_retention = retention;
    let client = spawn_running(&env);
    for id in 1..=3 {
        assert_eq!(trigger(&client).map(|s| s.id), Ok(id));
    }
    match ending {
        Ending::Cancel => client.cancel(),
        Ending::Failure => fail.store(true, Ordering::SeqCst),
    }
    let status = client.subscribe_status();
    let error = finish(client).0.unwrap_err();
    match ending {
        Ending::Cancel => assert_eq!(error, JobError::Cancelled),
        Ending::Failure => assert!(error.to_string().contains("injected failure"), "{error}"),
    }
    assert!(status.borrow().is_terminal());
    chk_dirs(&tmp.path().join(JOB))
}

#[test]
fn externalized_retention_decides_which_checkpoints_survive_a_cancel_or_a_failure() {
    use {Ending::*, Retention::*};
    let kept = vec![(2, true), (3, true)];
    for (retention, ending, left) in [
        (RetainOnCancellation, Cancel, kept.clone()),
        (DeleteOnCancellation, Cancel, vec![]),
        (NoExternalizedCheckpoints, Cancel, vec![]),
        // A failed job keeps externalized checkpoints, whatever they do on cancellation.
        (RetainOnCancellation, Failure, kept.clone()),
        (DeleteOnCancellation, Failure, kept.clone()),
        (NoExternalizedCheckpoints, Failure, vec![]),
    ] {
        assert_eq!(
            left_after(retention, ending),
            left,
            "{retention:?}, {ending:?}"
        );
    }
}

/// A checkpoint directory under a regular file: every write fails, even as root.
fn unwritable(tmp: &Path) -> PathBuf {
    std::fs::write(tmp.join("a-file"), b"not a directory").unwrap();
    tmp.join("a-file").join("checkpoints")
}

/// Storage over `dir` that passes the job's start checks and then fails every write, as a disk
/// that turns read-only while the job runs (a directory that cannot be written when the job
/// starts stops it before it runs: `checkpoint_restore.rs`).
struct WritesFail(FileSystemCheckpointStorage);

impl CheckpointStorage for WritesFail {
    fn write_state(&self, id: u64, uid: &str, i: u32, b: &[u8]) -> Result<Location, StorageError> {
        self.0.write_state(id, uid, i, b)
    }
    fn read_state(&self, id: u64, handle: &StateHandle) -> Result<Vec<u8>, StorageError> {
        self.0.read_state(id, handle)
    }
    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        self.0.write_metadata(metadata)
    }
    fn discard(&self, id: u64) -> Result<(), StorageError> {
        self.0.discard(id)
    }
    fn load(&self, id: u64) -> Result<CheckpointMetadata, StorageError> {
        self.0.load(id)
    }
    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError> {
        Ok(LatestCheckpoint::default())
    }
    fn list(&self) -> Result<Vec<u64>, StorageError> {
        Ok(Vec::new())
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

fn refuse_writes(env: &mut StreamEnvironment, dir: &Path) {
    let storage = FileSystemCheckpointStorage::new(dir, JOB);
    env.set_checkpoint_storage(Arc::new(WritesFail(storage)));
}

/// Whether `reason` is a decline naming the regular file `unwritable` put in the way.
fn is_declined_naming(reason: &Reason, dir: &Path) -> bool {
    let base = dir.parent().unwrap().display().to_string();
    matches!(
        reason,
        Reason::Declined { cause: DeclineCause::StateWrite(source), .. }
            if source.to_string().contains(&base)
    )
}

#[test]
fn an_unwritable_checkpoint_directory_fails_the_job_at_the_first_decline_past_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unwritable(tmp.path());
    let mut env = env(ms(10));
    env.set_checkpoint_dir(&dir);
    refuse_writes(&mut env, &dir);
    env.checkpoint_config_mut().tolerable_failed_checkpoints = 3;
    counting_job(&env, 300);
    let (result, stats) = run(&env);
    match result.unwrap_err() {
        JobError::CheckpointingFailed { failures: 4, last } => {
            assert!(is_declined_naming(&last, &dir), "{last}")
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(failed_ids(&stats), [1, 2, 3, 4]);
    for s in &stats {
        assert!(matches!(&s.status, CheckpointStatus::Failed(r) if is_declined_naming(r, &dir)));
    }
}

#[test]
fn declined_checkpoints_within_the_tolerable_limit_leave_the_job_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unwritable(tmp.path());
    let mut env = endless_job(&dir, &Arc::default());
    refuse_writes(&mut env, &dir);
    env.checkpoint_config_mut().tolerable_failed_checkpoints = 5;
    let client = spawn_running(&env);
    for _ in 0..5 {
        let declined = trigger(&client).unwrap_err();
        assert!(is_declined_naming(&declined, &dir), "{declined}");
        assert_eq!(client.status(), JobStatus::Running);
    }
    assert!(is_declined_naming(&trigger(&client).unwrap_err(), &dir));
    let (result, stats) = finish(client);
    assert!(matches!(
        result.unwrap_err(),
        JobError::CheckpointingFailed { failures: 6, .. }
    ));
    assert_eq!(failed_ids(&stats), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn trigger_checkpoint_returns_the_completed_statistics_of_a_running_job() {
    let tmp = tempfile::tempdir().unwrap();
    let mut env = env(MANUAL_ONLY);
    env.set_parallelism(2).set_checkpoint_dir(tmp.path());
    let progress = Progress::default();
    paced(&env, "src", u64::MAX, Pace::Every { burst: 3, polls: 1 })
        .key_by(|v| *v)
        .process(Sequence::counting(&progress))
        .uid("count")
        .discard();
    let client = spawn_running(&env);
    progress.wait_for(300);
    let first = trigger(&client).expect("checkpoint completes");
    // Every record counted now was processed after the first snapshot.
    progress.wait_for(progress.count() + 300);
    let second = trigger(&client).expect("checkpoint completes");
    assert_eq!((first.id, second.id), (1, 2));
    let keyed = |s: &CheckpointStats| -> Vec<SubtaskCheckpointStats> {
        let keyed = s
            .subtasks
            .iter()
            .filter(|t| t.task.starts_with("KeyedProcess"));
        keyed.cloned().collect()
    };
    let keyed_size = |s: &CheckpointStats| keyed(s).iter().map(|t| t.state_size).sum::<u64>();
    for s in [&first, &second] {
        assert_eq!(s.status, CheckpointStatus::Completed);
        assert!(s.metadata_size > 0);
        let mut who: Vec<_> = s
            .subtasks
            .iter()
            .map(|t| (&t.task[..5], t.subtask))
            .collect();
        who.sort();
        assert_eq!(
            who,
            [("Keyed", 0), ("Keyed", 1), ("Paced", 0), ("Paced", 1)]
        );
        assert_eq!(s.state_size, s.subtasks.iter().map(|t| t.state_size).sum());
        for t in &s.subtasks {
            assert!(
                t.state_size > 0 && t.async_duration > Duration::ZERO,
                "{t:?}"
            );
        }
        assert!(keyed_size(s) >= 300, "{s:?}");
        // The synchronous part copied at least 300 keys' state: it took measurable time.
        assert!(
            keyed(s).iter().all(|t| t.sync_duration > Duration::ZERO),
            "{s:?}"
        );
    }
    assert!(keyed_size(&second) >= keyed_size(&first) + 300);
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
}

#[test]
fn trigger_checkpoint_right_after_spawn_is_not_refused() {
    for _ in 0..20 {
        let tmp = tempfile::tempdir().unwrap();
        let client = endless_job(tmp.path(), &Arc::default()).spawn().unwrap();
        assert_eq!(trigger(&client).map(|s| s.id), Ok(1));
        client.cancel();
        assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    }
}

#[test]
fn a_checkpoint_returned_by_trigger_checkpoint_is_already_in_the_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let client = spawn_running(&endless_job(tmp.path(), &Arc::default()));
    for _ in 0..50 {
        let stats = trigger(&client).expect("checkpoint completes");
        assert_eq!(client.checkpoint_stats().last(), Some(&stats));
        let latest = client.subscribe_checkpoints().borrow().clone();
        assert_eq!(latest.as_ref(), Some(&stats));
    }
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
}
