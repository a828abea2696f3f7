//! The JetStream source against the real server: a bounded job over three subjects with random
//! failures commits, seed after seed, exactly what the failure-free run commits; and a reader
//! resumes at exactly the sequence a checkpoint recorded.
#![cfg(feature = "nats")]

#[path = "common/nats.rs"]
mod nats;

use nats::{Counted, TestStream};
use std::sync::Arc;
use std::time::Duration;
use weir::runtime::graph::task_waker::TaskWaker;
use weir::runtime::metrics::MetricsRegistry;
use weir::source::{DiscoveryContext, SplitReader, SplitReaderContext, SplitSource};
use weir::{CommittedCollector, Fault, FaultInjector, SourceStatus};
use weir_connectors::nats::{JetStreamSource, JetStreamSplit, SplitPosition};

/// Messages per sweep run, spread over three subjects.
const MESSAGES: u64 = 9_000;

const SUBJECTS: [&str; 3] = ["a", "b", "c"];

/// Publishes `MESSAGES` numbers, number `i` on subject `SUBJECTS[i % 3]`.
fn fill(stream: &TestStream) {
    stream.publish((0..MESSAGES).map(|i| (SUBJECTS[(i % 3) as usize], i.to_string())));
}

/// Bounded source of the three subjects → some work → running count per key → committed.
fn job(env: &weir::StreamEnvironment, stream: &TestStream, out: &CommittedCollector<Counted>) {
    let subjects: Vec<String> = SUBJECTS.iter().map(|s| stream.subject(s)).collect();
    let source = JetStreamSource::builder(&stream.name, |m| {
        let last = m.subject.rsplit('.').next().unwrap_or("");
        let subject = SUBJECTS
            .iter()
            .position(|s| *s == last)
            .ok_or("foreign subject")? as u64;
        let value: u64 = std::str::from_utf8(m.payload)?.parse()?;
        Ok((subject, value, 1u64))
    })
    .subjects(subjects)
    .bounded()
    .fetch_batch(64)
    .build();
    let records = env
        .from_source(source, "Source: jetstream")
        .uid("jetstream");
    nats::count_committed(records, 3_000, out);
}

fn sorted(mut v: Vec<Counted>) -> Vec<Counted> {
    v.sort_unstable();
    v
}

#[test]
fn a_bounded_job_with_random_failures_commits_what_the_failure_free_run_commits() {
    let stream = TestStream::new("eo");
    fill(&stream);
    let free = CommittedCollector::new();
    let env = nats::env(&nats::job_id("js-free", 0), Duration::from_millis(10));
    job(&env, &stream, &free);
    let result = env.execute().expect("the failure-free run");
    assert!(result.restarts.is_empty(), "{:?}", result.restarts);
    let expected = sorted(free.records());
    assert_eq!(expected.len() as u64, MESSAGES, "every message once");
    let seeds = nats::seeds("WEIR_NATS_SEEDS", 20);
    let (mut failures, mut restored) = (0usize, 0u64);
    for seed in 1..=seeds {
        let out = CommittedCollector::new();
        let mut env = nats::env(&nats::job_id("js-sweep", seed), Duration::from_millis(10));
        env.set_fault_injector(FaultInjector::new().with(Fault::Random {
            seed,
            probability: 0.000_3,
            uid: Some("count".into()),
        }));
        job(&env, &stream, &out);
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        failures += result.restarts.len();
        restored += u64::from(result.restarts.iter().any(|r| r.restored_from.is_some()));
        let got = sorted(out.records());
        if got != expected {
            let missing = expected.iter().filter(|r| !got.contains(r)).count();
            panic!(
                "seed {seed}: {} records committed, {} expected, {missing} missing; restarts {:?}",
                got.len(),
                expected.len(),
                result
                    .restarts
                    .iter()
                    .map(|r| r.restored_from)
                    .collect::<Vec<_>>()
            );
        }
    }
    eprintln!(
        "{seeds} seeds: {failures} injected failures, {restored} runs restored from a checkpoint"
    );
    assert!(
        failures as u64 >= seeds,
        "only {failures} failures fired in {seeds} seeds"
    );
    assert!(
        restored * 5 >= seeds * 4,
        "only {restored} of {seeds} runs restored from a checkpoint (at least 80 % must)"
    );
}

/// A reader context for subtask 0 of 1.
pub fn reader_context() -> SplitReaderContext {
    SplitReaderContext {
        operator: "Source: test [test]".into(),
        uid: "test".into(),
        job_id: "test".into(),
        index: 0,
        parallelism: 1,
        deterministic: false,
        waker: TaskWaker::noop(),
        metrics: Arc::new(MetricsRegistry::default()),
    }
}

/// Reads from `reader` until it handed out `n` records (polling, for at most 10 s).
fn read_n<R: SplitReader<(u64, String)>>(reader: &mut R, n: usize) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let done = nats::wait_for(Duration::from_secs(10), || {
        let room = n - out.len();
        let status = reader.read(room, &mut out).expect("reads");
        out.len() >= n || status == SourceStatus::Finished
    });
    assert!(done, "read {} of {n} records in 10 s", out.len());
    out
}

#[test]
fn a_reader_resumes_at_exactly_the_checkpointed_sequence() {
    let stream = TestStream::new("resume");
    stream.publish((0..100).map(|i| ("a", i.to_string())));
    let source = JetStreamSource::builder(&stream.name, |m| {
        Ok((m.stream_sequence, String::from_utf8(m.payload.to_vec())?))
    })
    .subjects([stream.subject("a")])
    .fetch_batch(10)
    .build();
    let context = DiscoveryContext {
        parallelism: 1,
        index: 0,
        restored: false,
    };
    let splits = source.discover_splits(&context).expect("discovers");
    let mut reader = source.create_reader(reader_context()).expect("reader");
    reader.add_splits(splits).expect("add");
    let first = read_n(&mut reader, 37);
    assert_eq!(first.first().map(|r| r.0), Some(1));
    assert_eq!(first.last().map(|r| r.0), Some(37));
    let checkpoint: Vec<JetStreamSplit> = reader.snapshot_splits(1).expect("snapshot");
    assert_eq!(checkpoint.len(), 1);
    assert_eq!(checkpoint[0].position, SplitPosition::Sequence(38));
    // The reader reads on past the checkpoint, then fails.
    let _ = read_n(&mut reader, 20);
    drop(reader);
    let mut restored = source.create_reader(reader_context()).expect("reader");
    restored.add_splits(checkpoint).expect("add");
    let rest = read_n(&mut restored, 63);
    let sequences: Vec<u64> = rest.iter().map(|r| r.0).collect();
    assert_eq!(sequences, (38..=100).collect::<Vec<_>>());
    assert_eq!(rest[0].1, "37", "sequence 38 holds number 37");
}

#[test]
fn with_ack_on_checkpoint_a_completed_checkpoint_acknowledges_what_it_covers() {
    let stream = TestStream::new("ack");
    stream.publish((0..30).map(|i| ("a", i.to_string())));
    let durable = format!("weir-ack-{}", std::process::id());
    let source = JetStreamSource::builder(&stream.name, |m| {
        Ok((m.stream_sequence, String::from_utf8(m.payload.to_vec())?))
    })
    .subjects([stream.subject("a")])
    .ack_on_checkpoint(&durable)
    .fetch_batch(4)
    .build();
    let context = DiscoveryContext {
        parallelism: 1,
        index: 0,
        restored: false,
    };
    let mut reader = source.create_reader(reader_context()).expect("reader");
    reader
        .add_splits(source.discover_splits(&context).expect("discovers"))
        .expect("add");
    let read = read_n(&mut reader, 12);
    assert_eq!(read.last().map(|r| r.0), Some(12));
    reader.snapshot_splits(1).expect("snapshot");
    let _ = read_n(&mut reader, 5);
    let name = format!("{durable}-{}", stream.subject("a").replace('.', "_"));
    assert_eq!(
        stream.ack_floor(&name),
        0,
        "nothing acknowledged before the checkpoint completes"
    );
    reader.notify_checkpoint_complete(1).expect("notify");
    assert!(
        nats::wait_for(Duration::from_secs(10), || stream.ack_floor(&name) == 12),
        "the ack floor is {}, not checkpoint 1's last sequence 12",
        stream.ack_floor(&name)
    );
}

/// Not part of the suite: how fast a bounded source reads a stream of 200 000 small messages
/// (`cargo test --release -p weir-stream-connectors --features nats --test
/// jetstream_exactly_once -- --ignored --nocapture`).
#[test]
#[ignore]
fn measure_read_throughput() {
    let stream = TestStream::new("throughput");
    let n = 200_000u64;
    let started = std::time::Instant::now();
    stream.publish((0..n).map(|i| (SUBJECTS[(i % 3) as usize], i.to_string())));
    let published = started.elapsed();
    let subjects: Vec<String> = SUBJECTS.iter().map(|s| stream.subject(s)).collect();
    let source = JetStreamSource::builder(&stream.name, |m| Ok(m.stream_sequence))
        .subjects(subjects)
        .bounded()
        .build();
    let env = nats::env(&nats::job_id("js-throughput", 0), Duration::from_secs(1));
    let out = CommittedCollector::new();
    env.from_source(source, "Source: jetstream")
        .uid("jetstream")
        .collect_committed(&out)
        .uid("committed");
    let started = std::time::Instant::now();
    env.execute().expect("runs");
    let read = started.elapsed();
    assert_eq!(out.len() as u64, n);
    eprintln!(
        "published {n} in {published:?} ({:.0}/s); read in {read:?} ({:.0}/s)",
        n as f64 / published.as_secs_f64(),
        n as f64 / read.as_secs_f64()
    );
}
