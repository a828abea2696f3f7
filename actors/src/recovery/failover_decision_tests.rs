use super::*;
use crate::checkpoint::stats::CheckpointFailureReason;
use crate::checkpoint::storage::StorageError;
use crate::error::task_failure::{SubtaskId, TaskError, TaskErrorKind, TaskFailure};
use crate::graph::job_spec::{ChannelPattern, EdgeSpec};
use crate::recovery::failover_region::pipelined_regions;
use std::path::PathBuf;

const SECOND: Duration = Duration::from_secs(1);

fn edge(source: usize, target: usize) -> EdgeSpec {
    EdgeSpec {
        source,
        target,
        target_gate: 0,
        pattern: ChannelPattern::AllToAll,
    }
}

/// Two pipelines, `a-src -> a-op` (vertices 0, 1) and `b-src -> b-op` (vertices 2, 3).
fn handler(strategy: RestartStrategyConfig, failover: FailoverStrategyKind) -> FailureHandler {
    let names = ["a-src", "a-op", "b-src", "b-op"]
        .map(String::from)
        .to_vec();
    let regions = pipelined_regions(4, &[edge(0, 1), edge(2, 3)]);
    FailureHandler::new(&strategy, 7, failover, regions, names)
}

fn fixed(attempts: u32, delay: Duration) -> RestartStrategyConfig {
    RestartStrategyConfig::FixedDelay { attempts, delay }
}

fn key(vertex: usize, attempt: u32) -> SubtaskKey {
    SubtaskKey {
        vertex,
        index: 0,
        attempt,
    }
}

fn task_failure(message: &str) -> FailureCause {
    FailureCause::Subtask(TaskFailure {
        subtask: SubtaskId {
            task: "a-op".into(),
            uid: "a-op".into(),
            index: 0,
            parallelism: 1,
        },
        error: TaskError::new(TaskErrorKind::Injected, message),
    })
}

fn failed(vertex: usize, attempt: u32) -> FailureReport {
    FailureReport {
        subtask: Some(key(vertex, attempt)),
        cause: task_failure("boom"),
    }
}

fn checkpointing_failed() -> FailureReport {
    FailureReport {
        subtask: None,
        cause: FailureCause::CheckpointingFailed {
            failures: 2,
            last: CheckpointFailureReason::Expired(SECOND),
        },
    }
}

/// The vertices and delay of a restart decision; panics on any other decision.
fn restart(decision: FailoverDecision) -> (Vec<usize>, Duration, RestartRecord) {
    match decision {
        FailoverDecision::Restart {
            vertices,
            delay,
            record,
        } => (vertices, delay, record),
        other => panic!("expected a restart, got {other:?}"),
    }
}

#[test]
fn region_failover_restarts_the_connected_component_of_the_failed_subtask() {
    let mut h = handler(fixed(3, SECOND), FailoverStrategyKind::Region);
    let (vertices, delay, record) = restart(h.on_failure(failed(3, 0), Duration::ZERO));
    assert_eq!(vertices, vec![2, 3]);
    assert_eq!(delay, SECOND);
    assert_eq!(record.restarted_tasks, vec!["b-src", "b-op"]);
    assert_eq!(record.attempt, 1);
    assert!(record.counted);
    assert_eq!(record.restored_from, None);
}

#[test]
fn full_failover_restarts_every_task() {
    let mut h = handler(fixed(3, SECOND), FailoverStrategyKind::Full);
    let (vertices, ..) = restart(h.on_failure(failed(1, 0), Duration::ZERO));
    assert_eq!(vertices, vec![0, 1, 2, 3]);
}

#[test]
fn too_many_failed_checkpoints_restart_every_task_even_under_region_failover() {
    let mut h = handler(fixed(3, SECOND), FailoverStrategyKind::Region);
    let (vertices, _, record) = restart(h.on_failure(checkpointing_failed(), Duration::ZERO));
    assert_eq!(vertices, vec![0, 1, 2, 3]);
    assert!(matches!(
        record.cause,
        FailureCause::CheckpointingFailed { failures: 2, .. }
    ));
}

#[test]
fn a_report_of_an_earlier_attempt_is_ignored_and_not_counted() {
    // Two restarts allowed: the stale report in between must not use one up.
    let mut h = handler(fixed(2, SECOND), FailoverStrategyKind::Region);
    let (vertices, ..) = restart(h.on_failure(failed(0, 0), Duration::ZERO));
    assert_eq!(h.on_restart(1, &vertices, None), 1);
    // The old deployment's late report changes nothing, and uses up no attempt.
    assert_eq!(
        h.on_failure(failed(1, 0), SECOND),
        FailoverDecision::Ignore(Stale::EarlierAttempt)
    );
    assert!(matches!(
        h.on_failure(failed(1, 1), SECOND),
        FailoverDecision::Restart { .. }
    ));
}

#[test]
fn a_report_of_a_task_that_is_restarting_already_is_ignored() {
    let mut h = handler(fixed(5, SECOND), FailoverStrategyKind::Region);
    restart(h.on_failure(failed(0, 0), Duration::ZERO));
    assert_eq!(
        h.on_failure(failed(1, 0), Duration::ZERO),
        FailoverDecision::Ignore(Stale::Restarting)
    );
    assert!(!h.is_current(&key(1, 0)));
    assert!(h.is_current(&key(2, 0)), "the other region runs on");
    assert!(!h.is_settled());
}

#[test]
fn reports_after_the_job_ended_are_ignored() {
    let mut h = handler(fixed(5, SECOND), FailoverStrategyKind::Region);
    h.end();
    assert_eq!(
        h.on_failure(failed(0, 0), Duration::ZERO),
        FailoverDecision::Ignore(Stale::JobEnded)
    );
    assert_eq!(
        h.on_failure(checkpointing_failed(), Duration::ZERO),
        FailoverDecision::Ignore(Stale::JobEnded)
    );
}

#[test]
fn a_failure_whose_tasks_all_restart_already_joins_the_scheduled_restart() {
    let mut h = handler(fixed(5, SECOND), FailoverStrategyKind::Full);
    restart(h.on_failure(failed(0, 0), Duration::ZERO));
    assert_eq!(
        h.on_failure(checkpointing_failed(), Duration::ZERO),
        FailoverDecision::JoinScheduledRestart
    );
    assert_eq!(h.history().len(), 1, "no second restart is recorded");
}

#[test]
fn a_second_region_failing_while_the_first_restarts_gets_a_restart_of_its_own() {
    let mut h = handler(fixed(5, SECOND), FailoverStrategyKind::Region);
    let (first, ..) = restart(h.on_failure(failed(1, 0), Duration::ZERO));
    let (second, _, record) = restart(h.on_failure(failed(2, 0), SECOND / 2));
    assert_eq!((first, second), (vec![0, 1], vec![2, 3]));
    assert_eq!(record.attempt, 2);
    // Both restarts deploy with the newest attempt number.
    assert_eq!(h.on_restart(1, &[0, 1], None), 2);
    assert!(!h.is_settled());
    assert_eq!(h.on_restart(2, &[2, 3], Some(4)), 2);
    assert!(h.is_settled());
    assert!(h.is_current(&key(0, 2)) && h.is_current(&key(3, 2)));
}

#[test]
fn a_restart_records_the_checkpoint_it_restored() {
    let mut h = handler(fixed(5, SECOND), FailoverStrategyKind::Region);
    restart(h.on_failure(failed(0, 0), Duration::ZERO));
    restart(h.on_failure(failed(2, 0), Duration::ZERO));
    h.on_restart(2, &[2, 3], Some(9));
    h.on_restart(1, &[0, 1], None);
    let restored: Vec<_> = h.history().iter().map(|r| r.restored_from).collect();
    assert_eq!(restored, vec![None, Some(9)]);
}

#[test]
fn no_restart_fails_the_job_with_the_cause_itself() {
    let mut h = handler(
        RestartStrategyConfig::NoRestart,
        FailoverStrategyKind::Region,
    );
    let decision = h.on_failure(failed(1, 0), Duration::ZERO);
    let FailoverDecision::FailJob(JobError::TaskFailed(failure)) = decision else {
        panic!("expected the task failure, got {decision:?}");
    };
    assert_eq!(failure.error.message, "boom");
    assert_eq!(
        h.on_failure(failed(2, 0), Duration::ZERO),
        FailoverDecision::Ignore(Stale::JobEnded)
    );
}

#[test]
fn no_restart_and_too_many_failed_checkpoints_fail_with_the_checkpoint_error() {
    let mut h = handler(RestartStrategyConfig::NoRestart, FailoverStrategyKind::Full);
    assert!(matches!(
        h.on_failure(checkpointing_failed(), Duration::ZERO),
        FailoverDecision::FailJob(JobError::CheckpointingFailed { failures: 2, .. })
    ));
}

#[test]
fn fixed_delay_restarts_exactly_n_times_with_its_delay_then_gives_up_with_the_history() {
    let mut h = handler(fixed(3, 5 * SECOND), FailoverStrategyKind::Full);
    let mut now = Duration::ZERO;
    let mut delays = Vec::new();
    for restart_number in 1..=3 {
        let (vertices, delay, _) = restart(h.on_failure(failed(0, restart_number - 1), now));
        delays.push(delay);
        now += delay;
        assert_eq!(
            h.on_restart(restart_number, &vertices, None),
            restart_number
        );
        now += SECOND;
    }
    assert_eq!(delays, vec![5 * SECOND; 3]);
    let decision = h.on_failure(failed(0, 3), now);
    let FailoverDecision::FailJob(JobError::RestartsExhausted {
        cause,
        strategy,
        history,
    }) = decision
    else {
        panic!("expected exhaustion, got {decision:?}");
    };
    assert!(matches!(*cause, FailureCause::Subtask(_)));
    assert!(
        strategy.starts_with("FixedDelayRestartBackoffTimeStrategy"),
        "{strategy}"
    );
    let at: Vec<u64> = history.iter().map(|r| r.at.as_secs()).collect();
    assert_eq!(at, vec![0, 6, 12]);
    assert_eq!(
        history.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn fixed_delay_with_zero_attempts_never_restarts() {
    let mut h = handler(fixed(0, SECOND), FailoverStrategyKind::Region);
    assert!(matches!(
        h.on_failure(failed(0, 0), Duration::ZERO),
        FailoverDecision::FailJob(JobError::RestartsExhausted { ref history, .. }) if history.is_empty()
    ));
}

#[test]
fn a_failed_restore_fails_the_job_at_once_whatever_the_strategy() {
    let mut h = handler(fixed(10, SECOND), FailoverStrategyKind::Region);
    let report = FailureReport {
        subtask: None,
        cause: FailureCause::RestoreFailed {
            checkpoint: 4,
            error: StorageError::Foreign {
                path: PathBuf::from("chk-4/_metadata"),
            },
        },
    };
    assert!(matches!(
        h.on_failure(report, Duration::ZERO),
        FailoverDecision::FailJob(JobError::RestoreFailed { checkpoint: 4, .. })
    ));
    assert!(h.history().is_empty());
}

#[test]
fn an_exponential_failure_inside_a_scheduled_restart_is_not_counted_and_waits_for_it() {
    let strategy = RestartStrategyConfig::ExponentialDelay {
        initial_backoff: SECOND,
        max_backoff: 60 * SECOND,
        backoff_multiplier: 2.0,
        reset_backoff_threshold: 3600 * SECOND,
        jitter_factor: 0.0,
        attempts_before_reset_backoff: 10,
    };
    let mut h = handler(strategy, FailoverStrategyKind::Region);
    let (_, first_delay, first) = restart(h.on_failure(failed(0, 0), Duration::ZERO));
    let (vertices, delay, second) = restart(h.on_failure(failed(3, 0), Duration::from_millis(300)));
    assert_eq!((first_delay, first.counted), (SECOND, true));
    assert_eq!(vertices, vec![2, 3]);
    assert_eq!(
        (delay, second.counted),
        (Duration::from_millis(700), false),
        "the second region restarts with the first, at the restart already scheduled"
    );
}
