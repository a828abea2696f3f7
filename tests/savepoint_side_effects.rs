//! What a savepoint does to the running job, as in Flink since 1.15:
//! - stop-with-savepoint halts the sources at the savepoint's barrier (Flink's `stop` without
//!   `--drain`): nothing read after it reaches any sink, so even a sink that is not
//!   transactional sees, over the stopped run and a run resumed from the savepoint, each record
//!   exactly once; its checkpoint is committed (the sinks are notified). If the savepoint fails,
//!   the sources read on and the job ends normally.
//! - stop-with-savepoint with drain runs end of input first (a plain stop does not); the two
//!   runs together still see each record once.
//! - an intermediate savepoint (the job goes on) has no side effects: no operator hears of its
//!   completion (the next checkpoint commits what it covered), and it is not a checkpoint of the
//!   job (a restart or `restore_from_latest` never takes it).

mod common;

use common::kinds::sorted;
use common::*;
use parking_lot::Mutex;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use weir::savepoint::SavepointError;
use weir::{
    BoxError, CheckpointId, CollectHandle, ExternalizedCheckpointRetention, Operator,
    StreamEnvironment,
};

const JOB: &str = "stop-with-savepoint";
const TOTAL: u64 = 3_000;
const PER_KEY: u64 = 30;

fn env(base: &Path, seed: u64) -> StreamEnvironment {
    let mut env = deterministic_env(seed);
    env.set_parallelism(2).set_job_id(JOB);
    env.enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// Paced `0..TOTAL` keyed into a per-key sequence, into an at-least-once collecting sink.
fn job(env: &StreamEnvironment, progress: &Progress) -> CollectHandle<(u64, u64, u64)> {
    paced(env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .collect()
        .uid("out")
        .handle()
}

#[test]
fn no_record_read_after_a_stopping_savepoint_reaches_a_sink() {
    let seeds = seed_count("WEIR_STOP_SAVEPOINT_SEEDS", 6);
    let mut split = 0;
    for seed in 0..seeds {
        let tmp = tempfile::tempdir().unwrap();
        let env1 = env(&tmp.path().join("chk"), seed);
        let progress = Progress::default();
        let first = job(&env1, &progress);
        let client = spawn_running(&env1);
        progress.wait_for(TOTAL / 10 + seed * 20);
        let savepoint = block_on(client.stop_with_savepoint(tmp.path().join("sp")))
            .unwrap_or_else(|e| panic!("seed {seed}: the savepoint fails: {e}"));
        finish(client).0.expect("the stopped job ends Finished");
        let mut env2 = env(&tmp.path().join("chk2"), seed);
        env2.restore_from_savepoint(&savepoint.path)
            .expect("restores");
        let second = job(&env2, &Progress::default());
        env2.execute().expect("the resumed run ends");
        let (before, after) = (first.records(), second.records());
        split += u64::from(!before.is_empty() && !after.is_empty());
        let all = sorted(before.into_iter().chain(after).collect());
        let expected = expected_sequence(TOTAL, PER_KEY);
        assert_eq!(
            all.len(),
            expected.len(),
            "seed {seed}: a record seen twice or lost"
        );
        assert_eq!(all, expected, "seed {seed}");
    }
    // A run that read everything before it was stopped proves nothing: most must not have.
    assert_most_restored(split, seeds, "runs stopped before the end of their input");
}

#[test]
fn after_a_failed_stopping_savepoint_the_sources_read_on_to_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let env = env(&tmp.path().join("chk"), 3);
    let progress = Progress::default();
    let out = job(&env, &progress);
    let client = spawn_running(&env);
    progress.wait_for(TOTAL / 4);
    let refused = block_on(client.stop_with_savepoint(&not_a_dir));
    assert!(
        matches!(refused, Err(SavepointError::Failed { .. })),
        "{refused:?}"
    );
    finish(client).0.expect("the job reads everything and ends");
    assert_eq!(sorted(out.records()), expected_sequence(TOTAL, PER_KEY));
}

/// A sink that records the checkpoints it hears completed.
struct Listener(Arc<Mutex<Vec<CheckpointId>>>);

impl Operator<u64, ()> for Listener {
    fn process_batch(&mut self, _: Vec<u64>, _: &mut Vec<()>) -> Result<(), BoxError> {
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        self.0.lock().push(checkpoint);
        Ok(())
    }
}

#[test]
fn an_intermediate_savepoint_commits_nothing_and_is_no_checkpoint_of_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("chk");
    let job_env = env(&base, 4);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let target = heard.clone();
    let progress = Progress::default();
    // Long enough that it is still running when the savepoint is taken.
    paced(
        &job_env,
        "numbers",
        TOTAL * 100,
        Pace::Every { burst: 1, polls: 1 },
    )
    .map({
        let progress = progress.clone();
        move |v| {
            progress.add(1);
            v
        }
    })
    .uid("count")
    .add_sink("Listener", move |_| Ok(Listener(target.clone())))
    .uid("listener");
    let client = spawn_running(&job_env);
    progress.wait_for(100);
    let checkpoint = trigger(&client).expect("checkpoint").id;
    let savepoint = block_on(client.trigger_savepoint(tmp.path().join("sp"))).expect("taken");
    let id = savepoint.checkpoint_id;
    assert!(savepoint.path.join("_metadata").is_file());
    client.cancel();
    let _ = finish(client);
    let heard = heard.lock().clone();
    assert!(heard.contains(&checkpoint), "{heard:?}");
    assert!(
        !heard.contains(&id),
        "the savepoint's completion is heard by nobody: {heard:?}"
    );
    let job_dir = base.join(JOB);
    assert!(
        !job_dir.join(format!("chk-{id}")).exists(),
        "not in the job's own directory"
    );
    let mut again = env(&base, 4);
    let report = again.restore_from_latest(&base).expect("restores");
    assert_ne!(
        report.checkpoint_id, id,
        "the savepoint is no checkpoint of the job"
    );
}

/// A sink that keeps what it receives and whether its input ended.
struct Ending {
    records: Arc<Mutex<Vec<(u64, u64, u64)>>>,
    ended: Arc<Mutex<bool>>,
}

impl Operator<(u64, u64, u64), ()> for Ending {
    fn process_batch(
        &mut self,
        input: Vec<(u64, u64, u64)>,
        _: &mut Vec<()>,
    ) -> Result<(), BoxError> {
        self.records.lock().extend(input);
        Ok(())
    }

    fn end_of_input(&mut self, _: &mut Vec<()>) -> Result<(), BoxError> {
        *self.ended.lock() = true;
        Ok(())
    }
}

/// Runs the job into an [`Ending`] sink: what it received, and whether its input ended.
type Ended = (Arc<Mutex<Vec<(u64, u64, u64)>>>, Arc<Mutex<bool>>);

fn ending_job(env: &StreamEnvironment, progress: &Progress) -> Ended {
    let (records, ended) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(false)),
    );
    let sink = (records.clone(), ended.clone());
    paced(env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .add_sink("Ending", move |_| {
            Ok(Ending {
                records: sink.0.clone(),
                ended: sink.1.clone(),
            })
        })
        .uid("out");
    (records, ended)
}

#[test]
fn a_draining_stop_runs_end_of_input_before_its_savepoint_and_a_plain_one_does_not() {
    for drain in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let env1 = env(&tmp.path().join("chk"), 5);
        let progress = Progress::default();
        let (first, ended) = ending_job(&env1, &progress);
        let client = spawn_running(&env1);
        progress.wait_for(TOTAL / 10);
        let dir = tmp.path().join("sp");
        let stopped = match drain {
            true => block_on(client.stop_with_savepoint_and_drain(&dir)),
            false => block_on(client.stop_with_savepoint(&dir)),
        };
        let savepoint = stopped.unwrap_or_else(|e| panic!("drain {drain}: {e}"));
        finish(client).0.expect("the stopped job ends Finished");
        assert_eq!(*ended.lock(), drain, "end of input ran only when draining");
        let mut env2 = env(&tmp.path().join("chk2"), 6);
        env2.restore_from_savepoint(&savepoint.path)
            .expect("restores");
        let (second, _) = ending_job(&env2, &Progress::default());
        env2.execute().expect("the resumed run ends");
        let before = first.lock().clone();
        assert!(
            !before.is_empty() && before.len() < TOTAL as usize,
            "drain {drain}"
        );
        let all = sorted(before.into_iter().chain(second.lock().clone()).collect());
        assert_eq!(all, expected_sequence(TOTAL, PER_KEY), "drain {drain}");
    }
}
