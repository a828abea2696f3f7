//! The job client: status, cancellation, metrics, and starting jobs from inside async code.

use std::time::Duration;
use weir::{JobError, JobStatus, StreamEnvironment};

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

#[test]
fn deterministic_mode_runs_on_one_arbiter_with_a_paused_clock() {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(3).set_deterministic(7);
    let out = env
        .generate_sequence(0, 9999)
        .key_by(|x| x % 10)
        .reduce(|a, b| a + b)
        .collect();
    let started = std::time::Instant::now();
    env.execute().expect("finishes");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(out.len(), 10_000);
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
