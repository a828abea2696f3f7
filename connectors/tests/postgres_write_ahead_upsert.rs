//! The PostgreSQL write-ahead and upsert sinks against the real server, over many seeds with
//! failures in processing and before and after each write: the write-ahead table equals the
//! failure-free run's row for row, the upsert table key for key; a batch written twice is
//! written once.

#[path = "common/pg.rs"]
mod pg;

use pg::{Chance, Step, Table};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use weir::sink::two_phase_commit::TransactionId;
use weir::sink::upsert::UpsertSink;
use weir::sink::write_ahead::{BatchOutcome, WriteAheadSink};
use weir::{BoxError, DataStream, Fault, FaultInjector, StreamEnvironment};

/// Fails before or after the inner sink's write, as `chance` says.
struct Flaky<S> {
    sink: S,
    chance: Chance,
}

impl<W: WriteAheadSink<u64>> WriteAheadSink<u64> for Flaky<W> {
    fn write_batch(
        &mut self,
        batch: &TransactionId,
        records: &[u64],
    ) -> Result<BatchOutcome, BoxError> {
        self.chance.fails(Step::Commit)?;
        let outcome = self.sink.write_batch(batch, records)?;
        self.chance.fails(Step::AfterCommit)?;
        Ok(outcome)
    }
}

impl<U: UpsertSink<u64>> UpsertSink<u64> for Flaky<U> {
    fn upsert(&mut self, records: &[u64]) -> Result<(), BoxError> {
        self.chance.fails(Step::Invoke)?;
        self.sink.upsert(records)?;
        self.chance.fails(Step::AfterCommit)
    }
}

/// sequence → key_by → running count per key.
fn counts(env: &StreamEnvironment) -> DataStream<u64> {
    env.generate_sequence(0, pg::RECORDS - 1)
        .uid("numbers")
        .key_by(|x| x % pg::KEYS)
        .map(|x| x % pg::KEYS)
        .uid("key")
        .key_by(|k| *k)
        .reduce(|a, _| a + 1_000_000)
        .uid("count")
}

fn faults(seed: u64) -> FaultInjector {
    FaultInjector::new().with(Fault::Random {
        seed,
        probability: 0.000_2,
        uid: Some("count".into()),
    })
}

/// Runs the sweep of `run(env, seed, fired)` over the seeds, checking `table` against
/// `expected` after each, and that `steps` fired.
fn sweep(
    table: &Table,
    expected: &[(i64, i64)],
    steps: &[Step],
    run: impl Fn(&mut StreamEnvironment, u64, &Arc<Mutex<BTreeMap<Step, u64>>>),
) {
    let fired = Arc::new(Mutex::new(BTreeMap::new()));
    let mut restarts = 0;
    for seed in 1..=pg::seeds(20) {
        table.truncate();
        let mut env = pg::env(&format!("{}-{seed}", table.name), seed);
        env.set_fault_injector(faults(seed));
        run(&mut env, seed, &fired);
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        restarts += result.restarts.len();
        assert_eq!(table.rows(), expected, "seed {seed}: rows differ");
    }
    let fired = fired.lock().expect("fired").clone();
    eprintln!(
        "{}: {restarts} restarts, sink failures {fired:?}",
        table.name
    );
    for step in steps {
        assert!(
            fired.get(step).is_some_and(|n| *n > 0),
            "no failure at {step:?}: {fired:?}"
        );
    }
    assert!(restarts > 0, "no restart at all");
}

#[test]
fn the_write_ahead_sink_writes_every_row_exactly_once_whatever_fails() {
    let _ = pg::client();
    let table = Table::create("wal_sweep", false);
    let builder = table.builder(false);
    let env = pg::env(&format!("{}-free", table.name), 0);
    let b = builder.clone();
    counts(&env)
        .sink_to_write_ahead(pg::config(), move |_| Ok(b.build_write_ahead()))
        .uid("sink");
    env.execute().expect("failure-free run");
    let expected = table.rows();
    assert_eq!(expected, pg::expected_rows(), "the failure-free run");
    sweep(
        &table,
        &expected,
        &[Step::Commit, Step::AfterCommit],
        |env, seed, fired| {
            let (b, f) = (builder.clone(), fired.clone());
            counts(env)
                .sink_to_write_ahead(pg::config(), move |info| {
                    Ok(Flaky {
                        sink: b.build_write_ahead(),
                        chance: Chance::new(seed, info, 60, &f),
                    })
                })
                .uid("sink");
        },
    );
}

#[test]
fn a_write_ahead_batch_written_before_is_not_written_again() {
    let _ = pg::client();
    let table = Table::create("wal_twice", false);
    let mut sink = table.builder(false).build_write_ahead();
    let batch = TransactionId {
        job_id: table.name.clone(),
        operator_uid: "sink".into(),
        subtask: 0,
        run: 1,
        attempt: 0,
        sequence: 0,
    };
    assert_eq!(
        sink.write_batch(&batch, &[3, 1_000_003]).expect("write"),
        BatchOutcome::Written
    );
    let mut again = table.builder(false).build_write_ahead();
    assert_eq!(
        again
            .write_batch(&batch, &[3, 1_000_003])
            .expect("write again"),
        BatchOutcome::AlreadyWritten
    );
    assert_eq!(table.rows(), vec![(3, 3), (3, 1_000_003)]);
}

#[test]
fn the_upsert_sink_ends_with_the_failure_free_value_of_every_key_whatever_fails() {
    let _ = pg::client();
    let table = Table::create("upsert_sweep", true);
    let builder = table.builder(true);
    let env = pg::env(&format!("{}-free", table.name), 0);
    let b = builder.clone();
    counts(&env)
        .sink_to_upsert(pg::config(), 50, move |_| {
            Ok(b.build_upsert(|r| r % 1_000_000))
        })
        .uid("sink");
    env.execute().expect("failure-free run");
    let expected = table.rows();
    assert_eq!(expected, pg::expected_by_key(), "the failure-free run");
    sweep(
        &table,
        &expected,
        &[Step::Invoke, Step::AfterCommit],
        |env, seed, fired| {
            let (b, f) = (builder.clone(), fired.clone());
            counts(env)
                .sink_to_upsert(pg::config(), 50, move |info| {
                    Ok(Flaky {
                        sink: b.build_upsert(|r| r % 1_000_000),
                        chance: Chance::new(seed, info, 20, &f),
                    })
                })
                .uid("sink");
        },
    );
}
