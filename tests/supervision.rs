//! Supervision: restarts as the strategy decides, from the latest complete checkpoint, restarting
//! only the failed region; giving up with the last cause and the restart history. Every test runs
//! in deterministic mode (paused tokio clock), so minutes of restart delays take milliseconds.

mod common;

use common::supervised::{env, failure_free, message, run_with_fault, sorted};
use std::time::Duration;
use weir::{
    CheckpointFailureReason, CommittedCollector, FailureCause, Fault, FaultInjector, JobError,
    RestartStrategyConfig, Target, TaskErrorKind,
};

#[test]
fn a_failure_restarts_the_job_from_its_latest_checkpoint_and_the_output_is_exact() {
    let fault = Fault::FailAtRecord {
        target: Target::first_attempt("max", 1),
        record: 20_000,
    };
    let (result, out) = run_with_fault(1, 100_000, 3, fault, |_| {});
    let result = result.expect("the job finishes after one restart");
    assert_eq!(result.restarts.len(), 1);
    assert!(message(&result.restarts[0].cause).contains("record 20000"));
    assert!(
        result.restarts[0].restored_from.is_some(),
        "the restart restored a checkpoint, not the beginning"
    );
    assert!(
        sorted(out) == failure_free(100_000),
        "output differs from the failure-free run"
    );
}

#[test]
fn a_strategy_that_gives_up_fails_the_job_with_the_cause_and_the_history() {
    let mut env = env(2);
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 2,
        delay: Duration::from_secs(5),
    });
    env.generate_sequence(0, 9_999)
        .key_by(|x| x % 10)
        .map(|x| {
            if x == 5_000 {
                panic!("poison record")
            } else {
                x
            }
        })
        .uid("poison")
        .discard();
    match env.execute() {
        Err(weir::Error::Job(JobError::RestartsExhausted { cause, history, .. })) => {
            assert_eq!(message(&cause), "poison record");
            assert_eq!(history.len(), 2, "exactly 2 restarts before giving up");
            assert!(history.iter().all(|r| r.delay == Duration::from_secs(5)));
            assert!(history[1].at - history[0].at >= Duration::from_secs(5));
        }
        other => panic!("expected the strategy to give up, got {other:?}"),
    }
}

#[test]
fn ten_exponential_restarts_capped_at_a_minute_take_milliseconds_and_follow_the_formula() {
    let mut env = env(3);
    env.set_restart_strategy(RestartStrategyConfig::ExponentialDelay {
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(60),
        backoff_multiplier: 2.0,
        reset_backoff_threshold: Duration::from_secs(3600),
        jitter_factor: 0.0,
        attempts_before_reset_backoff: 10,
    });
    // Fails at its first record in every attempt.
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target {
            uid: "fragile".into(),
            subtask: 0,
            attempt: None,
        },
        record: 1,
    }));
    env.generate_sequence(0, 999)
        .key_by(|x| x % 10)
        .map(|x| x)
        .uid("fragile")
        .discard();
    let started = std::time::Instant::now();
    let err = env
        .execute()
        .expect_err("the strategy gives up after 10 attempts");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "virtual time, not real time"
    );
    let weir::Error::Job(JobError::RestartsExhausted { history, .. }) = err else {
        panic!("expected exhaustion, got {err:?}");
    };
    let delays: Vec<u64> = history.iter().map(|r| r.delay.as_secs()).collect();
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
}

#[test]
fn region_failover_restarts_only_the_failed_pipeline() {
    let mut env = env(4);
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 1,
        delay: Duration::from_secs(1),
    });
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("a-op", 0),
        record: 5_000,
    }));
    let a = CommittedCollector::new();
    let b = CommittedCollector::new();
    env.generate_sequence(0, 49_999)
        .uid("a-src")
        .name("a-src")
        .key_by(|x| x / 1000)
        .map(|x| x)
        .uid("a-op")
        .name("a-op")
        .collect_committed(&a)
        .uid("a-out");
    env.generate_sequence(0, 49_999)
        .uid("b-src")
        .name("b-src")
        .key_by(|x| x / 1000)
        .map(|x| x)
        .uid("b-op")
        .name("b-op")
        .collect_committed(&b)
        .uid("b-out");
    let client = env.spawn().expect("starts");
    let mut b_counts = Vec::new();
    let mut status = client.subscribe_status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    while !status.borrow().is_terminal() {
        b_counts.push(
            client
                .operator_counts()
                .iter()
                .find(|o| o.uid == "b-op")
                .map_or(0, |o| o.records_in),
        );
        if rt.block_on(status.changed()).is_err() {
            break;
        }
    }
    let history = client.restart_history();
    client
        .wait_blocking()
        .expect("the job finishes after one restart");
    assert_eq!(history.len(), 1);
    assert!(
        history[0]
            .restarted_tasks
            .iter()
            .all(|t| t.contains("a-") || t.contains("Sequence") && !t.contains("b-")),
        "only pipeline a restarted: {:?}",
        history[0].restarted_tasks
    );
    assert!(
        b_counts.windows(2).all(|w| w[0] <= w[1]),
        "b's processed count never goes back"
    );
    let mut got_a = a.records();
    got_a.sort_unstable();
    assert_eq!(got_a, (0..50_000).collect::<Vec<u64>>());
    assert_eq!(b.len(), 50_000);
}

#[test]
fn a_failure_in_a_snapshot_and_one_in_a_commit_are_restarted_and_lose_nothing() {
    for fault in [
        Fault::FailInSnapshot {
            target: Target::first_attempt("max", 0),
            checkpoint: 3,
        },
        Fault::FailInCommit {
            target: Target::first_attempt("max", 1),
            checkpoint: 2,
        },
    ] {
        let (result, out) = run_with_fault(5, 60_000, 2, fault.clone(), |_| {});
        assert!(
            result.as_ref().is_ok_and(|r| r.restarts.len() == 1),
            "{fault:?}: {result:?}"
        );
        assert!(
            sorted(out) == failure_free(60_000),
            "{fault:?}: output differs"
        );
    }
}

#[test]
fn a_stopped_actor_is_noticed_and_restarted() {
    let fault = Fault::StopActor {
        target: Target::first_attempt("max", 0),
        record: 3_000,
    };
    let (result, out) = run_with_fault(6, 40_000, 1, fault, |_| {});
    let result = result.expect("restarted and finished");
    assert_eq!(result.restarts.len(), 1);
    assert!(message(&result.restarts[0].cause).contains("stopped unexpectedly"));
    assert!(sorted(out) == failure_free(40_000));
}

fn seeds() -> u64 {
    common::seed_count("WEIR_SUPERVISION_SEEDS", 50)
}

/// The seed's job shape: sequence → key_by → a stateful operator failing at random (seeded) →
/// map → committed sink; fixed-delay(20, 1 s) restarts, 200 ms checkpoints. Over many seeds the
/// job finishes and its output equals the failure-free run, and at least 80 % of the seeds
/// restored from a checkpoint at least once (so the sweep proves restores, not restarts from
/// nothing).
#[test]
fn random_failures_with_fixed_delay_restarts_give_the_failure_free_output_over_many_seeds() {
    let records = 100_000;
    let expected = failure_free(records);
    let mut restored_runs = 0;
    for seed in 0..seeds() {
        let (result, out) =
            run_with_fault(seed, records, 20, random_fault(seed, 40_000.0), |env| {
                env.set_batch_size(4)
                    .enable_checkpointing(Duration::from_millis(200));
            });
        let result = result.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(
            sorted(out) == expected,
            "seed {seed}: output differs from the failure-free run"
        );
        restored_runs += u64::from(result.restarts.iter().any(|r| r.restored_from.is_some()));
    }
    common::assert_most_restored(restored_runs, seeds(), "random failures");
}

/// The text `f` panics with, or `None` when it returns.
fn panic_text(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    let payload = std::panic::catch_unwind(f).err()?;
    let text = payload.downcast_ref::<String>().cloned();
    Some(text.unwrap_or_else(|| format!("{:?}", payload.downcast_ref::<&str>())))
}

#[test]
fn a_sweep_refuses_to_run_no_seed_and_to_pass_with_few_restores() {
    let count = |value: &str| {
        std::env::set_var("WEIR_SEED_COUNT_CHECK", value);
        panic_text(|| {
            common::seed_count("WEIR_SEED_COUNT_CHECK", 5);
        })
    };
    for bad in ["0", "many", "-3"] {
        let text = count(bad).unwrap_or_else(|| panic!("{bad:?} is accepted"));
        assert!(text.contains("positive number of seeds"), "{text}");
    }
    assert_eq!(count("7"), None);
    assert_eq!(common::seed_count("WEIR_SEED_COUNT_CHECK", 5), 7);
    assert_eq!(common::seed_count("WEIR_SEED_COUNT_UNSET", 5), 5);
    assert_eq!(
        panic_text(|| common::assert_most_restored(16, 20, "x")),
        None
    );
    let few = panic_text(|| common::assert_most_restored(15, 20, "x")).unwrap_or_default();
    assert!(few.contains("only 15 of 20"), "{few}");
    let none = panic_text(|| common::assert_most_restored(0, 0, "x")).unwrap_or_default();
    assert!(none.contains("no seed ran"), "{none}");
}

/// Failures of the stateful operator "max" at random, about one per `one_in` records.
fn random_fault(seed: u64, one_in: f64) -> Fault {
    Fault::Random {
        seed,
        probability: 1.0 / one_in,
        uid: Some("max".into()),
    }
}

fn random_failure_run(seed: u64) -> (Vec<(Duration, Duration, String)>, Vec<u64>) {
    let (result, out) = run_with_fault(seed, 60_000, 10, random_fault(seed, 30_000.0), |env| {
        env.set_batch_size(2)
            .enable_checkpointing(Duration::from_secs(2));
    });
    let result = result.expect("finishes");
    let restarts = result
        .restarts
        .iter()
        .map(|r| (r.at, r.delay, message(&r.cause).to_string()))
        .collect();
    (restarts, out)
}

#[test]
fn the_same_seed_replays_the_same_restarts_and_output() {
    let first = random_failure_run(11);
    assert!(
        !first.0.is_empty(),
        "the seed makes the job fail at least once"
    );
    assert_eq!(random_failure_run(11), first);
}

#[test]
fn restart_strategy_keys_configure_the_same_strategy_as_the_builder() {
    let mut conf = weir::Configuration::new();
    conf.set("restart-strategy.type", "fixed-delay")
        .and_then(|c| c.set("restart-strategy.fixed-delay.attempts", "3"))
        .and_then(|c| c.set("restart-strategy.fixed-delay.delay", "7 s"))
        .and_then(|c| c.set("jobmanager.execution.failover-strategy", "full"))
        .expect("valid keys");
    let mut env = env(8);
    env.configure(&conf).expect("applies");
    env.generate_sequence(0, 999)
        .key_by(|x| x % 10)
        .map(|x| if x == 500 { panic!("always") } else { x })
        .discard();
    let err = env.execute().expect_err("gives up");
    let weir::Error::Job(JobError::RestartsExhausted { history, .. }) = err else {
        panic!("expected exhaustion, got {err:?}");
    };
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|r| r.delay == Duration::from_secs(7)));
    // Full failover restarts every task, not only the failed region.
    assert_eq!(history[0].restarted_tasks.len(), 2);

    let mut bad = weir::Configuration::new();
    let e = bad
        .set("restart-strategy.fixed-delay.attempts", "many")
        .expect_err("a bad value is an error");
    assert!(
        e.to_string()
            .contains("restart-strategy.fixed-delay.attempts"),
        "{e}"
    );
}

#[test]
fn a_panic_planned_at_a_record_is_caught_restarted_and_loses_nothing() {
    let fault = Fault::PanicAtRecord {
        target: Target::first_attempt("max", 0),
        record: 10_000,
    };
    let (result, out) = run_with_fault(12, 60_000, 2, fault, |_| {});
    let result = result.expect("restarted and finished");
    assert_eq!(result.restarts.len(), 1);
    let failure = result.restarts[0].cause.task_failure().expect("a subtask");
    assert_eq!(failure.error.kind, TaskErrorKind::Panic);
    assert_eq!(failure.error.message, "injected panic at record 10000");
    assert!(result.restarts[0].restored_from.is_some());
    assert!(sorted(out) == failure_free(60_000));
}

#[test]
fn too_many_failed_checkpoints_restart_every_task_with_that_cause_and_no_made_up_task() {
    let (result, out) = run_with_fault(
        13,
        60_000,
        2,
        common::slow_ack("max", Some(3), Duration::from_secs(5)),
        |env| {
            env.checkpoint_config_mut().timeout = Duration::from_secs(1);
        },
    );
    let result = result.expect("restarted and finished");
    assert_eq!(result.restarts.len(), 1);
    let record = &result.restarts[0];
    assert!(
        matches!(
            &record.cause,
            FailureCause::CheckpointingFailed {
                failures: 1,
                last: CheckpointFailureReason::Expired(_)
            }
        ),
        "{:?}",
        record.cause
    );
    assert!(
        !record.cause.to_string().contains("checkpoint coordinator"),
        "{}",
        record.cause
    );
    assert_eq!(record.restarted_tasks.len(), 2, "every task restarts");
    assert_eq!(
        record.restored_from,
        Some(2),
        "the newest checkpoint before the expired one"
    );
    assert!(sorted(out) == failure_free(60_000));
}
