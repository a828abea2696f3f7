//! The late-message rule, in one place: what the coordinator does with an acknowledgement or a
//! decline, given where its checkpoint stands (FAULTS.md #1; Flink's coordinator discards the
//! state of late and unknown acknowledgements).
//!
//! # Rules
//! - Only a message for a pending checkpoint, from a subtask that checkpoint knows (the same
//!   attempt), counts: an acknowledgement from an expected subtask is recorded; a decline from
//!   it aborts the checkpoint.
//! - Every other message is ignored: it completes nothing, aborts nothing, is never counted
//!   against tolerable failures and triggers no recovery. Its state does not linger:
//!   - late for a checkpoint of this run that ended without being retained (aborted, expired,
//!     subsumed, or retired by retention): the whole checkpoint is discarded again, which takes
//!     the late state with it;
//!   - a duplicate, another attempt's, one for a retained checkpoint, or one for a checkpoint
//!     this run never triggered: only the shared files it uploaded are deleted, and only those
//!     that nothing else refers to; no checkpoint this run does not own is touched, and no file
//!     a recorded acknowledgement may share a name with.

use crate::checkpoint::pending_checkpoint::SubtaskRole;
use crate::checkpoint::storage::StateHandle;
use std::collections::HashSet;
use std::path::PathBuf;

/// Where the checkpoint a message names stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckpointFate {
    /// Pending; the sending subtask has this role in it.
    Pending(SubtaskRole),
    /// Completed in this run and retained.
    Retained,
    /// Triggered in this run, then aborted, expired, subsumed or retired by retention.
    Ended,
    /// Never triggered in this run (an earlier run's id, or a bogus one).
    Unknown,
}

/// What to do with an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckRule {
    /// Record it in the pending checkpoint.
    Record,
    /// Ignore it and discard its checkpoint again (deleting the late state).
    DiscardCheckpoint,
    /// Ignore it and delete the shared files it uploaded that nothing else refers to.
    DiscardUploads,
}

/// What to do with a decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclineRule {
    /// Abort the pending checkpoint with the decline's reason.
    Abort,
    /// Ignore it (the subtask deleted what it had written when its write failed).
    Ignore,
}

/// The rule for an acknowledgement of a checkpoint whose fate is `fate`.
pub(crate) fn ack_rule(fate: CheckpointFate) -> AckRule {
    match fate {
        CheckpointFate::Pending(SubtaskRole::Expected) => AckRule::Record,
        CheckpointFate::Ended => AckRule::DiscardCheckpoint,
        CheckpointFate::Pending(_) | CheckpointFate::Retained | CheckpointFate::Unknown => {
            AckRule::DiscardUploads
        }
    }
}

/// The rule for a decline of a checkpoint whose fate is `fate`.
pub(crate) fn decline_rule(fate: CheckpointFate) -> DeclineRule {
    match fate {
        CheckpointFate::Pending(SubtaskRole::Expected | SubtaskRole::Acknowledged) => {
            DeclineRule::Abort
        }
        _ => DeclineRule::Ignore,
    }
}

/// The shared files `ignored` uploaded that none of `recorded` refers to.
pub(crate) fn uploads_to_discard<'a>(
    ignored: &StateHandle,
    recorded: impl IntoIterator<Item = &'a StateHandle>,
) -> Vec<PathBuf> {
    let kept: HashSet<&PathBuf> = recorded
        .into_iter()
        .flat_map(|h| h.shared.iter().map(|f| &f.path))
        .collect();
    ignored
        .shared
        .iter()
        .filter(|f| f.uploaded && !kept.contains(&f.path))
        .map(|f| f.path.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::storage::{SharedFile, StateLocation};

    fn handle(shared: &[(&str, bool)]) -> StateHandle {
        StateHandle {
            vertex_uid: "v".into(),
            subtask: 0,
            operator_uids: vec![],
            location: StateLocation::Inline(vec![]),
            size: 0,
            shared: shared
                .iter()
                .map(|(path, uploaded)| SharedFile {
                    path: PathBuf::from(path),
                    size: 1,
                    uploaded: *uploaded,
                })
                .collect(),
        }
    }

    #[test]
    fn only_an_expected_subtasks_ack_of_a_pending_checkpoint_is_recorded() {
        assert_eq!(
            ack_rule(CheckpointFate::Pending(SubtaskRole::Expected)),
            AckRule::Record
        );
        for fate in [
            CheckpointFate::Pending(SubtaskRole::Acknowledged),
            CheckpointFate::Pending(SubtaskRole::Unknown),
            CheckpointFate::Retained,
            CheckpointFate::Unknown,
        ] {
            assert_eq!(ack_rule(fate), AckRule::DiscardUploads, "{fate:?}");
        }
    }

    #[test]
    fn a_late_ack_for_an_ended_checkpoint_discards_that_checkpoint() {
        assert_eq!(ack_rule(CheckpointFate::Ended), AckRule::DiscardCheckpoint);
    }

    #[test]
    fn a_decline_aborts_only_a_pending_checkpoint_of_the_same_attempt() {
        assert_eq!(
            decline_rule(CheckpointFate::Pending(SubtaskRole::Expected)),
            DeclineRule::Abort
        );
        for fate in [
            CheckpointFate::Pending(SubtaskRole::Unknown),
            CheckpointFate::Retained,
            CheckpointFate::Ended,
            CheckpointFate::Unknown,
        ] {
            assert_eq!(decline_rule(fate), DeclineRule::Ignore, "{fate:?}");
        }
    }

    #[test]
    fn only_uploads_no_recorded_handle_refers_to_are_discarded() {
        let ignored = handle(&[("shared/a", true), ("shared/b", true), ("shared/c", false)]);
        let recorded = handle(&[("shared/b", true)]);
        assert_eq!(
            uploads_to_discard(&ignored, [&recorded]),
            [PathBuf::from("shared/a")]
        );
    }
}
