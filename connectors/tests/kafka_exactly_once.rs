//! Exactly-once from Kafka: a bounded Kafka source → key_by → a running sum → the in-process
//! exactly-once sink, with random failures that restart the job from its latest checkpoint,
//! commits output identical to the failure-free run, record for record, over
//! `WEIR_KAFKA_SEEDS` seeds (default 20); and a job killed and restored from its checkpoint
//! resumes every partition at exactly its checkpointed offset.

#[path = "common/kafka.rs"]
mod kafka_common;

use kafka_common::Topic;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use weir::{
    CommittedCollector, ExternalizedCheckpointRetention, Fault, FaultInjector, JobResult,
    RestartStrategyConfig, StreamEnvironment,
};
use weir_connectors::kafka::{KafkaRecord, KafkaSource};

const RECORDS: u64 = 6_000;
const PARTITIONS: i32 = 3;
const KEYS: u64 = 60;

/// `(key, partition, offset, running sum of the key's values, run)`.
type Out = (u64, i32, i64, u64, u8);

/// A topic holding `RECORDS` records: record `i` has key `i % KEYS` and value `i`, in partition
/// `key % PARTITIONS` (so each key is read by one subtask, in offset order).
fn filled_topic(tag: &str) -> Topic {
    let topic = Topic::new(tag, PARTITIONS);
    let mut by_partition: BTreeMap<i32, Vec<kafka_common::KeyValue>> = BTreeMap::new();
    for i in 0..RECORDS {
        let key = i % KEYS;
        let partition = (key % PARTITIONS as u64) as i32;
        (by_partition.entry(partition).or_default()).push((
            Some(key.to_string().into_bytes()),
            i.to_string().into_bytes(),
        ));
    }
    for (partition, records) in by_partition {
        topic.produce(partition, records);
    }
    topic
}

fn number(bytes: Option<&[u8]>) -> Result<u64, weir::BoxError> {
    Ok(std::str::from_utf8(bytes.unwrap_or_default())?.parse()?)
}

fn source(topic: &Topic, run: u8) -> KafkaSource<Out> {
    KafkaSource::builder()
        .bootstrap_servers(&topic.url)
        .topics([topic.name.clone()])
        .bounded()
        // Small fetches: the job spans many checkpoints.
        .fetch_max_bytes(2_048)
        .build(move |r: KafkaRecord<'_>| {
            Ok((number(r.key)?, r.partition, r.offset, number(r.value)?, run))
        })
}

/// Called with every record's count before the keyed sum (it may panic).
type Kill = Arc<dyn Fn(u64) + Send + Sync>;

/// The job: `kill` (if any) sees every record; `work` rounds of CPU work per record.
fn build(
    env: &StreamEnvironment,
    topic: &Topic,
    (run, work): (u8, u64),
    out: &CommittedCollector<Out>,
    kill: Option<Kill>,
) {
    let seen = Arc::new(AtomicU64::new(0));
    env.from_source(source(topic, run), "Source: Kafka")
        .uid("kafka")
        .map(move |r: Out| {
            let n = seen.fetch_add(1, Ordering::Relaxed);
            if let Some(kill) = &kill {
                kill(n);
            }
            // Some work per record, so the job spans many 10 ms checkpoints.
            std::hint::black_box(kafka_common::work(r.2 as u64, work));
            r
        })
        .uid("work")
        .key_by(|r: &Out| r.0)
        .reduce(|a: Out, b: Out| (b.0, b.1, b.2, a.3 + b.3, b.4))
        .uid("sum")
        .collect_committed(out)
        .uid("committed");
}

fn sorted(mut v: Vec<Out>) -> Vec<Out> {
    v.sort();
    v
}

fn failure_free(topic: &Topic) -> Vec<Out> {
    let out = CommittedCollector::new();
    let env = kafka_common::env(&kafka_common::unique("kafka-free"), 32);
    build(&env, topic, (0, 3_000), &out, None);
    let result = env.execute().expect("the failure-free run");
    assert!(result.restarts.is_empty(), "{:?}", result.restarts);
    sorted(out.records())
}

/// Restarts of `result` that restored a checkpoint, and all its restarts.
fn restarts(result: &JobResult) -> (usize, usize) {
    let restored = (result.restarts.iter())
        .filter(|r| r.restored_from.is_some())
        .count();
    (restored, result.restarts.len())
}

#[test]
fn random_failures_commit_exactly_the_failure_free_output() {
    let topic = filled_topic("eo-sweep");
    let expected = failure_free(&topic);
    assert_eq!(expected.len() as u64, RECORDS, "one output per record");
    let seeds = kafka_common::seed_count("WEIR_KAFKA_SEEDS", 20);
    assert!(seeds > 0, "WEIR_KAFKA_SEEDS=0 tests nothing");
    let (mut seeds_restored, mut failures) = (0, 0);
    for seed in 1..=seeds {
        let out = CommittedCollector::new();
        let mut env = kafka_common::env(&kafka_common::unique("kafka-sweep"), 32);
        env.set_fault_injector(FaultInjector::new().with(Fault::Random {
            seed,
            probability: 0.000_5,
            uid: Some("sum".into()),
        }));
        build(&env, &topic, (0, 3_000), &out, None);
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let (restored, all) = restarts(&result);
        failures += all;
        seeds_restored += u64::from(restored > 0);
        let got = sorted(out.records());
        assert_eq!(
            got.len(),
            expected.len(),
            "seed {seed}: record count ({all} restarts)"
        );
        assert!(
            got == expected,
            "seed {seed}: committed output differs from the failure-free run"
        );
    }
    eprintln!("{seeds} seeds: {failures} failures, {seeds_restored} seeds restored a checkpoint");
    assert!(
        failures as u64 >= seeds,
        "too few failures fired: {failures} over {seeds} seeds"
    );
    assert!(
        seeds_restored * 10 >= seeds * 8,
        "only {seeds_restored} of {seeds} seeds restored from a checkpoint"
    );
}

#[test]
fn a_restored_job_resumes_each_partition_at_its_checkpointed_offset() {
    let topic = filled_topic("eo-resume");
    let mut resumed_mid_partition = 0;
    for seed in 0..3u64 {
        let dir = std::env::temp_dir().join(kafka_common::unique("kafka-chk"));
        let job = kafka_common::unique("kafka-resume");
        let out = CommittedCollector::new();
        let setup = |env: &mut StreamEnvironment| {
            env.set_restart_strategy(RestartStrategyConfig::NoRestart)
                .set_checkpoint_dir(&dir);
            env.checkpoint_config_mut().externalized_retention =
                ExternalizedCheckpointRetention::RetainOnCancellation;
        };
        // Run 1 dies once output was committed, past a point chosen by the seed.
        let mut first = kafka_common::env(&job, 32);
        setup(&mut first);
        let (committed, killed) = (out.clone(), Arc::new(AtomicBool::new(false)));
        let at = RECORDS / 4 + seed * RECORDS / 6;
        let kill: Kill = Arc::new(move |n| {
            if n >= at && !committed.is_empty() && !killed.swap(true, Ordering::SeqCst) {
                panic!("injected failure at record {n}");
            }
        });
        build(&first, &topic, (1, 100_000), &out, Some(kill));
        let failed = first.execute();
        assert!(failed.is_err(), "seed {seed}: run 1 must fail: {failed:?}");
        // Run 2 restores the latest checkpoint.
        let mut second = kafka_common::env(&job, 32);
        setup(&mut second);
        second
            .restore_from_latest(&dir)
            .unwrap_or_else(|e| panic!("seed {seed}: restore: {e}"));
        build(&second, &topic, (2, 3_000), &out, None);
        second
            .execute()
            .unwrap_or_else(|e| panic!("seed {seed}: run 2: {e}"));
        let _ = std::fs::remove_dir_all(&dir);
        resumed_mid_partition += check_resume(seed, &out.records());
    }
    assert!(
        resumed_mid_partition > 0,
        "no restore resumed inside a partition"
    );
}

/// Every partition's offsets appear once each: run 1 committed `0..f`, run 2 `f..end`; the
/// number of partitions where `f > 0`.
fn check_resume(seed: u64, records: &[Out]) -> usize {
    let mut per_partition: BTreeMap<i32, BTreeMap<u8, Vec<i64>>> = BTreeMap::new();
    for r in records {
        (per_partition
            .entry(r.1)
            .or_default()
            .entry(r.4)
            .or_default())
        .push(r.2);
    }
    let mut mid = 0;
    for p in 0..PARTITIONS {
        let runs = per_partition.remove(&p).unwrap_or_default();
        let mut first = runs.get(&1).cloned().unwrap_or_default();
        let mut second = runs.get(&2).cloned().unwrap_or_default();
        first.sort_unstable();
        second.sort_unstable();
        let resume = first.len() as i64;
        let end = (RECORDS / PARTITIONS as u64) as i64;
        assert_eq!(
            first,
            (0..resume).collect::<Vec<_>>(),
            "seed {seed}: run 1 of partition {p}"
        );
        assert_eq!(
            second,
            (resume..end).collect::<Vec<_>>(),
            "seed {seed}: run 2 of partition {p} resumes at {resume}"
        );
        mid += usize::from(resume > 0 && resume < end);
    }
    mid
}
