//! The Kafka source when things change or go wrong: a topic created while an unbounded job
//! runs is read; a topic that does not exist fails the start; a checkpointed offset the broker
//! no longer holds (the topic was recreated) fails with `OffsetOutOfRange`, or resumes at the
//! earliest offset when the policy says so; a broker unreachable at start fails the job after
//! the retries, and one lost mid-run fails it over until it is back, with nothing lost or
//! doubled; the deterministic mode is refused.

#[path = "common/kafka.rs"]
mod kafka_common;

use kafka_common::{OwnBroker, Topic};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::{
    CommittedCollector, ExternalizedCheckpointRetention, RestartStrategyConfig, StreamEnvironment,
};
use weir_connectors::kafka::{
    value_string, KafkaRecord, KafkaSource, KafkaSourceBuilder, OffsetResetPolicy, RetryPolicy,
};

fn values(prefix: &str, n: usize) -> Vec<kafka_common::KeyValue> {
    (0..n)
        .map(|i| (None, format!("{prefix}{i}").into_bytes()))
        .collect()
}

fn env(job: &str) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_job_id(job)
        .enable_checkpointing(Duration::from_millis(20))
        .set_restart_strategy(RestartStrategyConfig::NoRestart);
    env
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_duration: Duration::from_secs(2),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn a_topic_created_while_an_unbounded_job_runs_is_read() {
    let prefix = kafka_common::unique("grow");
    let first = Topic::on(&kafka_common::broker(), &format!("{prefix}-a"), 2);
    first.produce(0, values("a", 5));
    first.produce(1, values("b", 5));
    let env = env(&kafka_common::unique("kafka-grow"));
    let test_prefix = format!("weir-{prefix}-");
    let source = KafkaSource::builder()
        .topics_matching(move |name| name.starts_with(&test_prefix))
        .partition_discovery_interval(Duration::from_millis(100))
        .build(value_string());
    let out = env
        .from_source(source, "Source: Kafka")
        .uid("kafka")
        .collect();
    let job = env.spawn().expect("the job starts");
    kafka_common::poll(Duration::from_secs(20), "the first topic's records", || {
        out.len() >= 10
    });
    let second = Topic::on(&kafka_common::broker(), &format!("{prefix}-b"), 1);
    second.produce(0, values("c", 3));
    kafka_common::poll(Duration::from_secs(20), "the new topic's records", || {
        out.len() >= 13
    });
    job.cancel();
    let _ = job.wait_blocking();
    let mut want: Vec<String> = ["a", "b", "c"]
        .iter()
        .flat_map(|p| (0..if *p == "c" { 3 } else { 5 }).map(move |i| format!("{p}{i}")))
        .collect();
    want.sort();
    assert_eq!(sorted(out.records()), want);
}

#[test]
fn a_topic_that_does_not_exist_fails_the_start_naming_it() {
    let missing = kafka_common::unique("missing");
    let env = env(&kafka_common::unique("kafka-missing"));
    let source = KafkaSource::builder()
        .bootstrap_servers(&kafka_common::broker())
        .topics([missing.clone()])
        .bounded()
        .build(value_string());
    env.from_source(source, "Source: Kafka")
        .uid("kafka")
        .discard();
    let err = env
        .execute()
        .expect_err("a missing topic fails the job")
        .to_string();
    assert!(
        err.contains(&format!("topic {missing:?} does not exist")),
        "the error names the topic: {err}"
    );
}

/// Run 1 reads 100 records of a one-partition topic and dies once output was committed past
/// record 40; the topic is then recreated with 5 other records, and run 2 restores run 1's
/// checkpoint, whose offset the broker no longer holds. Returns run 2's outcome and output.
fn recreated_topic_run(
    policy: OffsetResetPolicy,
) -> (Result<weir::JobResult, weir::Error>, Vec<String>, Topic) {
    let topic = Topic::new("recreated", 1);
    topic.produce(0, values("old", 100));
    let dir = std::env::temp_dir().join(kafka_common::unique("kafka-chk"));
    let job = kafka_common::unique("kafka-recreated");
    let out = CommittedCollector::new();
    let make = |source: KafkaSourceBuilder| {
        let mut env = env(&job);
        // Small batches: barriers come between records.
        // One subtask: the topic has one partition.
        env.set_checkpoint_dir(&dir)
            .set_batch_size(4)
            .set_parallelism(1);
        env.checkpoint_config_mut().externalized_retention =
            ExternalizedCheckpointRetention::RetainOnCancellation;
        let source = (source
            .bootstrap_servers(&topic.url)
            .topics([topic.name.clone()])
            .bounded())
        .offset_reset_policy(policy)
        .fetch_max_bytes(256)
        .build(|r: KafkaRecord<'_>| Ok(String::from_utf8(r.value.unwrap_or_default().to_vec())?));
        (env, source)
    };
    let (first, source) = make(KafkaSource::builder());
    let (committed, killed, seen) = (
        out.clone(),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    first
        .from_source(source, "Source: Kafka")
        .uid("kafka")
        .map(move |v: String| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let enough = committed.len() > 20 || n >= 99;
            if n >= 40 && enough && !killed.swap(true, Ordering::SeqCst) {
                panic!("injected failure at record {n}");
            }
            // Some work per record, so the run spans checkpoints.
            std::hint::black_box(kafka_common::work(n, 2_000_000));
            v
        })
        .uid("work")
        .collect_committed(&out)
        .uid("committed");
    let run1 = first.execute();
    assert!(
        run1.is_err(),
        "run 1 fails: {run1:?} ({} committed)",
        out.len()
    );
    assert!(out.len() > 10, "run 1 committed {} records", out.len());
    topic.delete();
    topic.create(1);
    // Fewer than run 1 committed: its checkpointed offset lies past the new end.
    topic.produce(0, values("new", 5));
    let (mut second, source) = make(KafkaSource::builder());
    second
        .restore_from_latest(&dir)
        .expect("run 1's checkpoint");
    second
        .from_source(source, "Source: Kafka")
        .uid("kafka")
        .map(|v: String| v)
        .uid("work")
        .collect_committed(&out)
        .uid("committed");
    let result = second.execute();
    let _ = std::fs::remove_dir_all(&dir);
    let new: Vec<String> = out
        .records()
        .into_iter()
        .filter(|v| v.starts_with("new"))
        .collect();
    (result, sorted(new), topic)
}

#[test]
fn a_checkpointed_offset_the_broker_no_longer_holds_fails_naming_it() {
    // Run 2 restarts on failures: the out-of-range error must fail it at once all the same.
    let (result, new, topic) = recreated_topic_run(OffsetResetPolicy::None);
    let err = result.expect_err("out of range fails the job");
    if let weir::Error::Job(weir::JobError::RestartsExhausted { .. }) = &err {
        panic!("the job restarted instead of failing at once: {err}");
    }
    let err = err.to_string();
    let name = format!("of {}-0 is out of range", topic.name);
    assert!(
        err.contains(&name) && err.contains("offset "),
        "the error names topic, partition and offset: {err}"
    );
    assert!(new.is_empty(), "nothing of the new topic is read: {new:?}");
}

#[test]
fn with_the_earliest_policy_a_lost_offset_resumes_at_the_earliest() {
    let (result, new, _topic) = recreated_topic_run(OffsetResetPolicy::Earliest);
    result.expect("run 2 resumes");
    let want: Vec<String> = sorted((0..5).map(|i| format!("new{i}")).collect());
    assert_eq!(new, want, "the recreated topic is read from its start");
}

#[test]
fn a_broker_unreachable_at_start_fails_the_job_after_the_retries() {
    let port = kafka_common::free_port();
    let env = env(&kafka_common::unique("kafka-down"));
    let source = KafkaSource::builder()
        .bootstrap_servers(&format!("127.0.0.1:{port}"))
        .topics(["anything"])
        .retry_policy(quick_retries())
        .bounded()
        .build(value_string());
    env.from_source(source, "Source: Kafka")
        .uid("kafka")
        .discard();
    let started = std::time::Instant::now();
    let err = env
        .execute()
        .expect_err("no broker fails the job")
        .to_string();
    assert!(
        err.contains("unreachable") && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the retries are bounded"
    );
}

#[test]
fn a_broker_lost_mid_run_fails_the_job_over_until_it_is_back_and_nothing_is_lost_or_doubled() {
    let broker = OwnBroker::start();
    let topic = Topic::on(&broker.url(), "midrun", 2);
    let produce = |from: usize| {
        for p in 0..2 {
            let records = (from..from + 500).map(|i| (None, format!("p{p}-{i}").into_bytes()));
            topic.produce_in_batches(p, records.collect(), 50);
        }
    };
    produce(0);
    let mut env = env(&kafka_common::unique("kafka-midrun"));
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 1_000,
        delay: Duration::from_millis(20),
    });
    let source = KafkaSource::builder()
        .bootstrap_servers(&broker.url())
        .topics([topic.name.clone()])
        .retry_policy(quick_retries())
        .build(value_string());
    let out = CommittedCollector::new();
    env.from_source(source, "Source: Kafka")
        .uid("kafka")
        .collect_committed(&out)
        .uid("committed");
    let job = env.spawn().expect("starts");
    kafka_common::poll(Duration::from_secs(30), "the first half committed", || {
        out.len() >= 1_000
    });
    // The fetchers wait at the partitions' ends when the connections go.
    broker.proxy.cut();
    let unreachable = || {
        (job.restart_history().iter()).any(|r| {
            r.cause
                .task_failure()
                .is_some_and(|f| f.error.message.contains("unreachable"))
        })
    };
    kafka_common::poll(
        Duration::from_secs(30),
        "a failover for the unreachable broker",
        unreachable,
    );
    assert!(broker.proxy.refused() > 0, "the source tried to reconnect");
    broker.proxy.restore();
    produce(500);
    kafka_common::poll(Duration::from_secs(30), "the second half committed", || {
        out.len() >= 2_000
    });
    let restarts = job.restart_history().len();
    job.cancel();
    let _ = job.wait_blocking();
    assert!(restarts > 0);
    let mut want: Vec<String> = (0..2)
        .flat_map(|p| (0..1_000).map(move |i| format!("p{p}-{i}")))
        .collect();
    want.sort();
    assert_eq!(sorted(out.records()), want, "every record once");
}

#[test]
fn the_deterministic_mode_is_refused_with_a_typed_error() {
    let topic = Topic::new("deterministic", 1);
    let mut env = env(&kafka_common::unique("kafka-deterministic"));
    env.set_deterministic(7)
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(5),
        });
    let source = KafkaSource::builder()
        .bootstrap_servers(&topic.url)
        .topics([topic.name.clone()])
        .bounded()
        .build(value_string());
    env.from_source(source, "Source: Kafka")
        .uid("kafka")
        .discard();
    let err = env.execute().expect_err("refused").to_string();
    assert!(err.contains("cannot run in deterministic mode"), "{err}");
}
