//! Supervision: restarts as the strategy decides, from the latest complete checkpoint, restarting
//! only the failed region; giving up with the last cause and the restart history.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::{
    CommittedCollector, ExternalizedCheckpointRetention, JobError, RestartStrategyConfig,
    StreamEnvironment,
};

fn env() -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(64)
        .set_deterministic(7)
        .enable_checkpointing(Duration::from_millis(10));
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

#[test]
fn a_failure_restarts_the_job_from_its_latest_checkpoint_and_it_finishes_exactly_once() {
    let mut env = env();
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 3,
        delay: Duration::from_secs(1),
    });
    let out = CommittedCollector::new();
    let seen = Arc::new(AtomicU64::new(0));
    env.generate_sequence(0, 99_999)
        .uid("numbers")
        .map(move |x| {
            if seen.fetch_add(1, Ordering::Relaxed) == 60_000 {
                panic!("injected");
            }
            x
        })
        .uid("fails-once")
        .key_by(|x| x / 1000)
        .reduce(|a, b| a.max(b))
        .uid("max")
        .collect_committed(&out)
        .uid("out");
    let client = env.spawn().expect("starts");
    let result = client.wait_blocking();
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(out.len(), 100_000);
}

#[test]
fn a_strategy_that_gives_up_fails_the_job_with_the_cause_and_the_history() {
    let mut env = env();
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 2,
        delay: Duration::from_secs(5),
    });
    env.generate_sequence(0, 9_999)
        .map(|x| {
            if x == 5_000 {
                panic!("poison record")
            } else {
                x
            }
        })
        .uid("poison")
        .discard();
    let client = env.spawn().expect("starts");
    match client.wait_blocking() {
        Err(JobError::RestartsExhausted { cause, history, .. }) => {
            assert_eq!(cause.error.message, "poison record");
            assert_eq!(history.len(), 2, "exactly 2 restarts before giving up");
            assert!(history.iter().all(|r| r.delay == Duration::from_secs(5)));
        }
        other => panic!("expected the strategy to give up, got {other:?}"),
    }
}
