//! Scripted scenarios of the coordinator's protocol, without actors: each drives the pure core
//! through a [`Scenario`] and checks the side effects it asked for.

use super::scenario::{config, ms, Effect, Scenario};
use crate::checkpoint::coordinator_context::{RequestId, SubtaskMessage};
use crate::checkpoint::failure_reason::{
    CheckpointFailureReason as Reason, CheckpointSubtask, DeclineCause, FailureSource,
};
use crate::checkpoint::stats::CheckpointStatus;
use crate::checkpoint::storage::StorageError;
use crate::config::checkpoint_config::CheckpointConfig;
use crate::network::event::CheckpointBarrier;
use std::path::PathBuf;

fn declined(index: u32) -> Reason {
    Reason::Declined {
        subtask: CheckpointSubtask {
            task: "Map".into(),
            uid: "v1".into(),
            index,
            parallelism: 2,
        },
        cause: DeclineCause::StateWrite(FailureSource::new(StorageError::NotFound {
            path: "/checkpoints/job".into(),
        })),
    }
}

fn failed(reason: Reason) -> CheckpointStatus {
    CheckpointStatus::Failed(reason)
}

#[test]
fn subtask_2_dies_before_its_ack_so_nothing_completes_and_nothing_is_committed() {
    let mut s = Scenario::new(config(), &[1, 1, 1]);
    s.run_until(10);
    assert_eq!(s.triggers(), [(1, 10)]);
    s.ack(1, s.key(0, 0));
    s.ack(1, s.key(1, 0));
    // Subtask 2 fails: its region restarts.
    s.core.region_failed(&[2], &mut s.cx);
    assert!(!s.any_completion_sent(), "{:?}", s.effects());
    assert!(!s.effects().contains(&Effect::MetadataWritten(1)));
    assert_eq!(s.ended(), [(1, failed(Reason::TaskFailure))]);
    assert_eq!(s.sent(SubtaskMessage::Aborted(1)), s.keys());
    assert_eq!(s.reports(), []);
}

#[test]
fn a_late_ack_after_an_abort_deletes_its_files_and_triggers_no_recovery() {
    let config = CheckpointConfig {
        timeout: ms(20),
        tolerable_failed_checkpoints: 5,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(30);
    assert_eq!(s.ended(), [(1, failed(Reason::Expired(ms(20))))]);
    assert_eq!(s.discarded(), [1]);
    s.clear();
    s.ack_with(1, s.key(0, 0), &["shared/v0-0-1.sst"]);
    // The checkpoint is discarded again, which deletes what the late ack wrote …
    assert_eq!(s.effects(), [Effect::Discarded(1)]);
    // … and nothing else happens: no completion, no report, no abort notified again.
    assert_eq!(s.core.latest_completed(), None);
}

#[test]
fn a_decline_notifies_the_abort_to_every_subtask_and_is_counted_once() {
    let config = CheckpointConfig {
        tolerable_failed_checkpoints: 1,
        ..config()
    };
    let mut s = Scenario::new(config, &[1, 2]);
    s.run_until(10);
    s.decline(1, s.key(1, 0), declined(0));
    s.decline(1, s.key(1, 1), declined(1));
    assert_eq!(s.sent(SubtaskMessage::Aborted(1)), s.keys());
    assert_eq!(s.ended(), [(1, failed(declined(0)))]);
    // One failure, tolerated: the second decline of checkpoint 1 was not counted.
    assert_eq!(s.reports(), []);
    s.run_until(20);
    s.decline(2, s.key(1, 1), declined(1));
    assert_eq!(s.reports(), [(declined(1), 2)]);
}

#[test]
fn with_max_concurrent_2_and_a_slow_ack_the_third_trigger_waits_for_a_free_slot() {
    let config = CheckpointConfig {
        max_concurrent: 2,
        ..config()
    };
    let mut s = Scenario::new(config, &[1, 1]);
    s.run_until(35);
    // Checkpoints 1 and 2 are still waiting for the slow sink: the trigger due at 30 waits.
    assert_eq!(s.triggers(), [(1, 10), (2, 20)]);
    s.ack_all(1);
    s.run_until(35);
    assert_eq!(s.triggers(), [(1, 10), (2, 20), (3, 35)]);
    // And the next periodic trigger is an interval after that one.
    s.ack_all(2);
    s.ack_all(3);
    s.run_until(45);
    assert_eq!(s.triggers().last(), Some(&(4, 45)));
}

#[test]
fn min_pause_delays_the_next_trigger_after_a_completion() {
    let config = CheckpointConfig {
        min_pause: ms(25),
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(12);
    s.ack_all(1);
    s.run_until(60);
    // Completed at 12: not before 37, although the interval said 20.
    assert_eq!(s.triggers(), [(1, 10), (2, 37)]);
}

#[test]
fn a_checkpoint_not_acknowledged_within_the_timeout_expires_and_is_discarded() {
    let config = CheckpointConfig {
        timeout: ms(20),
        tolerable_failed_checkpoints: 5,
        ..config()
    };
    let mut s = Scenario::new(config, &[1, 1]);
    s.run_until(10);
    s.ack(1, s.key(0, 0));
    s.run_until(30);
    let stats = s.stats(1).cloned();
    assert_eq!(
        stats.map(|s| (s.status, s.duration)),
        Some((failed(Reason::Expired(ms(20))), ms(20)))
    );
    assert_eq!(s.discarded(), [1]);
    assert_eq!(s.sent(SubtaskMessage::Aborted(1)), s.keys());
    assert!(!s.any_completion_sent());
}

#[test]
fn a_completed_checkpoint_subsumes_older_pending_ones_without_counting_them() {
    let config = CheckpointConfig {
        max_concurrent: 2,
        tolerable_failed_checkpoints: 0,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(20);
    s.ack_all(2);
    assert_eq!(
        s.ended(),
        [
            (1, failed(Reason::Subsumed)),
            (2, CheckpointStatus::Completed)
        ]
    );
    assert_eq!(s.sent(SubtaskMessage::Aborted(1)), s.keys());
    assert_eq!(s.sent(SubtaskMessage::Complete(2)), s.keys());
    assert_eq!(s.reports(), []);
    // Its acknowledgement, arriving late, only deletes what it wrote.
    s.clear();
    s.ack(1, s.key(0, 0));
    assert_eq!(s.effects(), [Effect::Discarded(1)]);
}

#[test]
fn retention_keeps_the_newest_num_retained_checkpoints_and_discards_older_ones() {
    let config = CheckpointConfig {
        num_retained: 2,
        ..config()
    };
    let mut s = Scenario::new(config, &[1, 1]);
    for id in 1..=4 {
        s.run_until(id * 10);
        s.ack_all(id);
    }
    assert_eq!(s.discarded(), [1, 2]);
    assert_eq!(s.core.latest_completed(), Some(4));
    // Metadata is written before anything is discarded or notified.
    let first_write = s
        .effects()
        .iter()
        .position(|e| *e == Effect::MetadataWritten(3));
    let first_discard = s.effects().iter().position(|e| *e == Effect::Discarded(1));
    assert!(first_write < first_discard);
}

#[test]
fn passing_the_tolerable_failures_is_reported_exactly_once() {
    let config = CheckpointConfig {
        timeout: ms(5),
        tolerable_failed_checkpoints: 1,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(50);
    let expired = Reason::Expired(ms(5));
    // Checkpoints 1 to 4 expired (5 is pending); only the second failure was reported.
    assert_eq!(s.ended().len(), 4);
    assert_eq!(s.reports(), [(expired.clone(), 2)]);
    // The tasks restart: counting starts over, and the limit is reported again.
    s.core.region_failed(&[0], &mut s.cx);
    s.redeploy();
    s.clear();
    s.run_until(100);
    assert_eq!(s.reports(), [(expired, 2)]);
}

#[test]
fn a_success_between_failures_resets_the_count() {
    let config = CheckpointConfig {
        timeout: ms(5),
        tolerable_failed_checkpoints: 1,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(20);
    s.ack_all(2);
    s.run_until(36);
    assert_eq!(
        s.ended().into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(s.reports(), []);
}

#[test]
fn a_manual_trigger_at_max_concurrent_is_queued_and_answered_when_its_checkpoint_completes() {
    let mut s = Scenario::new(config(), &[1]);
    s.run_until(10);
    s.core.trigger_manual(RequestId(7), &mut s.cx);
    assert_eq!(s.triggers(), [(1, 10)]);
    s.ack_all(1);
    // The slot freed: the queued request triggers checkpoint 2 at once.
    assert_eq!(s.triggers(), [(1, 10), (2, 10)]);
    s.ack_all(2);
    let answered = s.effects().iter().find_map(|e| match e {
        Effect::Answered(RequestId(7), outcome) => Some(outcome.clone()),
        _ => None,
    });
    assert!(matches!(answered, Some(Ok(stats)) if stats.id == 2));
}

#[test]
fn while_tasks_restart_a_periodic_trigger_is_skipped_and_a_manual_one_refused() {
    let mut s = Scenario::new(config(), &[1]);
    s.core.region_failed(&[0], &mut s.cx);
    s.run_until(25);
    s.core.trigger_manual(RequestId(1), &mut s.cx);
    assert_eq!(s.triggers(), []);
    assert_eq!(
        s.effects().last(),
        Some(&Effect::Answered(RequestId(1), Err(Reason::TaskFailure)))
    );
    assert_eq!(s.ended(), []);
    s.redeploy();
    s.run_until(30);
    assert_eq!(s.triggers(), [(1, 30)]);
}

#[test]
fn a_decline_from_an_earlier_attempt_is_ignored() {
    let mut s = Scenario::new(config(), &[1, 1]);
    let earlier = s.key(1, 0);
    s.core.region_failed(&[0, 1], &mut s.cx);
    s.redeploy();
    s.run_until(10);
    s.decline(1, earlier, declined(0));
    assert_eq!(s.ended(), []);
    s.ack_all(1);
    assert_eq!(s.ended(), [(1, CheckpointStatus::Completed)]);
}

#[test]
fn an_ack_from_an_earlier_attempt_deletes_only_the_uploads_nothing_recorded_refers_to() {
    let mut s = Scenario::new(config(), &[1, 1]);
    let earlier = s.key(1, 0);
    s.core.region_failed(&[0, 1], &mut s.cx);
    s.redeploy();
    s.run_until(10);
    s.ack_with(1, s.key(0, 0), &["shared/a"]);
    s.clear();
    s.ack_with(1, earlier, &["shared/a", "shared/b"]);
    assert_eq!(
        s.effects(),
        [Effect::DiscardedShared(1, vec![PathBuf::from("shared/b")])]
    );
    // The checkpoint still waits for the current attempt, and completes with it.
    s.ack(1, s.key(1, 0));
    assert_eq!(s.ended(), [(1, CheckpointStatus::Completed)]);
}

#[test]
fn a_duplicate_ack_is_not_recorded_twice() {
    let mut s = Scenario::new(config(), &[1, 1]);
    s.run_until(10);
    s.ack(1, s.key(0, 0));
    s.clear();
    s.ack(1, s.key(0, 0));
    assert_eq!(s.effects(), []);
    s.ack(1, s.key(1, 0));
    let states = s.stats(1).map(|st| st.state_size);
    assert_eq!(states, Some(20));
}

#[test]
fn an_ack_for_a_checkpoint_this_run_never_triggered_touches_no_checkpoint() {
    let mut s = Scenario::new(config(), &[1]);
    s.ack_with(42, s.key(0, 0), &["shared/x"]);
    s.ack(0, s.key(0, 0));
    assert_eq!(
        s.effects(),
        [Effect::DiscardedShared(42, vec![PathBuf::from("shared/x")])]
    );
}

#[test]
fn a_late_decline_after_an_abort_is_neither_notified_nor_counted_again() {
    let mut s = Scenario::new(config(), &[1, 2]);
    s.run_until(10);
    s.decline(1, s.key(1, 0), Reason::Subsumed);
    s.clear();
    s.decline(1, s.key(1, 1), declined(1));
    assert_eq!(s.effects(), []);
}

#[test]
fn a_failed_metadata_write_aborts_the_checkpoint_and_counts_as_a_failure() {
    let mut s = Scenario::new(config(), &[1]);
    s.fail_metadata_of(1);
    s.run_until(10);
    s.ack_all(1);
    assert!(!s.any_completion_sent());
    assert_eq!(s.discarded(), [1]);
    let reports = s.reports();
    let [(Reason::MetadataWrite(source), 1)] = reports.as_slice() else {
        panic!("{reports:?}");
    };
    assert!(matches!(
        source.downcast_ref::<StorageError>(),
        Some(StorageError::Io {
            operation: "write",
            ..
        })
    ));
    assert_eq!(s.core.latest_completed(), None);
}

#[test]
fn a_source_that_read_everything_prompts_a_checkpoint_after_min_pause() {
    let config = CheckpointConfig {
        min_pause: ms(20),
        ..config()
    };
    let mut s = Scenario::new(config, &[1, 1]);
    s.run_until(10);
    s.ack_all(1);
    s.run_until(13);
    s.core.source_exhausted(s.key(0, 0), &mut s.cx);
    s.run_until(40);
    // Completed at 10, so not before 30; then the periodic grid starts over from there.
    assert_eq!(s.triggers(), [(1, 10), (2, 30)]);
}

#[test]
fn once_every_input_ended_a_final_checkpoint_asks_every_subtask_directly() {
    let mut s = Scenario::new(config(), &[1, 1]);
    let (source, sink) = (s.key(0, 0), s.key(1, 0));
    s.core.subtask_done(source, &mut s.cx);
    s.core.input_ended(source, &mut s.cx);
    assert_eq!(s.triggers(), []);
    s.core.input_ended(sink, &mut s.cx);
    s.run_until(0);
    assert_eq!(s.triggers(), [(1, 0)]);
    let barrier =
        |e: &Effect| matches!(e, Effect::Sent(_, SubtaskMessage::Trigger(b)) if b.id == 1);
    let asked: Vec<_> = s.effects().iter().filter(|e| barrier(e)).collect();
    assert_eq!(asked.len(), 2);
}

#[test]
fn a_subtask_that_finishes_is_asked_directly_for_pending_checkpoints() {
    let mut s = Scenario::new(config(), &[1, 1]);
    s.run_until(10);
    s.clear();
    let sink = s.key(1, 0);
    s.core.subtask_done(sink, &mut s.cx);
    let barrier = CheckpointBarrier {
        id: 1,
        timestamp_ms: 10,
        kind: Default::default(),
    };
    assert_eq!(s.sent(SubtaskMessage::Trigger(barrier)), [sink]);
}

#[test]
fn terminating_fails_pending_checkpoints_uncounted_and_discards_retained_ones_when_asked() {
    let config = CheckpointConfig {
        num_retained: 3,
        tolerable_failed_checkpoints: 0,
        max_concurrent: 2,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(10);
    s.ack_all(1);
    s.run_until(20);
    s.core.trigger_manual(RequestId(1), &mut s.cx);
    s.core.trigger_manual(RequestId(2), &mut s.cx);
    s.clear();
    s.core.terminate(true, &mut s.cx);
    assert_eq!(
        s.ended(),
        [
            (2, failed(Reason::JobTerminating)),
            (3, failed(Reason::JobTerminating))
        ]
    );
    let refused = Effect::Answered(RequestId(2), Err(Reason::JobTerminating));
    assert!(s.effects().contains(&refused), "{:?}", s.effects());
    assert_eq!(s.discarded(), [2, 3, 1]);
    assert_eq!(s.reports(), []);
    // Nothing is triggered any more.
    s.clear();
    s.run_until(100);
    assert_eq!(s.effects(), []);
}

#[test]
fn each_checkpoint_ends_once_completed_or_failed_and_the_edge_hears_of_it() {
    // The edge logs one info line per completion and one warning per failure from these
    // reports (tests/logs.rs checks the lines a subscriber sees).
    let config = CheckpointConfig {
        timeout: ms(15),
        tolerable_failed_checkpoints: 10,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.run_until(10);
    s.ack_all(1);
    s.run_until(40);
    s.core.terminate(false, &mut s.cx);
    // Checkpoint 1 completed; 2 expired; 3 was pending when the job ended.
    assert_eq!(
        s.ended(),
        [
            (1, CheckpointStatus::Completed),
            (2, failed(Reason::Expired(ms(15)))),
            (3, failed(Reason::JobTerminating))
        ]
    );
}
