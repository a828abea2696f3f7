//! The XA sink against the real MariaDB: exactly-once over many seeds with failures in every
//! step of the protocol, empty checkpoints, the first record, and a prepared transaction a
//! crashed deployment left.
#![cfg(feature = "mysql")]

#[path = "common/mysql.rs"]
mod mysql_common;

use mysql::prelude::Queryable;
use mysql_common::{Flaky, Step, Table};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::sink::two_phase_commit::{TransactionId, TransactionStats, TwoPhaseCommitSink};
use weir::{Fault, FaultInjector, Target};
use weir_connectors::mysql::MySqlXaSink;

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

fn job_id(tag: &str, seed: u64) -> String {
    format!("{tag}-{}-{seed}", std::process::id())
}

#[test]
fn every_row_is_committed_exactly_once_whatever_fails() {
    let expected = mysql_common::expected_counts(RECORDS);
    let fired = Arc::new(Mutex::new(BTreeMap::new()));
    let mut injected: BTreeMap<&str, u64> = BTreeMap::new();
    for seed in 1..=seeds() {
        let table = Table::new("xa", false);
        let job = job_id("xa-sweep", seed);
        let mut env = mysql_common::env(&job, Duration::from_millis(40));
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
        let builder = MySqlXaSink::builder(&table.name, table.insert()).batch_size(64);
        let f = fired.clone();
        mysql_common::counts(&env, RECORDS)
            .sink_to_two_phase_commit(mysql_common::config(), move |info| {
                if mysql_common::fails_open(seed, info, &f) {
                    return Err("injected failure opening the sink".into());
                }
                let s = &info.subtask;
                Ok(Flaky {
                    inner: builder.build()?,
                    rng: (seed << 20) ^ ((s.attempt as u64) << 8) ^ (s.index as u64 + 1),
                    per_mille: 40,
                    steps: vec![Step::PreCommit, Step::CommitAfter, Step::RecoverCommit],
                    fired: f.clone(),
                })
            })
            .uid("sink");
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        for restart in &result.restarts {
            let message = restart
                .cause
                .task_failure()
                .map_or("", |f| f.error.message.as_str());
            // (A failed snapshot declines its checkpoint without a restart: not counted here.)
            for what in ["random failure", "committing checkpoint"] {
                if message.contains(what) {
                    *injected.entry(what).or_insert(0) += 1;
                }
            }
        }
        mysql_common::assert_same_rows(&table.values(), &expected, &format!("seed {seed}"));
        let left = mysql_common::prepared_of(&job);
        assert!(left.is_empty(), "seed {seed}: left prepared: {left:?}");
    }
    let fired = fired.lock().expect("fired");
    eprintln!("sink faults fired: {fired:?}; injected by the runtime: {injected:?}");
    for step in [
        Step::PreCommit,
        Step::CommitAfter,
        Step::RecoverCommit,
        Step::Open,
    ] {
        assert!(
            fired.get(&step).is_some_and(|n| *n > 0),
            "no failure at {step:?}: {fired:?}"
        );
    }
    // (A failed snapshot declines its checkpoint without a restart: not counted here.)
    for what in ["random failure", "committing checkpoint"] {
        assert!(
            injected.get(what).is_some_and(|n| *n > 0),
            "no {what}: {injected:?}"
        );
    }
}

fn id(job: &str, sequence: u64) -> TransactionId {
    TransactionId {
        job_id: job.into(),
        operator_uid: "sink".into(),
        subtask: 0,
        run: 1,
        attempt: 0,
        sequence,
    }
}

#[test]
fn an_empty_checkpoint_commits_cleanly() {
    let table = Table::new("xa_empty", false);
    let job = job_id("xa-empty", 0);
    let mut sink = MySqlXaSink::builder(&table.name, table.insert())
        .build()
        .expect("sink");
    // Empty: prepared, committed, committed again on restore.
    let mut empty = sink.begin_transaction(id(&job, 0)).expect("begin");
    sink.pre_commit(&mut empty).expect("empty pre-commit");
    sink.commit(&empty).expect("empty commit");
    sink.recover_and_commit(&empty).expect("empty recover");
    // Then a transaction with rows, on the same sink.
    let mut full = sink.begin_transaction(id(&job, 1)).expect("begin");
    sink.invoke(&mut full, 5).expect("invoke");
    sink.pre_commit(&mut full).expect("pre-commit");
    assert_eq!(
        mysql_common::prepared_of(&job).len(),
        1,
        "prepared after XA PREPARE"
    );
    sink.commit(&full).expect("commit");
    assert_eq!(table.values(), vec![5]);
    assert!(mysql_common::prepared_of(&job).is_empty());

    // A job whose checkpoints hold nothing at all.
    let stats = TransactionStats::new();
    let env = mysql_common::env(&job_id("xa-empty-job", 0), Duration::from_millis(10));
    let builder = MySqlXaSink::builder(&table.name, table.insert());
    env.generate_sequence(0, 49_999)
        .uid("numbers")
        .filter(|_| false)
        .sink_to_two_phase_commit(mysql_common::config().with_stats(&stats), move |_| {
            Ok(builder.build()?)
        })
        .uid("sink");
    let result = env.execute().expect("runs");
    assert!(result.restarts.is_empty(), "{:?}", result.restarts);
    assert!(stats.committed() >= 2, "committed {}", stats.committed());
    assert_eq!(table.values(), vec![5]);
}

#[test]
fn the_first_record_is_never_lost() {
    for records in [1, 2] {
        let table = Table::new("xa_first", false);
        let env = mysql_common::env(&job_id("xa-first", records), Duration::from_millis(20));
        let builder = MySqlXaSink::builder(&table.name, table.insert());
        env.generate_sequence(0, records - 1)
            .uid("numbers")
            .sink_to_two_phase_commit(mysql_common::config(), move |_| Ok(builder.build()?))
            .uid("sink");
        env.execute().expect("runs");
        assert_eq!(table.values(), (0..records).collect::<Vec<_>>());
    }
}

/// Prepares `name` with one row `v` in `table` on a connection that is then dropped.
fn prepare_by_hand(table: &Table, name: &str, v: u64) {
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    let mut c = mysql_common::connect();
    c.query_drop(format!("XA START X'{hex}'")).expect("start");
    c.query_drop(format!("INSERT INTO {} (k, v) VALUES (0, {v})", table.name))
        .expect("insert");
    c.query_drop(format!("XA END X'{hex}'")).expect("end");
    c.query_drop(format!("XA PREPARE X'{hex}'"))
        .expect("prepare");
}

#[test]
fn a_leftover_prepared_transaction_of_the_job_is_rolled_back_and_others_are_kept() {
    let table = Table::new("xa_leftover", false);
    let job = job_id("xa-leftover", 0);
    let other = job_id("xa-other", 0);
    let leftover = TransactionId::subtask_prefix(&job, "sink", 1) + "1-0-99";
    let foreign = TransactionId::subtask_prefix(&other, "sink", 1) + "1-0-0";
    prepare_by_hand(&table, &leftover, 424_242);
    prepare_by_hand(&table, &foreign, 7);
    let env = mysql_common::env(&job, Duration::from_millis(20));
    let builder = MySqlXaSink::builder(&table.name, table.insert());
    mysql_common::counts(&env, 500)
        .sink_to_two_phase_commit(mysql_common::config(), move |_| Ok(builder.build()?))
        .uid("sink");
    env.execute().expect("runs");
    mysql_common::assert_same_rows(&table.values(), &mysql_common::expected_counts(500), "rows");
    assert!(
        mysql_common::prepared_of(&job).is_empty(),
        "the leftover stays"
    );
    assert_eq!(mysql_common::prepared_of(&other), vec![foreign.clone()]);
    let hex: String = foreign.bytes().map(|b| format!("{b:02x}")).collect();
    (mysql_common::connect())
        .query_drop(format!("XA ROLLBACK X'{hex}'"))
        .expect("clean up");
}
