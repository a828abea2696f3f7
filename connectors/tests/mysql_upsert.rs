//! The upsert sink against the real MariaDB: after a run with failures anywhere, every key
//! holds what the failure-free run writes, over many seeds.
#![cfg(feature = "mysql")]

#[path = "common/mysql.rs"]
mod mysql_common;

use mysql_common::{Step, Table};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::sink::upsert::UpsertSink;
use weir::{BoxError, Fault, FaultInjector, Target};
use weir_connectors::mysql::{InsertStatement, MySqlUpsertSink};

const RECORDS: u64 = 6_000;

/// Subtask `subtask` of the counting task, in whichever attempt.
fn any_attempt(subtask: u32) -> Target {
    Target {
        attempt: None,
        ..Target::first_attempt("count", subtask)
    }
}

fn seeds() -> u64 {
    match std::env::var("WEIR_MYSQL_SEEDS") {
        Ok(v) => v
            .trim()
            .parse()
            .expect("WEIR_MYSQL_SEEDS: a positive number"),
        Err(_) => 20,
    }
}

/// Fails an upsert batch before or after it is written, with `per_mille` chance each.
struct FlakyUpsert {
    inner: MySqlUpsertSink<u64>,
    rng: u64,
    per_mille: u64,
    fired: Arc<Mutex<BTreeMap<Step, u64>>>,
}

impl FlakyUpsert {
    fn roll(&mut self, step: Step) -> Result<(), BoxError> {
        self.rng = (self.rng)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if (self.rng >> 33) % 1000 < self.per_mille {
            *self.fired.lock().expect("fired").entry(step).or_insert(0) += 1;
            return Err(format!("injected failure at {step:?}").into());
        }
        Ok(())
    }
}

impl UpsertSink<u64> for FlakyUpsert {
    fn upsert(&mut self, records: &[u64]) -> Result<(), BoxError> {
        self.roll(Step::UpsertBefore)?;
        self.inner.upsert(records)?;
        self.roll(Step::UpsertAfter)
    }
}

/// The last running count of each key: what every key holds after a failure-free run.
fn expected_by_key(records: u64) -> BTreeMap<u64, u64> {
    let mut last = BTreeMap::new();
    for v in mysql_common::expected_counts(records) {
        let k = v % 1_000_000;
        let e = last.entry(k).or_insert(v);
        *e = (*e).max(v);
    }
    last
}

#[test]
fn every_key_ends_as_in_the_failure_free_run_whatever_fails() {
    let expected = expected_by_key(RECORDS);
    assert_eq!(expected.len(), 13);
    let fired = Arc::new(Mutex::new(BTreeMap::new()));
    let mut restarts = 0;
    let mut injected: BTreeMap<&str, u64> = BTreeMap::new();
    for seed in 1..=seeds() {
        let table = Table::new("upsert", true);
        let mut env = mysql_common::env(
            &format!("upsert-{}-{seed}", std::process::id()),
            Duration::from_millis(40),
        );
        env.set_fault_injector(
            FaultInjector::new()
                .with(Fault::Random {
                    seed,
                    probability: 0.000_2,
                    uid: Some("count".into()),
                })
                // Every attempt: checkpoint ids are never reused, so each fires once.
                .with(Fault::FailInSnapshot {
                    target: any_attempt((seed % 2) as u32),
                    checkpoint: 2 + seed % 3,
                })
                .with(Fault::FailInCommit {
                    target: any_attempt(((seed + 1) % 2) as u32),
                    checkpoint: 2 + seed % 2,
                }),
        );
        let builder = MySqlUpsertSink::builder(&table.name, table.upsert());
        let f = fired.clone();
        mysql_common::counts(&env, RECORDS)
            .sink_to_upsert(mysql_common::config(), 64, move |info| {
                if mysql_common::fails_open(seed, info, &f) {
                    return Err("injected failure opening the sink".into());
                }
                let s = &info.subtask;
                Ok(FlakyUpsert {
                    inner: builder.build()?,
                    rng: (seed << 20) ^ ((s.attempt as u64) << 8) ^ (s.index as u64 + 1),
                    per_mille: 15,
                    fired: f.clone(),
                })
            })
            .uid("sink");
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        restarts += result.restarts.len();
        for restart in &result.restarts {
            let message = restart.cause.to_string();
            for what in ["random failure", "committing checkpoint"] {
                if message.contains(what) {
                    *injected.entry(what).or_insert(0) += 1;
                }
            }
        }
        assert_eq!(table.by_key(), expected, "seed {seed}: keys differ");
    }
    let fired = fired.lock().expect("fired");
    eprintln!("upsert faults fired: {fired:?}; by the runtime: {injected:?}; restarts: {restarts}");
    for what in ["random failure", "committing checkpoint"] {
        assert!(
            injected.get(what).is_some_and(|n| *n > 0),
            "no {what}: {injected:?}"
        );
    }
    for step in [Step::UpsertBefore, Step::UpsertAfter, Step::Open] {
        assert!(
            fired.get(&step).is_some_and(|n| *n > 0),
            "no failure at {step:?}: {fired:?}"
        );
    }
}

#[test]
fn a_replayed_batch_overwrites_its_keys() {
    let table = Table::new("upsert_replay", true);
    let mut sink = MySqlUpsertSink::builder(&table.name, table.upsert())
        .build()
        .expect("sink");
    sink.upsert(&[1, 2, 1_000_001]).expect("first");
    sink.upsert(&[1, 2, 1_000_001]).expect("replay");
    sink.upsert(&[2_000_002]).expect("newer");
    assert_eq!(
        table.by_key(),
        BTreeMap::from([(1, 1_000_001), (2, 2_000_002)])
    );
    // A failing batch is rolled back whole: the second row violates NOT NULL.
    let failing = InsertStatement::new(
        format!(
            "INSERT INTO {} (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)",
            table.name
        ),
        |v: &u64| {
            let value: mysql::Value = if *v == 0 {
                mysql::Value::NULL
            } else {
                (*v).into()
            };
            vec![(v % 7).into(), value]
        },
    );
    let mut bad = MySqlUpsertSink::builder(&table.name, failing)
        .build()
        .expect("sink");
    let error = bad.upsert(&[3, 0]).expect_err("NULL is refused");
    assert!(error.to_string().contains(&table.name), "{error}");
    assert_eq!(
        table.by_key().len(),
        2,
        "the batch's first row was rolled back"
    );
}
