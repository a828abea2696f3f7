//! Records per second out of Kafka: a plain rskafka loop (one thread per partition fetching
//! to the end, counting records, no engine) against a weir job reading the same topic — the
//! Kafka source (bounded), key_by, a keyed count, a discard sink — in the same run,
//! alternating which goes first; prints the ratio of the best rates.
//!
//! `WEIR_BENCH_RECORDS` (default 500 000) records of ~100 bytes over 3 partitions,
//! `WEIR_BENCH_ROUNDS` (default 3) rounds. Needs the broker of `WEIR_KAFKA_URL`
//! (.ci/services starts one).

use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weir::StreamEnvironment;
use weir_connectors::kafka::{KafkaRecord, KafkaSource};

const PARTITIONS: i32 = 3;
const FETCH_BYTES: i32 = 1 << 20;

fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var).map_or(default, |v| v.trim().parse().unwrap_or(default))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn client(url: &str) -> Client {
    ClientBuilder::new(url.split(',').map(String::from).collect())
        .build()
        .await
        .unwrap_or_else(|e| {
            panic!("no Kafka broker at {url} (WEIR_KAFKA_URL): {e}; run .ci/services")
        })
}

/// A new topic of `records` records (key `i % 1000`, a 90-byte value), spread over the
/// partitions.
async fn fill(url: &str, topic: &str, records: u64) {
    let c = client(url).await;
    (c.controller_client().expect("controller"))
        .create_topic(topic, PARTITIONS, 1, 5_000)
        .await
        .expect("create the bench topic");
    let payload = "x".repeat(80);
    for p in 0..PARTITIONS {
        let pc = (c
            .partition_client(topic, p, UnknownTopicHandling::Retry)
            .await)
            .expect("partition");
        let mut batch = Vec::new();
        for i in (p as u64..records).step_by(PARTITIONS as usize) {
            batch.push(Record {
                key: Some((i % 1000).to_string().into_bytes()),
                value: Some(format!("{i:010}{payload}").into_bytes()),
                headers: BTreeMap::new(),
                timestamp: rskafka::chrono::DateTime::from_timestamp_millis(0).expect("time"),
            });
            if batch.len() == 1_000 {
                pc.produce(std::mem::take(&mut batch), Compression::NoCompression)
                    .await
                    .expect("produce");
            }
        }
        pc.produce(batch, Compression::NoCompression)
            .await
            .expect("produce");
    }
}

/// The plain loop: one thread per partition, each with its own runtime and client, fetching
/// its partition to the end; the records counted.
fn plain(url: &str, topic: &str) -> (u64, Duration) {
    let start = Instant::now();
    let threads: Vec<_> = (0..PARTITIONS)
        .map(|p| {
            let (url, topic) = (url.to_string(), topic.to_string());
            std::thread::spawn(move || runtime().block_on(plain_partition(url, topic, p)))
        })
        .collect();
    let n = threads
        .into_iter()
        .map(|t| t.join().expect("a partition thread"))
        .sum();
    (n, start.elapsed())
}

async fn plain_partition(url: String, topic: String, p: i32) -> u64 {
    let c = client(&url).await;
    let pc = (c
        .partition_client(topic, p, UnknownTopicHandling::Retry)
        .await)
        .expect("partition");
    let end = pc.get_offset(OffsetAt::Latest).await.expect("end");
    // nisshi 0.6.0 lists the last batch's base offset + 1 as "latest": the fetch's high
    // watermark says where the partition really ends.
    let (_, end) = pc
        .fetch_records(end, 1..65_536, 1)
        .await
        .map(|(r, h)| (r, h.max(end)))
        .expect("end");
    let (mut offset, mut n) = (0, 0u64);
    while offset < end {
        let (records, _) = pc
            .fetch_records(offset, 1..FETCH_BYTES, 500)
            .await
            .expect("fetch");
        for r in &records {
            offset = r.offset + 1;
            n += u64::from(r.record.value.as_ref().is_some_and(|v| !v.is_empty()));
        }
    }
    n
}

/// The weir job: source → key_by(key) → count per key → discard, 1 s checkpoints.
fn job(url: &str, topic: &str, parallelism: u32) -> Duration {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_secs(1));
    let source = KafkaSource::builder()
        .bootstrap_servers(url)
        .topics([topic.to_string()])
        .bounded()
        .fetch_max_bytes(FETCH_BYTES)
        .build(|r: KafkaRecord<'_>| {
            let key = std::str::from_utf8(r.key.unwrap_or_default())?.parse::<u64>()?;
            Ok((key, 1u64))
        });
    env.from_source(source, "Source: Kafka")
        .uid("kafka")
        .key_by(|r: &(u64, u64)| r.0)
        .reduce(|a, b| (a.0, a.1 + b.1))
        .uid("count")
        .discard();
    let start = Instant::now();
    env.execute().expect("the bench job");
    start.elapsed()
}

fn main() {
    let url = weir_connectors::env::kafka_url();
    let records = env_u64("WEIR_BENCH_RECORDS", 500_000);
    let rounds = env_u64("WEIR_BENCH_ROUNDS", 3);
    let topic = format!("weir-bench-{}", std::process::id());
    let rt = runtime();
    rt.block_on(fill(&url, &topic, records));
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    let (mut plain_best, mut job_best) = (Duration::MAX, Duration::MAX);
    for round in 1..=rounds {
        // Alternate which goes first, so neither always finds the broker warm.
        let (n, p, j) = if round % 2 == 1 {
            let (n, p) = plain(&url, &topic);
            (n, p, job(&url, &topic, 2))
        } else {
            let j = job(&url, &topic, 2);
            let (n, p) = plain(&url, &topic);
            (n, p, j)
        };
        assert_eq!(n, records, "the plain loop read every record");
        println!(
            "round {round}: plain rskafka {:>10.0} records/s, weir job {:>10.0} records/s",
            rate(p),
            rate(j)
        );
        plain_best = plain_best.min(p);
        job_best = job_best.min(j);
    }
    println!(
        "best: plain rskafka {:.0} records/s, weir source → key_by → count → discard {:.0} records/s, ratio {:.2}",
        rate(plain_best),
        rate(job_best),
        rate(job_best) / rate(plain_best)
    );
    rt.block_on(async {
        let c = client(&url).await;
        let _ = c
            .controller_client()
            .expect("controller")
            .delete_topic(topic.as_str(), 5_000)
            .await;
    });
}
