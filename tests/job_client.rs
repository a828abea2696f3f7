//! The job client: status, cancellation, metrics, and starting jobs from inside async code.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::{
    CommittedCollector, Fault, FaultInjector, JobError, JobStatus, RestartStrategyConfig,
    StreamEnvironment, Target,
};

#[test]
fn an_unbounded_job_runs_until_cancelled() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2);
    env.generate_sequence(0, u64::MAX - 1)
        .uid("endless")
        .map(|x| x ^ 1)
        .discard();
    let client = env.spawn().expect("job starts");
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(status.wait_for(|s| *s == JobStatus::Running))
        .expect("runs");
    // Wait until records have flowed, by the job's own metrics.
    let mut seen = 0;
    while seen < 100_000 {
        seen = client
            .operator_counts()
            .iter()
            .find(|o| o.uid == "endless")
            .map_or(0, |o| o.records_out);
        std::thread::yield_now();
    }
    client.cancel();
    let status = client.subscribe_status();
    assert_eq!(client.wait_blocking(), Err(JobError::Cancelled));
    assert_eq!(*status.borrow(), JobStatus::Canceled);
}

#[test]
fn a_finished_job_reports_finished() {
    let env = StreamEnvironment::new();
    env.generate_sequence(0, 100).discard();
    let client = env.spawn().expect("job starts");
    let status = client.subscribe_status();
    client.wait_blocking().expect("finishes");
    assert_eq!(*status.borrow(), JobStatus::Finished);
}

#[tokio::test]
async fn jobs_can_be_awaited_inside_a_tokio_runtime() {
    let env = StreamEnvironment::new();
    let out = env.generate_sequence(1, 5000).collect();
    let client = env.spawn().expect("job starts");
    let result = client.wait().await.expect("finishes");
    assert_eq!(out.len(), 5000);
    assert_eq!(result.operators.len(), 2);
}

#[actix::test]
async fn execute_works_inside_an_actix_system() {
    let env = StreamEnvironment::new();
    let out = env.generate_sequence(1, 100).collect();
    env.execute().expect("finishes");
    assert_eq!(out.len(), 100);
}

/// One run of a job that fails once at a planned record and restarts after `DELAY`: its restart
/// history (when, after how long, from which checkpoint), its committed output, the threads its
/// stateful operator ran on, and how long it took on the wall clock.
struct Run {
    restarts: Vec<(Duration, Duration, Option<u64>)>,
    output: Vec<u64>,
    threads: usize,
    wall: Duration,
}

/// Far longer than the test may take on the wall clock: only a paused clock waits it out at once.
const DELAY: Duration = Duration::from_secs(40);

fn restart_run(deterministic: bool) -> Run {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(3)
        .set_batch_size(16)
        .enable_checkpointing(Duration::from_millis(20));
    if deterministic {
        env.set_deterministic(7);
    }
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 1,
        delay: DELAY,
    });
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("sum", 1),
        record: 3_000,
    }));
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let seen = threads.clone();
    let out = CommittedCollector::new();
    env.generate_sequence(0, 29_999)
        .key_by(|x| x % 10)
        .reduce(|a, b| a + b)
        .uid("sum")
        .map(move |x| {
            seen.lock()
                .expect("lock")
                .insert(std::thread::current().id());
            x
        })
        .collect_committed(&out);
    let started = std::time::Instant::now();
    let result = env.execute().expect("finishes after one restart");
    let mut output = out.records();
    output.sort_unstable();
    let threads = threads.lock().expect("lock").len();
    Run {
        restarts: (result.restarts.iter())
            .map(|r| (r.at, r.delay, r.restored_from))
            .collect(),
        output,
        threads,
        wall: started.elapsed(),
    }
}

/// Holds only in deterministic mode: without it the restart delay takes its 40 s of wall time,
/// subtasks run on several arbiter threads, and two runs never restart at the same instant.
#[test]
fn deterministic_mode_runs_on_one_thread_with_a_paused_clock_and_replays_a_restart_exactly() {
    let first = restart_run(true);
    assert!(
        first.wall < DELAY / 4,
        "a {DELAY:?} restart delay took {:?} of wall time",
        first.wall
    );
    assert_eq!(first.threads, 1, "every subtask on the one arbiter");
    assert_eq!(first.restarts.len(), 1);
    let (at, delay, restored) = first.restarts[0];
    assert_eq!(delay, DELAY);
    assert!(restored.is_some(), "the restart restored a checkpoint");
    assert!(at > Duration::ZERO);
    let second = restart_run(true);
    assert_eq!(
        second.restarts, first.restarts,
        "the same instant, to the nanosecond"
    );
    assert_eq!(second.output, first.output);
    assert_eq!(first.output.len(), 30_000);
}

#[test]
fn client_metrics_match_the_job_result() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2);
    env.generate_sequence(0, 9_999)
        .uid("src")
        .filter(|x| x % 3 == 0)
        .uid("thirds")
        .discard();
    let client = env.spawn().expect("job starts");
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(status.wait_for(|s| s.is_terminal()))
        .expect("ends");
    let per_subtask = client.operator_metrics();
    let thirds: u64 = per_subtask
        .iter()
        .filter(|m| m.uid == "thirds")
        .map(|m| m.records_out)
        .sum();
    assert_eq!(thirds, 3334);
    assert_eq!(per_subtask.iter().filter(|m| m.uid == "thirds").count(), 2);
    let result = client.wait_blocking().expect("finishes");
    assert_eq!(result.operator("thirds").map(|o| o.records_out), Some(3334));
}
