//! The Kafka sink against the real broker: a failure-free job produces every record once, a
//! record's key keeps it in one partition; with random failures every record is produced at
//! least once; a missing topic and an unreachable broker are typed errors.

#[path = "common/kafka.rs"]
mod kafka_common;

use kafka_common::Topic;
use std::collections::BTreeMap;
use std::time::Duration;
use weir::{Fault, FaultInjector};
use weir_connectors::kafka::{KafkaSink, KafkaSinkBuilder, ProducerRecord, RetryPolicy};

const RECORDS: u64 = 5_000;

/// Records `x` with key `x % 10`.
fn sink(topic: &Topic) -> KafkaSinkBuilder<u64> {
    KafkaSink::builder(&topic.name, |x: &u64| {
        Ok(ProducerRecord::value(x.to_string()).with_key((x % 10).to_string()))
    })
    .bootstrap_servers(&topic.url)
    .batch_size(100)
}

/// How often each value is in the topic, and the partitions each key went to.
fn contents(topic: &Topic, partitions: i32) -> (BTreeMap<u64, u32>, BTreeMap<String, Vec<i32>>) {
    let (mut counts, mut keys) = (BTreeMap::new(), BTreeMap::<String, Vec<i32>>::new());
    for p in 0..partitions {
        for (_, key, value) in topic.read(p, 0) {
            let v: u64 = String::from_utf8(value)
                .expect("text")
                .parse()
                .expect("a number");
            *counts.entry(v).or_insert(0) += 1;
            let key = String::from_utf8(key.unwrap_or_default()).expect("text");
            let ps = keys.entry(key).or_default();
            if !ps.contains(&p) {
                ps.push(p);
            }
        }
    }
    (counts, keys)
}

fn run(topic: &Topic, faults: Option<u64>) -> weir::JobResult {
    let mut env = kafka_common::env(&kafka_common::unique("kafka-sink"), 64);
    if let Some(seed) = faults {
        env.set_fault_injector(FaultInjector::new().with(Fault::Random {
            seed,
            probability: 0.000_5,
            uid: Some("sink".into()),
        }));
    }
    let builder = sink(topic);
    env.generate_sequence(0, RECORDS - 1)
        .uid("numbers")
        .rebalance()
        .sink_to(move |_| Ok(builder.build()?))
        .uid("sink");
    env.execute().expect("the job runs")
}

#[test]
fn a_failure_free_job_produces_every_record_once_and_a_key_to_one_partition() {
    let topic = Topic::new("sink-once", 3);
    run(&topic, None);
    let (counts, keys) = contents(&topic, 3);
    assert_eq!(counts.len() as u64, RECORDS, "every value");
    assert!(counts.values().all(|&n| n == 1), "none twice");
    assert!(
        keys.values().all(|ps| ps.len() == 1),
        "a key in one partition: {keys:?}"
    );
}

#[test]
fn with_failures_every_record_is_produced_at_least_once() {
    let topic = Topic::new("sink-faults", 2);
    let mut restarts = 0;
    for seed in 1..=3 {
        restarts += run(&topic, Some(seed)).restarts.len();
    }
    assert!(restarts > 0, "no failure fired");
    let (counts, _) = contents(&topic, 2);
    assert_eq!(counts.len() as u64, RECORDS, "every value at least once");
    assert!(
        counts.values().all(|&n| n >= 3),
        "each of the 3 runs produced every value"
    );
}

#[test]
fn a_missing_topic_and_an_unreachable_broker_are_typed_errors() {
    let missing = kafka_common::unique("sink-missing");
    let err = KafkaSink::builder(&missing, |x: &u64| Ok(ProducerRecord::value(x.to_string())))
        .bootstrap_servers(&kafka_common::broker())
        .build()
        .err()
        .expect("a missing topic");
    assert!(
        err.to_string()
            .contains(&format!("topic {missing:?} does not exist")),
        "{err}"
    );
    let port = kafka_common::free_port();
    let err = KafkaSink::builder("t", |x: &u64| Ok(ProducerRecord::value(x.to_string())))
        .bootstrap_servers(&format!("127.0.0.1:{port}"))
        .retry_policy(RetryPolicy {
            attempts: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            max_duration: Duration::from_secs(2),
        })
        .build()
        .err()
        .expect("no broker");
    assert!(err.to_string().contains("unreachable"), "{err}");
}
