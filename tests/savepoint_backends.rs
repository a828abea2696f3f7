//! A savepoint restores into the state backend that wrote it. Into another backend it is, for
//! now, a clear error naming the operator and both backends, failing the job at once (no
//! restart can cure it) rather than after every restart the strategy allows.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use weir::{JobError, RestartStrategyConfig, StateBackend, StreamEnvironment};

const JOB: &str = "savepoint-backends";

fn env(base: &Path, backend: StateBackend) -> StreamEnvironment {
    let mut env = deterministic_env(2);
    env.set_parallelism(2)
        .set_job_id(JOB)
        .set_state_backend(backend)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    env
}

fn job(env: &StreamEnvironment, progress: &Progress) {
    paced(env, "numbers", 100_000, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v % 7)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .discard()
        .uid("out");
}

#[test]
fn a_savepoint_into_another_backend_fails_at_once_naming_the_operator_and_both_backends() {
    let pairs = [
        (
            StateBackend::HashMap,
            StateBackend::rocksdb(),
            "hashmap",
            "rocksdb",
        ),
        (
            StateBackend::rocksdb(),
            StateBackend::HashMap,
            "rocksdb",
            "hashmap",
        ),
    ];
    for (from, to, from_name, to_name) in pairs {
        let tmp = tempfile::tempdir().unwrap();
        let first = env(&tmp.path().join("chk"), from);
        let progress = Progress::default();
        job(&first, &progress);
        let client = spawn_running(&first);
        progress.wait_for(200);
        let savepoint = block_on(client.stop_with_savepoint(tmp.path().join("sp"))).expect("taken");
        finish(client).0.expect("stopped");

        let mut second = env(&tmp.path().join("chk2"), to);
        second.set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::ZERO,
        });
        second
            .restore_from_savepoint(&savepoint.path)
            .expect("its files read");
        job(&second, &Progress::default());
        let client = spawn_running(&second);
        let (result, _) = finish(client);
        // Failed at once: a restart would have ended as `RestartsExhausted`.
        let Err(failure @ JobError::TaskFailed(_)) = result else {
            panic!("{from_name} → {to_name}: expected the job to fail at once, got {result:?}");
        };
        let message = failure.to_string().to_lowercase();
        for word in ["sequence", from_name, to_name] {
            assert!(message.contains(word), "{from_name} → {to_name}: {message}");
        }
    }
}
