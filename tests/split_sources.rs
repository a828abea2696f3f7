//! Split sources: the file source reads a directory's files line for line, restores each file at
//! its recorded byte offset (killed and restored runs, restored at parallelism 1 to 4, equal the
//! failure-free run), picks up files
//! that appear while it monitors the directory; a source waiting on a `FetchQueue` is woken, not
//! polled, and reported idle.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::prelude::*;
use weir::source::{DiscoveryContext, FetchQueue, FetchSender, SourceSplit};
use weir::{
    CommittedCollector, ExternalizedCheckpointRetention, JobError, RestartStrategyConfig,
    StreamEnvironment,
};

/// Writes `files` files of `lines` lines each (`f<i>-<j>`), the last without its newline, and a
/// hidden file the source must skip.
fn write_files(dir: &Path, files: usize, lines: usize) -> Vec<String> {
    let mut all = Vec::new();
    for i in 0..files {
        let text: Vec<String> = (0..lines).map(|j| format!("f{i}-{j}")).collect();
        std::fs::write(dir.join(format!("part-{i}.txt")), text.join("\n")).expect("write");
        all.extend(text);
    }
    std::fs::write(dir.join(".hidden"), "not data\n").expect("write");
    std::fs::write(dir.join("empty.txt"), "").expect("write");
    all.sort();
    all
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn a_directory_is_read_line_for_line_once_at_every_parallelism() {
    let input = tempfile::tempdir().expect("temp dir");
    let expected = write_files(input.path(), 5, 1000);
    for parallelism in [1, 2, 3] {
        let mut env = common::no_restart_env();
        env.set_parallelism(parallelism);
        let out = env
            .from_source(FileSource::for_lines(input.path()), "Source: Files")
            .collect();
        env.execute().expect("job");
        assert_eq!(sorted(out.records()), expected, "parallelism {parallelism}");
    }
}

/// The job: the directory's lines, a map that panics once at line `kill_at` after the first
/// checkpoint committed output, into the exactly-once collector.
fn build(
    env: &StreamEnvironment,
    dir: &Path,
    out: &CommittedCollector<String>,
    kill_at: Option<u64>,
) {
    let seen = Arc::new(AtomicU64::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let committed = out.clone();
    env.from_source(FileSource::for_lines(dir), "Source: Files")
        .uid("files")
        .map(move |line: String| {
            let n = seen.fetch_add(1, Ordering::Relaxed);
            // Past 7/8 of the input the kill comes anyway (the second run then starts over).
            let due = |k| n >= k && (n >= LINES * 7 / 8 || !committed.is_empty());
            if kill_at.is_some_and(due) && !killed.swap(true, Ordering::Relaxed) {
                panic!("injected failure at line {n}");
            }
            // Some work per line, so the job spans many 10 ms checkpoints.
            let mut h = n;
            for i in 0..2000u64 {
                h = std::hint::black_box(h.rotate_left(7) ^ i);
            }
            std::hint::black_box(h);
            line
        })
        .uid("maybe-fail")
        .collect_committed(out)
        .uid("committed");
}

/// Lines of the killed and restored job.
const LINES: u64 = 60_000;

fn checkpointed_env(checkpoints: &Path, parallelism: u32) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism)
        .set_batch_size(16)
        .set_job_id("file-source")
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(checkpoints)
        .set_restart_strategy(RestartStrategyConfig::NoRestart);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

#[test]
fn killed_and_restored_file_source_runs_equal_the_failure_free_run() {
    let input = tempfile::tempdir().expect("temp dir");
    let expected = write_files(input.path(), 6, (LINES / 6) as usize);
    let seeds = common::seed_count("WEIR_FILE_SOURCE_SEEDS", 8);
    let mut restores = 0;
    for seed in 0..seeds {
        let checkpoints = tempfile::tempdir().expect("temp dir");
        let out = CommittedCollector::new();
        let env1 = checkpointed_env(checkpoints.path(), 2);
        build(&env1, input.path(), &out, Some(seed * 7919 % (LINES / 2)));
        let first = env1.execute();
        assert!(
            matches!(&first, Err(weir::Error::Job(JobError::TaskFailed(f))) if f.error.message.starts_with("injected failure")),
            "seed {seed}: the injected failure ends the first run: {first:?}"
        );
        // Restored at 1, 2, 3 or 4: every file's split (and its offset) goes to exactly one
        // subtask, and the sink's pending transactions are committed once, at any parallelism.
        let mut env2 = checkpointed_env(checkpoints.path(), 1 + (seed % 4) as u32);
        restores += u64::from(env2.restore_from_latest(checkpoints.path()).is_ok());
        build(&env2, input.path(), &out, None);
        env2.execute().expect("the restored run");
        assert!(
            sorted(out.records()) == expected,
            "seed {seed}: committed lines differ from the files' lines"
        );
    }
    common::assert_most_restored(restores, seeds, "file source runs");
}

#[test]
fn a_file_that_appears_while_the_directory_is_monitored_is_read() {
    let input = tempfile::tempdir().expect("temp dir");
    let mut expected = write_files(input.path(), 2, 10);
    let mut env = common::no_restart_env();
    env.set_parallelism(2);
    let source =
        FileSource::for_lines(input.path()).monitor_continuously(Duration::from_millis(20));
    let out = env.from_source(source, "Source: Files").collect();
    let client = common::spawn_running(&env);
    wait_until("the first files are read", || {
        out.records().len() == expected.len()
    });
    // Written hidden, then renamed: the source never sees half a file.
    std::fs::write(input.path().join(".new.tmp"), "late-1\nlate-2\n").expect("write");
    std::fs::rename(input.path().join(".new.tmp"), input.path().join("late.txt")).expect("rename");
    expected.extend(["late-1".to_string(), "late-2".to_string()]);
    expected.sort();
    wait_until("the new file is read", || {
        out.records().len() == expected.len()
    });
    client.cancel();
    let _ = common::finish(client);
    assert_eq!(sorted(out.records()), expected);
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// One split whose records a thread feeds through a [`FetchQueue`]: the first half at once, the
/// second when the test opens its gate.
struct Fed {
    gate: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct OnlySplit;

impl SourceSplit for OnlySplit {
    fn split_id(&self) -> String {
        "only".into()
    }
}

struct FedReader {
    queue: FetchQueue<Option<u64>>,
    reads: Arc<AtomicU64>,
    ended: bool,
}

impl SplitSource<u64> for Fed {
    type Split = OnlySplit;
    type Reader = FedReader;
    fn discover_splits(&self, _: &DiscoveryContext) -> Result<Vec<OnlySplit>, BoxError> {
        Ok(vec![OnlySplit])
    }
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
    fn create_reader(&self, context: SplitReaderContext) -> Result<FedReader, BoxError> {
        let (sender, queue) = FetchQueue::bounded(4, context.waker.clone());
        let gate = self.gate.clone();
        std::thread::spawn(move || feed(&sender, &gate));
        Ok(FedReader {
            queue,
            reads: self.reads.clone(),
            ended: false,
        })
    }
}

fn feed(sender: &FetchSender<Option<u64>>, gate: &AtomicBool) {
    for x in 0..10 {
        let _ = sender.send_blocking(Some(x));
    }
    while !gate.load(Ordering::SeqCst) {
        std::thread::park_timeout(Duration::from_millis(1));
    }
    for x in 10..20 {
        let _ = sender.send_blocking(Some(x));
    }
    let _ = sender.send_blocking(None);
}

impl SplitReader<u64> for FedReader {
    type Split = OnlySplit;
    fn add_splits(&mut self, _: Vec<OnlySplit>) -> Result<(), BoxError> {
        Ok(())
    }
    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        while out.len() < max && !self.ended {
            match self.queue.try_next() {
                Some(Some(x)) => out.push(x),
                Some(None) => self.ended = true,
                None => return Ok(SourceStatus::Pending),
            }
        }
        Ok(if self.ended {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        })
    }
    fn snapshot_splits(&mut self, _: u64) -> Result<Vec<OnlySplit>, BoxError> {
        Ok(vec![OnlySplit])
    }
}

#[test]
fn a_source_waiting_for_data_is_woken_not_polled_and_is_reported_idle() {
    let gate = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut env = common::no_restart_env();
    env.set_parallelism(1);
    let source = Fed {
        gate: gate.clone(),
        reads: reads.clone(),
    };
    let out = env.from_source(source, "Source: Fed").collect();
    let client = common::spawn_running(&env);
    wait_until("the first half arrived", || out.records().len() == 10);
    let idle = |client: &weir::JobClient| client.subtask_metrics().iter().any(|m| m.idle);
    wait_until("the source is reported idle", || idle(&client));
    let before = reads.load(Ordering::SeqCst);
    // A polling source would be read about every millisecond while it waits.
    std::thread::sleep(Duration::from_millis(100));
    let during = reads.load(Ordering::SeqCst) - before;
    assert!(
        during <= 1,
        "the waiting source was read {during} times in 100 ms"
    );
    gate.store(true, Ordering::SeqCst);
    let (result, _) = common::finish(client);
    result.expect("job");
    assert_eq!(sorted(out.records()), (0..20).collect::<Vec<_>>());
}

/// A source whose splits cannot be listed, for a reason no restart cures.
struct Missing;

impl SplitSource<u64> for Missing {
    type Split = OnlySplit;
    type Reader = FedReader;
    fn discover_splits(&self, _: &DiscoveryContext) -> Result<Vec<OnlySplit>, BoxError> {
        Err(SuppressRestarts::new("topic \"orders\" does not exist").into())
    }
    fn boundedness(&self) -> Boundedness {
        Boundedness::ContinuousUnbounded
    }
    fn create_reader(&self, context: SplitReaderContext) -> Result<FedReader, BoxError> {
        let (_, queue) = FetchQueue::bounded(1, context.waker);
        Ok(FedReader {
            queue,
            reads: Arc::default(),
            ended: false,
        })
    }
}

#[test]
fn an_error_that_suppresses_restarts_fails_the_job_at_once_whatever_the_strategy() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000_000,
            delay: Duration::from_millis(1),
        });
    env.from_source(Missing, "Source: Orders")
        .uid("orders")
        .discard();
    let result = env.execute();
    let Err(weir::Error::Job(JobError::TaskFailed(failure))) = result else {
        panic!("the job fails at once: {result:?}");
    };
    assert_eq!(failure.error.kind, weir::TaskErrorKind::SuppressRestarts);
    assert!(
        failure
            .error
            .message
            .contains("topic \"orders\" does not exist"),
        "{failure}"
    );
    assert!(failure
        .error
        .operator
        .as_deref()
        .is_some_and(|o| o.contains("orders")));
}
