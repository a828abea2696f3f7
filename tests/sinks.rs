//! Sinks across failures and restores: `write_lines` keeps the lines its checkpoints cover and
//! holds every record exactly once at the end, whether the job was cancelled and restored by a
//! later run, killed with SIGKILL, or restarted within one run; a custom `SinkWriter` sees flushes, snapshots and
//! commits in Flink's order.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use weir::prelude::*;
use weir::{Fault, FaultInjector, Target};

/// The numbers every job here writes.
const TOTAL: u64 = 20_000;
/// An interval no test reaches: only `trigger_checkpoint()` triggers checkpoints.
const MANUAL_ONLY: Duration = Duration::from_secs(24 * 3600);
/// Guards every wait on a job: a hang fails the test instead of blocking it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// How far a [`Gated`] source may read, and how far it has read.
#[derive(Default)]
struct Gate {
    allowed: AtomicU64,
    emitted: Mutex<u64>,
    changed: Condvar,
}

impl Gate {
    fn new(allowed: u64) -> Arc<Gate> {
        let gate = Gate::default();
        gate.allowed.store(allowed, Ordering::SeqCst);
        Arc::new(gate)
    }

    fn allow(&self, n: u64) {
        self.allowed.store(n, Ordering::SeqCst);
    }

    fn emitted_up_to(&self, n: u64) {
        *self.emitted.lock().expect("lock") = n;
        self.changed.notify_all();
    }

    /// Waits until the source has emitted `n` numbers.
    fn wait_emitted(&self, n: u64) {
        let guard = self.emitted.lock().expect("lock");
        let (guard, waited) = self
            .changed
            .wait_timeout_while(guard, HANG_GUARD, |e| *e < n)
            .expect("lock");
        assert!(!waited.timed_out(), "the source emitted {} of {n}", *guard);
    }
}

/// Reads `0..TOTAL` in order, 100 a poll, never past what its gate allows (idle there); its
/// position is the next number.
struct Gated {
    next: u64,
    gate: Arc<Gate>,
}

impl SourceReader<u64> for Gated {
    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        let allowed = self.gate.allowed.load(Ordering::SeqCst).min(TOTAL);
        let stop = allowed.min(self.next + 100.min(max as u64));
        out.extend(self.next..stop);
        self.next = stop;
        self.gate.emitted_up_to(self.next);
        Ok(match self.next {
            n if n >= TOTAL => SourceStatus::Finished,
            n if n >= allowed => SourceStatus::Idle,
            _ => SourceStatus::More,
        })
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(self.next.to_le_bytes().to_vec())
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = u64::from_le_bytes(position.try_into()?);
        Ok(())
    }
}

/// `0..TOTAL` from one gated source, keyed into `sink_parallelism` line files at `out`.
fn lines_job(env: &StreamEnvironment, gate: &Arc<Gate>, out: &Path, sink_parallelism: u32) {
    let gate = gate.clone();
    env.add_source_reader("Gated", move |_| {
        Ok(Gated {
            next: 0,
            gate: gate.clone(),
        })
    })
    .uid("numbers")
    .set_parallelism(1)
    .key_by(|x| x % 100)
    .write_lines(out)
    .uid("lines")
    .set_parallelism(sink_parallelism);
}

/// An environment that checkpoints to `dir` only when asked, keeps its checkpoints when
/// cancelled, and restarts as `restarts` says.
fn checkpointing_env(dir: &Path, restarts: RestartStrategyConfig) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_job_name("lines")
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir)
        .set_restart_strategy(restarts);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// The files of a line sink of `parallelism` subtasks at `out`, each file's content.
fn files(out: &Path, parallelism: u32) -> Vec<String> {
    (0..parallelism)
        .map(|i| {
            let path = if parallelism == 1 {
                out.to_path_buf()
            } else {
                PathBuf::from(format!("{}.{i}", out.display()))
            };
            std::fs::read_to_string(&path).unwrap_or_default()
        })
        .collect()
}

/// What the job writes without any failure.
fn failure_free(dir: &Path, parallelism: u32) -> Vec<String> {
    let out = dir.join("failure-free.txt");
    let env = StreamEnvironment::new();
    lines_job(&env, &Gate::new(u64::MAX), &out, parallelism);
    env.execute().expect("the failure-free run finishes");
    files(&out, parallelism)
}

/// Every number in `files`, sorted, to compare multisets.
fn numbers(files: &[String]) -> Vec<u64> {
    let mut all: Vec<u64> = files
        .iter()
        .flat_map(|f| {
            f.lines()
                .map(|l| l.parse::<u64>().expect("a number per line"))
        })
        .collect();
    all.sort_unstable();
    all
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(HANG_GUARD, f)
            .await
            .expect("the job hangs")
    })
}

/// Starts the job, lets its source read 10 000 numbers, takes a checkpoint covering them.
fn run_to_first_checkpoint(env: &StreamEnvironment, gate: &Gate) -> JobClient {
    let client = env.spawn().expect("job starts");
    gate.wait_emitted(10_000);
    let stats = block_on(client.trigger_checkpoint()).expect("the checkpoint completes");
    assert_eq!(stats.id, 1);
    client
}

#[test]
fn write_lines_keeps_what_its_checkpoint_covers_across_cancel_and_restore() {
    let dir = tempfile::tempdir().expect("temp dir");
    let checkpoints = dir.path().join("checkpoints");
    let out = dir.path().join("out.txt");
    let expected = failure_free(dir.path(), 2);
    assert_eq!(numbers(&expected), (0..TOTAL).collect::<Vec<_>>());

    // Run 1: a checkpoint after 10 000 numbers, then 5 000 more, then cancel.
    let gate = Gate::new(10_000);
    let env = checkpointing_env(&checkpoints, RestartStrategyConfig::NoRestart);
    lines_job(&env, &gate, &out, 2);
    let client = run_to_first_checkpoint(&env, &gate);
    gate.allow(15_000);
    gate.wait_emitted(15_000);
    client.cancel();
    assert!(matches!(client.wait_blocking(), Err(JobError::Cancelled)));
    let written = numbers(&files(&out, 2)).len();
    assert!(written >= 10_000, "run 1 wrote {written} lines");

    // Run 2: restore, read to the end.
    let gate = Gate::new(u64::MAX);
    let mut env = checkpointing_env(&checkpoints, RestartStrategyConfig::NoRestart);
    let report = env.restore_from_latest(&checkpoints).expect("restores");
    assert_eq!(report.checkpoint_id, 1);
    lines_job(&env, &gate, &out, 2);
    env.execute().expect("run 2 finishes");

    // Each file as the failure-free run wrote it: nothing lost, nothing twice, same order.
    assert_eq!(files(&out, 2), expected);
}

#[test]
fn write_lines_holds_every_record_once_after_a_restart_within_the_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.txt");
    let expected = failure_free(dir.path(), 1);

    // The sink fails at its 12 000th record, after the checkpoint at 10 000, and the job
    // restarts from that checkpoint.
    let gate = Gate::new(10_000);
    let mut env = checkpointing_env(
        &dir.path().join("checkpoints"),
        RestartStrategyConfig::FixedDelay {
            attempts: 1,
            delay: Duration::ZERO,
        },
    );
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("lines", 0),
        record: 12_000,
    }));
    lines_job(&env, &gate, &out, 1);
    let client = run_to_first_checkpoint(&env, &gate);
    gate.allow(u64::MAX);
    let result = client
        .wait_blocking()
        .expect("the job finishes after one restart");
    assert_eq!(result.restarts.len(), 1, "{:?}", result.restarts);
    assert_eq!(files(&out, 1), expected);
}

/// Set in a child process: the directory it runs the job of
/// [`write_lines_survives_a_sigkill_and_restores_whole_lines`] in.
const KILL_CHILD_DIR: &str = "WEIR_TEST_SIGKILL_DIR";

#[test]
fn write_lines_survives_a_sigkill_and_restores_whole_lines() {
    let checkpoints = |dir: &Path| dir.join("checkpoints");
    if let Some(dir) = std::env::var_os(KILL_CHILD_DIR) {
        // The child: a checkpoint after 10 000 numbers, 5 000 more, then it waits to be killed.
        let dir = PathBuf::from(dir);
        let gate = Gate::new(10_000);
        let env = checkpointing_env(&checkpoints(&dir), RestartStrategyConfig::NoRestart);
        lines_job(&env, &gate, &dir.join("out.txt"), 2);
        let client = run_to_first_checkpoint(&env, &gate);
        gate.allow(15_000);
        gate.wait_emitted(15_000);
        println!("past the checkpoint");
        let _ = client.wait_blocking();
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.txt");
    let expected = failure_free(dir.path(), 2);

    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "write_lines_survives_a_sigkill_and_restores_whole_lines",
            "--nocapture",
        ])
        .env(KILL_CHILD_DIR, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("child starts");
    let pid = child.id() as libc::pid_t;
    let stdout = child.stdout.take().expect("piped");
    use std::io::BufRead;
    for line in std::io::BufReader::new(stdout).lines() {
        if line.expect("child output").contains("past the checkpoint") {
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
            break;
        }
    }
    let status = child.wait().expect("child ends");
    assert!(!status.success(), "the child was killed: {status:?}");
    // What the OS may leave when it cuts a write short: a partial last line.
    let torn = PathBuf::from(format!("{}.0", out.display()));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&torn)
        .expect("the killed run's file");
    std::io::Write::write_all(&mut file, b"1234").expect("append");

    let gate = Gate::new(u64::MAX);
    let mut env = checkpointing_env(&checkpoints(dir.path()), RestartStrategyConfig::NoRestart);
    let report = env
        .restore_from_latest(checkpoints(dir.path()))
        .expect("restores");
    assert_eq!(report.checkpoint_id, 1);
    lines_job(&env, &gate, &out, 2);
    env.execute().expect("the restored run finishes");
    assert_eq!(files(&out, 2), expected);
}

/// What a custom writer saw, in order.
type Calls = Arc<Mutex<Vec<String>>>;

/// A sink writer that records its calls and keeps a count in its state.
struct Recording {
    calls: Calls,
    written: u64,
}

impl SinkWriter<u64> for Recording {
    fn write(&mut self, _: u64) -> Result<(), BoxError> {
        self.written += 1;
        Ok(())
    }

    fn flush(&mut self, end_of_input: bool) -> Result<(), BoxError> {
        let call = format!("flush {end_of_input} after {}", self.written);
        self.calls.lock().expect("lock").push(call);
        Ok(())
    }

    fn snapshot_state(&mut self, id: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("snapshot {id}"));
        let written = self.written;
        Ok(Some(Box::new(move || Ok(written.to_le_bytes().to_vec()))))
    }

    fn notify_checkpoint_complete(&mut self, id: CheckpointId) -> Result<(), BoxError> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("complete {id}"));
        Ok(())
    }
}

#[test]
fn a_custom_sink_writer_is_flushed_before_each_snapshot_and_told_of_each_commit() {
    let calls: Calls = Arc::default();
    let mut env = StreamEnvironment::new();
    env.set_parallelism(1).enable_checkpointing(MANUAL_ONLY);
    let target = calls.clone();
    env.generate_sequence(1, 1_000)
        .sink_to(move |_| {
            Ok(Recording {
                calls: target.clone(),
                written: 0,
            })
        })
        .name("Sink: Recording")
        .uid("recording");
    let result = env.execute().expect("job runs");
    assert_eq!(
        result.operator("recording").map(|o| o.records_in),
        Some(1_000)
    );
    // Every snapshot comes right after a flush; every completed checkpoint was snapshotted
    // first; end of input flushes once, and a final checkpoint follows it.
    let calls = calls.lock().expect("lock").clone();
    for (i, call) in calls.iter().enumerate() {
        if let Some(id) = call.strip_prefix("snapshot ") {
            assert_eq!(calls[i - 1], "flush false after 1000", "{calls:?}");
            assert!(calls[i..].contains(&format!("complete {id}")), "{calls:?}");
        }
        if let Some(id) = call.strip_prefix("complete ") {
            assert!(calls[..i].contains(&format!("snapshot {id}")), "{calls:?}");
        }
    }
    let end = calls.iter().position(|c| c == "flush true after 1000");
    let end = end.unwrap_or_else(|| panic!("no end-of-input flush: {calls:?}"));
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("flush true")).count(),
        1
    );
    assert!(
        calls[end..].iter().any(|c| c.starts_with("complete ")),
        "no checkpoint after end of input: {calls:?}"
    );
}

#[test]
fn a_sink_writer_that_cannot_be_created_fails_the_job_naming_the_sink() {
    let env = StreamEnvironment::new();
    env.generate_sequence(1, 10)
        .sink_to(|_| -> Result<Recording, BoxError> { Err("no connection".into()) })
        .name("Sink: Broken")
        .uid("broken");
    let err = env.execute().expect_err("the sink cannot open");
    let text = err.to_string();
    assert!(matches!(err, Error::Job(_)), "{err:?}");
    assert!(
        text.contains("broken") && text.contains("no connection"),
        "{text}"
    );
}
