//! The two-phase-commit operator against a target that keeps prepared transactions as a
//! database does (tests/common/emulated_target.rs): exactly-once over many seeds with failures
//! in every step of the protocol, the checkpoint a failed pre-commit must decline, leftover
//! prepared transactions, commit order, and a slow commit that must not stall the arbiter.

mod common;

#[path = "common/emulated_target.rs"]
mod emulated_target;

use emulated_target::{FlakySink, Step, Target};
use std::collections::BTreeSet;
use std::time::Duration;
use weir::sink::two_phase_commit::{TransactionId, TransactionStats, TwoPhaseCommitConfig};
use weir::{
    CheckpointFailureReason, CheckpointStatus, Fault, FaultInjector, RestartStrategyConfig,
    StreamEnvironment,
};

const RECORDS: u64 = 20_000;

/// A deterministic environment; `job` names the job (each test its own: two running jobs of the
/// same id and sink uid would share their sinks' transaction names).
fn env(job: &str, seed: u64) -> StreamEnvironment {
    let mut env = common::deterministic_env(seed);
    configure(&mut env, job, seed);
    env
}

fn configure(env: &mut StreamEnvironment, job: &str, seed: u64) {
    env.set_parallelism(2)
        .set_batch_size(32)
        .enable_checkpointing(Duration::from_millis(50))
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(10),
        });
    env.set_job_id(&format!("{job}-{seed}"));
}

fn config() -> TwoPhaseCommitConfig {
    TwoPhaseCommitConfig::default()
        .with_commit_attempts(2)
        .with_retry_backoff(Duration::from_millis(1))
}

/// sequence → key_by → running count per key, as `key * 1_000_000 + count` → the sink `make`
/// builds, uid "sink".
fn job<F>(env: &StreamEnvironment, make: F)
where
    F: Fn(&weir::OperatorInfo) -> Result<FlakySink, weir::BoxError> + Send + Sync + 'static,
{
    env.generate_sequence(0, RECORDS - 1)
        .uid("numbers")
        .key_by(|x| x % 13)
        .map(|x| x % 13)
        .uid("key")
        .key_by(|k| *k)
        .reduce(|a, _| a + 1_000_000)
        .uid("count")
        .sink_to_two_phase_commit(config(), make)
        .uid("sink");
}

fn failure_free() -> Vec<u64> {
    let target = Target::default();
    let env = env("failure-free", 0);
    let t = target.clone();
    job(&env, move |_| Ok(FlakySink::reliable(&t)));
    env.execute().expect("failure-free run");
    target.sorted_rows()
}

fn seeds() -> u64 {
    common::seed_count("WEIR_TWO_PHASE_SEEDS", 24)
}

#[test]
fn every_row_is_committed_exactly_once_whatever_step_of_the_protocol_fails() {
    sweep(true, seeds());
}

#[test]
fn every_row_is_committed_exactly_once_with_each_sink_on_its_own_thread() {
    // Real time and threads: restarts overlap the previous deployment's last command.
    sweep(
        false,
        common::seed_count("WEIR_TWO_PHASE_THREADED_SEEDS", 6),
    );
}

/// Runs the job over `seeds` seeds with failures at every step (deterministic mode runs the
/// sinks inline; otherwise each on its thread) and compares each run with the failure-free one.
/// On real time, where a failure at a given step fires by chance, the sweep goes on past
/// `seeds` (up to five times as many) until every required step has failed at least once.
fn sweep(deterministic: bool, seeds: u64) {
    let expected = failure_free();
    assert_eq!(expected.len() as u64, RECORDS);
    // A restore commits rarely enough on real time that a threaded sweep may not fail one;
    // the deterministic sweep requires it.
    let required: &[Step] = match deterministic {
        true => &[
            Step::Invoke,
            Step::PreCommit,
            Step::Commit,
            Step::RecoverCommit,
        ],
        false => &[Step::Invoke, Step::PreCommit, Step::Commit],
    };
    let mut fired = std::collections::BTreeMap::new();
    let mut restarts = 0;
    let all_fired = |fired: &std::collections::BTreeMap<Step, u64>| {
        required
            .iter()
            .all(|s| fired.get(s).is_some_and(|n| *n > 0))
    };
    let most = if deterministic { seeds } else { seeds * 5 };
    for seed in 1..=most {
        if seed > seeds && all_fired(&fired) {
            break;
        }
        let target = Target::default();
        let mut env = match deterministic {
            true => env("sweep", seed),
            false => {
                let mut env = common::no_restart_env();
                configure(&mut env, "threaded-sweep", seed);
                env
            }
        };
        env.set_fault_injector(FaultInjector::new().with(Fault::Random {
            seed,
            probability: 0.000_05,
            uid: Some("count".into()),
        }));
        let t = target.clone();
        job(&env, move |info| {
            let s = &info.subtask;
            Ok(FlakySink {
                target: t.clone(),
                rng: (seed << 20) ^ ((s.attempt as u64) << 8) ^ (s.index as u64 + 1),
                per_mille: if deterministic { 12 } else { 60 },
                invoke_per_mille: if deterministic { 12 } else { 1 },
                steps: vec![
                    Step::Invoke,
                    Step::PreCommit,
                    Step::Commit,
                    Step::RecoverCommit,
                ],
            })
        });
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        restarts += result.restarts.len();
        assert_eq!(target.sorted_rows(), expected, "seed {seed}: rows differ");
        let tables = target.0.lock();
        assert!(
            tables.prepared.is_empty(),
            "seed {seed}: left prepared: {:?}",
            tables.prepared.keys()
        );
        for (step, n) in &tables.fired {
            *fired.entry(*step).or_insert(0) += n;
        }
    }
    for &step in required {
        assert!(
            fired.get(&step).is_some_and(|n| *n > 0),
            "no failure fired at {step:?}: {fired:?}"
        );
    }
    assert!(restarts > 0, "no restart at all");
}

#[test]
fn a_failed_pre_commit_declines_its_checkpoint_and_loses_nothing() {
    let expected = failure_free();
    let target = Target::default();
    // Spawned on real time, to read the checkpoint statistics.
    let mut env = common::no_restart_env();
    configure(&mut env, "pre-commit", 7);
    // Declines are tolerated: only the sink's own failure restarts the job.
    env.checkpoint_config_mut().tolerable_failed_checkpoints = 100;
    let t = target.clone();
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = failing.clone();
    job(&env, move |info| {
        // The first deployment of subtask 0 fails its second pre-commit.
        let once = info.subtask.index == 0 && f.swap(false, std::sync::atomic::Ordering::SeqCst);
        Ok(FlakySink {
            target: t.clone(),
            rng: 1,
            per_mille: if once { 1000 } else { 0 },
            invoke_per_mille: 0,
            steps: if once {
                vec![Step::PreCommit]
            } else {
                Vec::new()
            },
        })
    });
    let client = env.spawn().expect("job starts");
    let (result, checkpoints) = common::finish(client);
    let result = result.expect("finishes after a restart");
    assert_eq!(result.restarts.len(), 1, "the failed sink restarts once");
    // The checkpoint fails: declined by the sink, or aborted by the failover when the
    // subtask's failure (its next call after the failed pre-commit) reaches the coordinator
    // first. Either way its source positions never complete.
    let first = checkpoints.first().expect("checkpoints were taken");
    assert!(
        matches!(
            &first.status,
            CheckpointStatus::Failed(
                CheckpointFailureReason::Declined { .. } | CheckpointFailureReason::TaskFailure
            )
        ),
        "the checkpoint of the failed pre-commit fails: {checkpoints:#?}"
    );
    assert_eq!(target.sorted_rows(), expected);
}

#[test]
fn a_leftover_prepared_transaction_of_the_subtask_is_aborted_and_others_are_kept() {
    let target = Target::default();
    let leftover = TransactionId::subtask_prefix("leftover-0", "sink", 1) + "1-0-99";
    let other_job = TransactionId::subtask_prefix("another-job", "sink", 1) + "1-0-0";
    {
        let mut t = target.0.lock();
        t.prepared.insert(leftover.clone(), vec![424_242]);
        t.prepared.insert(other_job.clone(), vec![7]);
    }
    let env = env("leftover", 0);
    let t = target.clone();
    job(&env, move |_| Ok(FlakySink::reliable(&t)));
    env.execute().expect("runs");
    let tables = target.0.lock();
    assert!(
        !tables.rows.contains(&424_242),
        "the leftover was committed"
    );
    let prepared: BTreeSet<_> = tables.prepared.keys().cloned().collect();
    assert_eq!(
        prepared,
        BTreeSet::from([other_job]),
        "only the other job's transaction stays"
    );
}

#[test]
fn commits_of_each_subtask_follow_checkpoint_order_and_empty_checkpoints_commit_cleanly() {
    let target = Target::default();
    let mut env = env("order", 0);
    // 100 records every 50 ms per subtask, checkpoints every 10 ms: most transactions are empty.
    env.enable_checkpointing(Duration::from_millis(10));
    let t = target.clone();
    common::paced(
        &env,
        "numbers",
        2_000,
        common::Pace::Every {
            burst: 100,
            polls: 50,
        },
    )
    .sink_to_two_phase_commit(config(), move |_| Ok(FlakySink::reliable(&t)))
    .uid("sink");
    env.execute().expect("runs");
    let tables = target.0.lock();
    assert_eq!(tables.rows.len(), 2_000);
    let empty = tables
        .committed
        .values()
        .filter(|rows| rows.is_empty())
        .count();
    assert!(empty > 0, "some checkpoint held no record");
    for subtask in 0..2 {
        let prefix = TransactionId::subtask_prefix("order-0", "sink", subtask);
        let sequences: Vec<u64> = (tables.commit_order.iter())
            .filter_map(|n| n.strip_prefix(&prefix))
            .filter_map(|rest| rest.rsplit('-').next()?.parse().ok())
            .collect();
        assert!(
            sequences.windows(2).all(|w| w[0] < w[1]),
            "subtask {subtask}: {sequences:?}"
        );
        assert!(sequences.len() > 10, "subtask {subtask}: {sequences:?}");
    }
}

#[test]
fn a_commit_older_than_the_transaction_timeout_is_reported_as_a_risk() {
    let target = Target::default();
    let stats = TransactionStats::new();
    let env = env("timeout", 0);
    let t = target.clone();
    let config = config()
        .with_transaction_timeout(Duration::ZERO)
        .with_stats(&stats);
    env.generate_sequence(0, 999)
        .uid("numbers")
        .sink_to_two_phase_commit(config, move |_| Ok(FlakySink::reliable(&t)))
        .uid("sink");
    env.execute().expect("runs");
    assert_eq!(target.sorted_rows(), (0..1000).collect::<Vec<_>>());
    assert!(stats.committed() > 0);
    assert!(
        stats.timed_out() > 0,
        "a zero timeout makes every commit late"
    );
    assert_eq!(stats.pending(), 0);
}

/// A sink whose first commit waits until the other pipeline of its job has moved on.
struct SlowCommit {
    inner: FlakySink,
    other: common::Progress,
    waited: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl weir::sink::two_phase_commit::TwoPhaseCommitSink<u64> for SlowCommit {
    type Transaction = emulated_target::Txn;

    fn begin_transaction(
        &mut self,
        id: TransactionId,
    ) -> Result<Self::Transaction, weir::BoxError> {
        self.inner.begin_transaction(id)
    }

    fn invoke(&mut self, txn: &mut Self::Transaction, record: u64) -> Result<(), weir::BoxError> {
        self.inner.invoke(txn, record)
    }

    fn pre_commit(&mut self, txn: &mut Self::Transaction) -> Result<(), weir::BoxError> {
        self.inner.pre_commit(txn)
    }

    fn commit(&mut self, txn: &Self::Transaction) -> Result<(), weir::BoxError> {
        use std::sync::atomic::Ordering;
        if !self.waited.swap(true, Ordering::SeqCst) {
            let start = self.other.count();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            // The other pipeline runs on the same (only) arbiter thread: it can move on only if
            // this commit does not hold that thread.
            while self.other.count() < start + 2_000 {
                if std::time::Instant::now() > deadline {
                    self.stalled.store(true, Ordering::SeqCst);
                    return Err("the other pipeline did not move while the commit ran".into());
                }
                std::thread::yield_now();
            }
        }
        self.inner.commit(txn)
    }

    fn abort(&mut self, txn: &Self::Transaction) -> Result<(), weir::BoxError> {
        self.inner.abort(txn)
    }
}

#[test]
fn a_slow_commit_does_not_stall_the_other_subtasks_of_its_arbiter() {
    let mut env = common::no_restart_env();
    env.set_parallelism(1)
        .set_arbiters(1)
        .enable_checkpointing(Duration::from_millis(20));
    let target = Target::default();
    let other = common::Progress::default();
    let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (t, o, w, st) = (
        target.clone(),
        other.clone(),
        waited.clone(),
        stalled.clone(),
    );
    // Long enough that its first commit is not the one after end of input (which the
    // subtask waits for, so that the job ends committed).
    common::paced(
        &env,
        "numbers",
        2_000,
        common::Pace::Every { burst: 2, polls: 1 },
    )
    .sink_to_two_phase_commit(config(), move |_| {
        Ok(SlowCommit {
            inner: FlakySink::reliable(&t),
            other: o.clone(),
            waited: w.clone(),
            stalled: st.clone(),
        })
    })
    .uid("sink");
    let counted = other.clone();
    common::paced(
        &env,
        "other",
        40_000,
        common::Pace::Every {
            burst: 20,
            polls: 1,
        },
    )
    .rebalance()
    .map(move |x| {
        counted.add(1);
        x
    })
    .uid("count-other")
    .discard()
    .uid("other-sink");
    env.execute().expect("the job finishes");
    assert!(
        waited.load(std::sync::atomic::Ordering::SeqCst),
        "the slow commit ran"
    );
    assert!(
        !stalled.load(std::sync::atomic::Ordering::SeqCst),
        "the other pipeline stalled while the commit ran"
    );
    assert_eq!(target.sorted_rows(), (0..2_000).collect::<Vec<_>>());
}
