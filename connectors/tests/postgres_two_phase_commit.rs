//! The PostgreSQL two-phase-commit sink against the real server: exactly-once over many seeds
//! with failures in processing, pre-commit, commit (before and after the server committed) and
//! restore; empty checkpoints; the first record; the server unreachable at commit; a leftover
//! prepared transaction; the transaction timeout report.

#[path = "common/pg.rs"]
mod pg;

use pg::{Chance, Step, Table};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::sink::two_phase_commit::{TransactionId, TransactionStats, TwoPhaseCommitSink};
use weir::{BoxError, Fault, FaultInjector, StreamEnvironment};
use weir_connectors::postgres::{
    ensure_prepared_transactions, PostgresTransaction, PostgresTwoPhaseCommitSink,
};

/// The PostgreSQL sink, failing on purpose as `chance` says.
struct Flaky {
    sink: PostgresTwoPhaseCommitSink<u64>,
    chance: Chance,
}

impl TwoPhaseCommitSink<u64> for Flaky {
    type Transaction = PostgresTransaction;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<PostgresTransaction, BoxError> {
        self.sink.begin_transaction(id)
    }

    fn invoke(&mut self, t: &mut PostgresTransaction, record: u64) -> Result<(), BoxError> {
        self.invoke_batch(t, vec![record])
    }

    fn invoke_batch(&mut self, t: &mut PostgresTransaction, r: Vec<u64>) -> Result<(), BoxError> {
        self.chance.fails(Step::Invoke)?;
        self.sink.invoke_batch(t, r)
    }

    fn pre_commit(&mut self, t: &mut PostgresTransaction) -> Result<(), BoxError> {
        self.chance.fails(Step::PreCommit)?;
        self.sink.pre_commit(t)
    }

    fn commit(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        self.chance.fails(Step::Commit)?;
        self.sink.commit(t)?;
        self.chance.fails(Step::AfterCommit)
    }

    fn recover_and_commit(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        self.chance.fails(Step::RecoverCommit)?;
        self.sink.recover_and_commit(t)
    }

    fn abort(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        self.sink.abort(t)
    }

    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        self.sink.prepared_transactions(prefix)
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        self.sink.abort_prepared(name)
    }
}

fn setup() {
    let _ = pg::client();
    if let Err(e) = ensure_prepared_transactions(&weir_connectors::env::postgres_url()) {
        panic!("{e} (.ci/services does it)");
    }
}

/// sequence → key_by → running count per key → the PostgreSQL sink `make` builds, uid "sink".
fn job<S, F>(
    env: &StreamEnvironment,
    records: u64,
    config: weir::sink::two_phase_commit::TwoPhaseCommitConfig,
    make: F,
) where
    S: TwoPhaseCommitSink<u64>,
    F: Fn(&weir::OperatorInfo) -> Result<S, BoxError> + Send + Sync + 'static,
{
    env.generate_sequence(0, records - 1)
        .uid("numbers")
        .key_by(|x| x % pg::KEYS)
        .map(|x| x % pg::KEYS)
        .uid("key")
        .key_by(|k| *k)
        .reduce(|a, _| a + 1_000_000)
        .uid("count")
        .sink_to_two_phase_commit(config, make)
        .uid("sink");
}

fn job_id(name: &str, seed: u64) -> String {
    format!("pg-2pc-{name}-{}-{seed}", std::process::id())
}

#[test]
fn every_row_is_committed_exactly_once_whatever_fails() {
    setup();
    let table = Table::create("tpc_sweep", false);
    let builder = table.builder(false);
    let env = pg::env(&job_id("free", 0), 0);
    let b = builder.clone();
    job(&env, pg::RECORDS, pg::config(), move |_| {
        Ok(b.build_two_phase_commit())
    });
    env.execute().expect("failure-free run");
    let expected = table.rows();
    assert_eq!(expected, pg::expected_rows(), "the failure-free run");
    let fired = Arc::new(Mutex::new(BTreeMap::new()));
    let mut restarts = 0;
    for seed in 1..=pg::seeds(20) {
        table.truncate();
        let id = job_id("sweep", seed);
        let mut env = pg::env(&id, seed);
        env.set_fault_injector(FaultInjector::new().with(Fault::Random {
            seed,
            probability: 0.000_2,
            uid: Some("count".into()),
        }));
        let (b, f) = (builder.clone(), fired.clone());
        job(&env, pg::RECORDS, pg::config(), move |info| {
            Ok(Flaky {
                sink: b.build_two_phase_commit(),
                chance: Chance::new(seed, info, 25, &f),
            })
        });
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        restarts += result.restarts.len();
        assert_eq!(table.rows(), expected, "seed {seed}: rows differ");
        assert_eq!(
            pg::prepared_of(&id),
            Vec::<String>::new(),
            "seed {seed}: left prepared"
        );
    }
    let fired = fired.lock().expect("fired").clone();
    eprintln!(
        "{} seeds: {restarts} restarts, sink failures {fired:?}",
        pg::seeds(20)
    );
    for step in [
        Step::Invoke,
        Step::PreCommit,
        Step::Commit,
        Step::AfterCommit,
        Step::RecoverCommit,
    ] {
        assert!(
            fired.get(&step).is_some_and(|n| *n > 0),
            "no failure at {step:?}: {fired:?}"
        );
    }
    assert!(restarts > 0, "no restart at all");
}

#[test]
fn a_transaction_without_rows_commits_cleanly_and_the_first_row_is_kept() {
    setup();
    let table = Table::create("tpc_empty", false);
    let mut sink = table.builder(false).build_two_phase_commit();
    let id = |sequence| TransactionId {
        job_id: job_id("empty", 0),
        operator_uid: "sink".into(),
        subtask: 0,
        run: 1,
        attempt: 0,
        sequence,
    };
    let mut empty = sink.begin_transaction(id(0)).expect("begin");
    sink.pre_commit(&mut empty).expect("pre-commit of nothing");
    sink.commit(&empty).expect("commit of nothing");
    sink.recover_and_commit(&empty).expect("recover of nothing");
    let mut first = sink.begin_transaction(id(1)).expect("begin");
    sink.invoke(&mut first, 1_000_007)
        .expect("the first record");
    sink.pre_commit(&mut first).expect("pre-commit");
    assert!(first.prepared);
    assert_eq!(table.rows(), vec![], "nothing visible before the commit");
    sink.commit(&first).expect("commit");
    sink.recover_and_commit(&first)
        .expect("a second commit finds it committed");
    assert_eq!(table.rows(), vec![(7, 1_000_007)]);
    assert!(pg::prepared_of(&job_id("empty", 0)).is_empty());
}

#[test]
fn a_job_of_one_record_and_empty_checkpoints_commits_that_record_once() {
    setup();
    let table = Table::create("tpc_one", false);
    let b = table.builder(false);
    let stats = TransactionStats::new();
    let env = pg::env(&job_id("one", 0), 0);
    job(&env, 1, pg::config().with_stats(&stats), move |_| {
        Ok(b.build_two_phase_commit())
    });
    env.execute().expect("run");
    assert_eq!(table.rows(), vec![(0, 0)]);
    assert!(
        stats.committed() >= 2,
        "the empty transactions commit too: {stats:?}"
    );
}

/// A sink whose first `bad` commit attempts go to a port where no server listens.
struct Unreachable {
    sink: PostgresTwoPhaseCommitSink<u64>,
    nowhere: PostgresTwoPhaseCommitSink<u64>,
    bad: Arc<AtomicU32>,
}

impl TwoPhaseCommitSink<u64> for Unreachable {
    type Transaction = PostgresTransaction;
    fn begin_transaction(&mut self, id: TransactionId) -> Result<PostgresTransaction, BoxError> {
        self.sink.begin_transaction(id)
    }
    fn invoke(&mut self, t: &mut PostgresTransaction, r: u64) -> Result<(), BoxError> {
        self.sink.invoke(t, r)
    }
    fn pre_commit(&mut self, t: &mut PostgresTransaction) -> Result<(), BoxError> {
        self.sink.pre_commit(t)
    }
    fn commit(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        if t.prepared
            && self
                .bad
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return self.nowhere.commit(t);
        }
        self.sink.commit(t)
    }
    fn abort(&mut self, t: &PostgresTransaction) -> Result<(), BoxError> {
        self.sink.abort(t)
    }
    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        self.sink.prepared_transactions(prefix)
    }
    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        self.sink.abort_prepared(name)
    }
}

#[test]
fn the_server_unreachable_at_commit_is_retried_then_failed_over_and_nothing_is_lost_or_doubled() {
    setup();
    let table = Table::create("tpc_unreachable", false);
    let builder = table.builder(false);
    let nowhere = builder.clone().url("postgres://postgres@127.0.0.1:1/test");
    let bad = Arc::new(AtomicU32::new(5));
    let env = pg::env(&job_id("unreachable", 0), 0);
    let (b, n) = (builder.clone(), bad.clone());
    job(&env, pg::RECORDS, pg::config(), move |_| {
        Ok(Unreachable {
            sink: b.build_two_phase_commit(),
            nowhere: nowhere.build_two_phase_commit(),
            bad: n.clone(),
        })
    });
    let result = env.execute().expect("run");
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "every unreachable attempt was made"
    );
    assert!(
        !result.restarts.is_empty(),
        "two failed attempts of a commit fail the subtask over"
    );
    assert_eq!(table.rows(), pg::expected_rows());
    assert!(pg::prepared_of(&job_id("unreachable", 0)).is_empty());
}

#[test]
fn a_leftover_prepared_transaction_of_the_job_is_rolled_back_on_restore() {
    setup();
    let table = Table::create("tpc_leftover", false);
    let id = job_id("leftover", 0);
    let name = format!("{}0-0-0", TransactionId::subtask_prefix(&id, "sink", 1));
    let mut c = pg::client();
    c.batch_execute(&format!(
        "BEGIN; INSERT INTO {} (k, v) VALUES (-1, -1); PREPARE TRANSACTION '{name}'",
        table.name
    ))
    .expect("prepare a leftover by hand");
    assert_eq!(pg::prepared_of(&id), vec![name.clone()]);
    let b = table.builder(false);
    let env = pg::env(&id, 0);
    job(&env, pg::RECORDS, pg::config(), move |_| {
        Ok(b.build_two_phase_commit())
    });
    env.execute().expect("run");
    assert_eq!(
        table.rows(),
        pg::expected_rows(),
        "the leftover's row is not there"
    );
    assert!(
        pg::prepared_of(&id).is_empty(),
        "the leftover was rolled back"
    );
}

#[test]
fn a_commit_older_than_the_transaction_timeout_is_reported() {
    setup();
    let table = Table::create("tpc_timeout", false);
    for (timeout, late) in [(Duration::ZERO, true), (Duration::from_secs(3_600), false)] {
        table.truncate();
        let stats = TransactionStats::new();
        let config = pg::config()
            .with_stats(&stats)
            .with_transaction_timeout(timeout);
        let b = table.builder(false);
        let env = pg::env(&job_id("timeout", u64::from(late)), 0);
        job(&env, pg::RECORDS, config, move |_| {
            Ok(b.build_two_phase_commit())
        });
        env.execute().expect("run");
        assert_eq!(table.rows(), pg::expected_rows());
        assert_eq!(
            stats.timed_out() > 0,
            late,
            "timeout {timeout:?}: {stats:?}"
        );
    }
}
