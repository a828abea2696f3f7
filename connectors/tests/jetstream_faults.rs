//! The JetStream source's faults against the real server: a stream that does not exist, a
//! checkpointed sequence the stream no longer holds (both policies), a server that becomes
//! unreachable, and a subject that appears while an unbounded job runs.
#![cfg(feature = "nats")]

#[path = "common/nats.rs"]
mod nats;

use nats::{Counted, Proxy, TestStream};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use weir::runtime::graph::task_waker::TaskWaker;
use weir::runtime::metrics::MetricsRegistry;
use weir::source::{DiscoveryContext, SplitReader, SplitReaderContext, SplitSource};
use weir::{BoxError, CommittedCollector, JobError, RestartStrategyConfig, SourceStatus};
use weir_connectors::nats::{
    JetStreamReader, JetStreamSource, JetStreamSourceBuilder, JetStreamSourceError, JetStreamSplit,
    PurgedSequencePolicy, SplitPosition,
};

const ONE: DiscoveryContext = DiscoveryContext {
    parallelism: 1,
    index: 0,
    restored: false,
};

fn reader_context() -> SplitReaderContext {
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

/// The source of `stream`'s subject `a`, as (sequence, payload).
fn numbers(stream: &TestStream) -> JetStreamSourceBuilder<(u64, String)> {
    JetStreamSource::builder(&stream.name, |m| {
        Ok((m.stream_sequence, String::from_utf8(m.payload.to_vec())?))
    })
    .subjects([stream.subject("a")])
}

/// A reader of `source` holding `splits`.
fn reader(
    source: &JetStreamSource<(u64, String)>,
    splits: Vec<JetStreamSplit>,
) -> JetStreamReader<(u64, String)> {
    let mut reader = source.create_reader(reader_context()).expect("reader");
    reader.add_splits(splits).expect("add");
    reader
}

/// Reads until `n` records or an error (polling, for at most `limit`).
fn read_until(
    reader: &mut JetStreamReader<(u64, String)>,
    n: usize,
    limit: Duration,
) -> (Vec<(u64, String)>, Option<BoxError>) {
    let mut out = Vec::new();
    let mut error = None;
    nats::wait_for(limit, || {
        match reader.read(n.saturating_sub(out.len()).max(1), &mut out) {
            Ok(status) => out.len() >= n || status == SourceStatus::Finished,
            Err(e) => {
                error = Some(e);
                true
            }
        }
    });
    (out, error)
}

fn source_error(e: &BoxError) -> &JetStreamSourceError {
    let e = match e.downcast_ref::<weir::SuppressRestarts>() {
        Some(suppressing) => &suppressing.0,
        None => e,
    };
    e.downcast_ref::<JetStreamSourceError>()
        .unwrap_or_else(|| panic!("not a JetStreamSourceError: {e}"))
}

#[test]
fn a_stream_that_does_not_exist_fails_discovery_and_the_job() {
    let name = format!("WEIR_MISSING_{}", std::process::id());
    let source = JetStreamSource::builder(&name, |m| Ok(m.stream_sequence)).build();
    let error = source.discover_splits(&ONE).expect_err("no such stream");
    match source_error(&error) {
        JetStreamSourceError::StreamNotFound { stream, .. } => assert_eq!(stream, &name),
        other => panic!("unexpected error: {other}"),
    }
    let mut env = nats::env(&nats::job_id("js-missing", 0), Duration::from_millis(50));
    // No restart cures it: the job fails at once, though its strategy would restart forever.
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 1_000_000,
        delay: Duration::from_millis(1),
    });
    let source = JetStreamSource::builder(&name, |m| Ok(m.stream_sequence)).build();
    env.from_source(source, "Source: missing")
        .uid("missing")
        .discard();
    match env.execute() {
        Err(weir::Error::Job(JobError::TaskFailed(f))) => {
            assert_eq!(f.error.kind, weir::TaskErrorKind::SuppressRestarts);
            assert!(
                (f.error.message).contains(&format!("stream {name} does not exist")),
                "{}",
                f.error.message
            )
        }
        other => panic!("the job must fail: {other:?}"),
    }
}

/// Reads 4 of 10 messages and returns the checkpointed split (at sequence 5); then purges the
/// stream and publishes 3 more (sequences 11 to 13).
fn checkpoint_then_purge(
    stream: &TestStream,
    source: &JetStreamSource<(u64, String)>,
) -> Vec<JetStreamSplit> {
    stream.publish((0..10).map(|i| ("a", i.to_string())));
    let mut first = reader(source, source.discover_splits(&ONE).expect("discovers"));
    let (read, error) = read_until(&mut first, 4, Duration::from_secs(10));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read.len(), 4);
    let checkpoint = first.snapshot_splits(1).expect("snapshot");
    assert_eq!(checkpoint[0].position, SplitPosition::Sequence(5));
    drop(first);
    stream.purge();
    stream.publish((10..13).map(|i| ("a", i.to_string())));
    assert_eq!(stream.state(), (11, 13, 3));
    checkpoint
}

#[test]
fn a_purged_sequence_fails_the_reader_naming_stream_subject_and_sequence() {
    let stream = TestStream::new("purged");
    let source = numbers(&stream).build();
    let checkpoint = checkpoint_then_purge(&stream, &source);
    let mut restored = reader(&source, checkpoint);
    let (read, error) = read_until(&mut restored, 1, Duration::from_secs(10));
    assert!(read.is_empty(), "nothing is read past the loss: {read:?}");
    let error = error.expect("the reader fails");
    match source_error(&error) {
        JetStreamSourceError::SequencePurged {
            stream: s,
            subject,
            sequence,
            first_sequence,
            ..
        } => {
            assert_eq!(s, &stream.name);
            assert_eq!(subject, &stream.subject("a"));
            assert_eq!((*sequence, *first_sequence), (5, 11));
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn a_purged_sequence_resumes_at_the_first_when_the_policy_says_so() {
    let stream = TestStream::new("resumefirst");
    let source = numbers(&stream)
        .on_purged_sequence(PurgedSequencePolicy::ResumeAtFirst)
        .build();
    let checkpoint = checkpoint_then_purge(&stream, &source);
    let mut restored = reader(&source, checkpoint);
    let (read, error) = read_until(&mut restored, 3, Duration::from_secs(10));
    assert!(error.is_none(), "{error:?}");
    let expected: Vec<(u64, String)> = (11..=13).map(|s| (s, (s - 1).to_string())).collect();
    assert_eq!(read, expected);
    let at = restored.snapshot_splits(2).expect("snapshot");
    assert_eq!(at[0].position, SplitPosition::Sequence(14));
}

#[test]
fn an_unreachable_server_fails_the_reader_after_its_retries_and_a_new_one_resumes() {
    let stream = TestStream::new("unreachable");
    stream.publish((0..50).map(|i| ("a", i.to_string())));
    let proxy = Proxy::start();
    let source = numbers(&stream)
        .url(proxy.url())
        .retry_timeout(Duration::from_millis(800))
        .fetch_batch(5)
        .build();
    let mut first = reader(&source, source.discover_splits(&ONE).expect("discovers"));
    let (read, error) = read_until(&mut first, 10, Duration::from_secs(10));
    assert!(error.is_none(), "{error:?}");
    let checkpoint = first.snapshot_splits(1).expect("snapshot");
    let at = read.len() as u64 + 1;
    assert_eq!(checkpoint[0].position, SplitPosition::Sequence(at));
    proxy.cut();
    // What was fetched before the cut is handed out; then the reader fails.
    let (_, error) = read_until(&mut first, usize::MAX, Duration::from_secs(15));
    let error = error.expect("the reader fails once the retries are over");
    match source_error(&error) {
        JetStreamSourceError::Unreachable { stream: s, url, .. } => {
            assert_eq!(s, &stream.name);
            assert_eq!(url, &proxy.url());
        }
        other => panic!("unexpected error: {other}"),
    }
    drop(first);
    proxy.restore();
    let mut restored = reader(&source, checkpoint);
    let (rest, error) = read_until(&mut restored, 50 - read.len(), Duration::from_secs(10));
    assert!(error.is_none(), "{error:?}");
    let sequences: Vec<u64> = rest.iter().map(|r| r.0).collect();
    assert_eq!(sequences, (at..=50).collect::<Vec<_>>());
}

#[test]
fn a_subject_that_appears_while_an_unbounded_job_runs_becomes_a_split() {
    let stream = TestStream::new("discover");
    stream.publish((0..10).map(|i| ("a", format!("a{i}"))));
    let source =
        JetStreamSource::builder(&stream.name, |m| Ok(String::from_utf8(m.payload.to_vec())?))
            .split_per_subject(Duration::from_millis(50))
            .build();
    assert_eq!(source.discover_splits(&ONE).expect("discovers").len(), 1);
    let env = nats::env(&nats::job_id("js-discover", 0), Duration::from_millis(50));
    let out = env
        .from_source(source, "Source: discover")
        .uid("discover")
        .collect();
    let client = env.spawn().expect("job starts");
    assert!(
        nats::wait_for(Duration::from_secs(10), || out.len() >= 10),
        "read {} of subject a's 10 messages",
        out.len()
    );
    stream.publish((0..10).map(|i| ("b", format!("b{i}"))));
    let picked_up = nats::wait_for(Duration::from_secs(10), || out.len() >= 20);
    client.cancel();
    let _ = client.wait_blocking();
    assert!(
        picked_up,
        "read {} of 20 messages: {:?}",
        out.len(),
        out.records()
    );
    let got: BTreeSet<String> = out.records().into_iter().collect();
    let expected: BTreeSet<String> = ["a", "b"]
        .iter()
        .flat_map(|s| (0..10).map(move |i| format!("{s}{i}")))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(out.len(), 20, "each message once");
}

/// Bounded source of subjects a, b, c at `url` → slow work → running count per key →
/// committed into `out`.
fn counting_job(
    env: &weir::StreamEnvironment,
    stream: &TestStream,
    url: &str,
    out: &CommittedCollector<Counted>,
) {
    let subjects = ["a", "b", "c"];
    let source = JetStreamSource::builder(&stream.name, move |m| {
        let last = m.subject.rsplit('.').next().unwrap_or("");
        let subject = subjects
            .iter()
            .position(|s| *s == last)
            .ok_or("foreign subject")? as u64;
        Ok((
            subject,
            std::str::from_utf8(m.payload)?.parse::<u64>()?,
            1u64,
        ))
    })
    .subjects(subjects.iter().map(|s| stream.subject(s)))
    .url(url)
    .bounded()
    .retry_timeout(Duration::from_millis(500))
    .fetch_batch(16)
    .build();
    let records = env
        .from_source(source, "Source: jetstream")
        .uid("jetstream");
    nats::count_committed(records, 60_000, out);
}

#[test]
fn a_job_fails_over_while_the_server_is_unreachable_and_then_commits_every_message_once() {
    let stream = TestStream::new("outage");
    stream.publish((0..6_000u64).map(|i| (["a", "b", "c"][(i % 3) as usize], i.to_string())));
    let free = CommittedCollector::new();
    let env = nats::env(
        &nats::job_id("js-outage-free", 0),
        Duration::from_millis(20),
    );
    counting_job(&env, &stream, &weir_connectors::nats::nats_url(), &free);
    env.execute().expect("the failure-free run");
    let mut expected = free.records();
    expected.sort_unstable();
    assert_eq!(expected.len(), 6_000);

    let proxy = Proxy::start();
    let out = CommittedCollector::new();
    let env = nats::env(&nats::job_id("js-outage", 0), Duration::from_millis(20));
    counting_job(&env, &stream, &proxy.url(), &out);
    let client = env.spawn().expect("job starts");
    assert!(
        nats::wait_for(Duration::from_secs(20), || !out.is_empty()),
        "nothing committed in 20 s"
    );
    proxy.cut();
    let unreachable = |client: &weir::JobClient| {
        client.restart_history().iter().any(|r| {
            r.cause
                .task_failure()
                .is_some_and(|f| f.error.message.contains("cannot reach NATS"))
        })
    };
    let failed_over = nats::wait_for(Duration::from_secs(20), || unreachable(&client));
    proxy.restore();
    assert!(
        failed_over,
        "no failover for the unreachable server in 20 s"
    );
    let result = client
        .wait_blocking()
        .expect("the job finishes once the server is back");
    assert!(
        result.restarts.iter().any(|r| r.restored_from.is_some()),
        "a restart restored a checkpoint: {:?}",
        result
            .restarts
            .iter()
            .map(|r| r.restored_from)
            .collect::<Vec<_>>()
    );
    let mut got = out.records();
    got.sort_unstable();
    assert_eq!(got.len(), expected.len(), "records committed");
    assert!(
        got == expected,
        "the committed records differ from the failure-free run's"
    );
}
