//! Savepoint scenarios of the coordinator's protocol: where the savepoint is written, what a
//! stopping savepoint ends, and that a failed savepoint is not a failed checkpoint.

use super::scenario::{config, Effect, Scenario, UNWRITABLE};
use super::SavepointRequest;
use crate::checkpoint::coordinator_context::{RequestId, SubtaskMessage};
use crate::checkpoint::failure_reason::CheckpointFailureReason as Reason;
use crate::checkpoint::snapshot_kind::{SavepointFormat, SnapshotKind};
use crate::checkpoint::stats::CheckpointStatus;
use crate::config::checkpoint_config::CheckpointConfig;

fn savepoint(dir: &str, stop: bool) -> SavepointRequest {
    SavepointRequest {
        dir: dir.into(),
        stop,
        format: Default::default(),
    }
}

fn position(s: &Scenario, effect: &Effect) -> Option<usize> {
    s.effects().iter().position(|e| e == effect)
}

#[test]
fn a_savepoint_is_written_before_its_checkpoint_completes_and_a_stopping_one_ends_checkpointing() {
    let mut s = Scenario::new(config(), &[1, 1]);
    s.core
        .trigger_savepoint(RequestId(7), savepoint("/sp", true), &mut s.cx);
    assert_eq!(s.triggers().len(), 1);
    let savepoint_kind = SnapshotKind::Savepoint(SavepointFormat::Canonical);
    let suspending = |e: &Effect| matches!(e, Effect::Sent(_, SubtaskMessage::TriggerAndSuspend(b)) if b.id == 1 && b.kind == savepoint_kind);
    assert!(
        s.effects().iter().any(suspending),
        "a stopping savepoint suspends its sources: {:?}",
        s.effects()
    );
    s.ack_all(1);
    let written = position(&s, &Effect::SavepointWritten(1, "/sp".into())).expect("written");
    let metadata = position(&s, &Effect::MetadataWritten(1)).expect("metadata written");
    assert!(written < metadata, "{:?}", s.effects());
    assert_eq!(s.sent(SubtaskMessage::Complete(1)), s.keys());
    assert_eq!(s.ended(), [(1, CheckpointStatus::Completed)]);
    // Nothing is triggered after it, periodically or on request.
    s.clear();
    s.run_until(1_000);
    assert_eq!(s.triggers(), []);
    s.core.trigger_manual(RequestId(8), &mut s.cx);
    assert_eq!(
        s.effects(),
        [Effect::Answered(RequestId(8), Err(Reason::JobTerminating))]
    );
}

#[test]
fn a_savepoint_that_cannot_be_written_fails_uncounted_and_checkpoints_go_on() {
    let config = CheckpointConfig {
        tolerable_failed_checkpoints: 0,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.core
        .trigger_savepoint(RequestId(1), savepoint(UNWRITABLE, true), &mut s.cx);
    s.ack_all(1);
    assert!(
        matches!(
            &s.ended()[..],
            [(1, CheckpointStatus::Failed(Reason::MetadataWrite(_)))]
        ),
        "{:?}",
        s.ended()
    );
    assert_eq!(position(&s, &Effect::MetadataWritten(1)), None);
    assert_eq!(s.discarded(), [1]);
    // Every subtask hears of the abort: a suspended source reads again.
    assert_eq!(s.sent(SubtaskMessage::Aborted(1)), s.keys());
    assert_eq!(
        s.reports(),
        [],
        "a failed savepoint is not a failed checkpoint"
    );
    // Not stopped: the next periodic checkpoint goes and completes.
    s.clear();
    s.run_until(20);
    assert_eq!(s.triggers().first().map(|t| t.0), Some(2));
    s.ack_all(2);
    assert_eq!(s.ended(), [(2, CheckpointStatus::Completed)]);
}

#[test]
fn an_intermediate_savepoint_has_no_side_effects_and_is_no_checkpoint_of_the_job() {
    let mut s = Scenario::new(config(), &[1, 1]);
    s.core.trigger_manual(RequestId(1), &mut s.cx);
    s.ack_all(1);
    assert_eq!(s.ended(), [(1, CheckpointStatus::Completed)]);
    s.clear();
    s.core
        .trigger_savepoint(RequestId(2), savepoint("/sp", false), &mut s.cx);
    let plain = |e: &Effect| matches!(e, Effect::Sent(_, SubtaskMessage::Trigger(b)) if b.id == 2);
    assert!(s.effects().iter().any(plain), "the sources keep reading");
    s.ack_all(2);
    assert!(position(&s, &Effect::SavepointWritten(2, "/sp".into())).is_some());
    assert_eq!(
        position(&s, &Effect::MetadataWritten(2)),
        None,
        "not a checkpoint of the job"
    );
    assert!(!s.any_completion_sent(), "no commit: {:?}", s.effects());
    assert_eq!(s.sent(SubtaskMessage::Aborted(2)), []);
    assert_eq!(
        s.discarded(),
        [2],
        "its files in the job's directory go; checkpoint 1 stays"
    );
    assert_eq!(s.ended(), [(2, CheckpointStatus::Completed)]);
    // The next checkpoint commits what the savepoint covered and subsumes checkpoint 1 only.
    s.clear();
    s.core.trigger_manual(RequestId(3), &mut s.cx);
    s.ack_all(3);
    assert_eq!(s.sent(SubtaskMessage::Complete(3)), s.keys());
    assert_eq!(s.discarded(), [1]);
}

#[test]
fn a_claimed_snapshot_is_retained_until_subsumed_and_then_disposed_of() {
    let config = CheckpointConfig {
        num_retained: 2,
        ..config()
    };
    let mut s = Scenario::new(config, &[1]);
    s.core.claim(7);
    assert_eq!(
        s.core.latest_completed(),
        Some(7),
        "a restart restores from it"
    );
    for (request, id) in [(1, 1), (2, 2)] {
        s.clear();
        s.core.trigger_manual(RequestId(request), &mut s.cx);
        s.ack_all(id);
        assert_eq!(s.ended(), [(id, CheckpointStatus::Completed)]);
        let disposed = s.effects().contains(&Effect::ClaimedDisposed);
        // Two retained: the claimed snapshot goes when the second checkpoint completes.
        assert_eq!(disposed, id == 2, "checkpoint {id}: {:?}", s.effects());
        assert_eq!(
            s.discarded(),
            [],
            "the job's storage never deletes the claimed snapshot"
        );
    }
    assert_eq!(s.core.claimed(), None);
}

#[test]
fn a_draining_stop_ends_the_sources_and_takes_the_savepoint_once_every_input_ended() {
    let mut s = Scenario::new(config(), &[1, 1]);
    let (source, sink) = (s.key(0, 0), s.key(1, 0));
    s.core
        .drain_with_savepoint(RequestId(4), savepoint("/sp", true), &mut s.cx);
    assert_eq!(s.sent(SubtaskMessage::EndSource), [source]);
    assert_eq!(s.triggers(), [], "no savepoint before end of input");
    s.core.input_ended(source, &mut s.cx);
    assert_eq!(s.triggers(), [], "the sink's input has not ended yet");
    s.core.input_ended(sink, &mut s.cx);
    assert_eq!(
        s.triggers().len(),
        1,
        "the final checkpoint is the savepoint"
    );
    let id = s.triggers()[0].0;
    s.ack_all(id);
    assert!(position(&s, &Effect::SavepointWritten(id, "/sp".into())).is_some());
    assert_eq!(s.sent(SubtaskMessage::Complete(id)), s.keys());
    assert!(s
        .effects()
        .iter()
        .any(|e| matches!(e, Effect::Answered(RequestId(4), Ok(_)))));
}

#[test]
fn a_failover_fails_a_draining_stop() {
    let mut s = Scenario::new(config(), &[1, 1]);
    s.core
        .drain_with_savepoint(RequestId(5), savepoint("/sp", true), &mut s.cx);
    s.core.region_failed(&[0, 1], &mut s.cx);
    assert!(s
        .effects()
        .contains(&Effect::Answered(RequestId(5), Err(Reason::TaskFailure))));
}
