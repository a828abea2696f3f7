//! Barrier alignment for a subtask with several input channels, as a pure state machine.
//!
//! Exactly-once (aligned): after barrier `n` arrives on a channel, that channel is blocked (its
//! later records wait, bounded by credits) until barrier `n` has arrived on every channel that has
//! not ended; then the subtask snapshots and every channel is released. At-least-once: channels are
//! never blocked; the snapshot is taken when the last barrier `n` arrives.
//!
//! Flink's rules: a barrier older than the pending checkpoint (or equal to the last one taken) is
//! ignored; a newer barrier while an older checkpoint is aligning aborts the older one and starts
//! aligning the newer; end of input on a channel removes it from the channels to wait for.

use crate::network::event::CheckpointId;

/// What the subtask must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlignmentAction {
    /// Nothing (the barrier was recorded, or ignored).
    None,
    /// Stop reading channel `channel` until released.
    Block(usize),
    /// Every channel has delivered barrier `id`: snapshot, forward the barrier, release all.
    Snapshot(CheckpointId),
    /// The older alignment for `aborted` was given up for a newer barrier; release every channel,
    /// decline `aborted`, then apply `then`.
    Abort {
        /// The checkpoint given up.
        aborted: CheckpointId,
        /// What to do next for the newer barrier.
        then: Box<AlignmentAction>,
    },
}

/// Alignment state of one subtask.
#[derive(Debug, Clone)]
pub struct BarrierAligner {
    aligned: bool,
    ended: Vec<bool>,
    pending: Option<(CheckpointId, Vec<bool>)>,
    last_completed: Option<CheckpointId>,
}

impl BarrierAligner {
    /// An aligner over `channels` input channels; `aligned` for exactly-once.
    pub fn new(channels: usize, aligned: bool) -> BarrierAligner {
        BarrierAligner {
            aligned,
            ended: vec![false; channels],
            pending: None,
            last_completed: None,
        }
    }

    /// The checkpoint being aligned, if any.
    pub fn pending(&self) -> Option<CheckpointId> {
        self.pending.as_ref().map(|p| p.0)
    }

    /// Barrier `id` arrived on `channel`.
    pub fn on_barrier(&mut self, channel: usize, id: CheckpointId) -> AlignmentAction {
        if self.last_completed.is_some_and(|last| id <= last) {
            return AlignmentAction::None;
        }
        match &self.pending {
            Some((pending, _)) if id < *pending => AlignmentAction::None,
            Some((pending, _)) if id > *pending => {
                let aborted = *pending;
                self.pending = None;
                let then = self.on_barrier(channel, id);
                AlignmentAction::Abort {
                    aborted,
                    then: Box::new(then),
                }
            }
            _ => {
                let channels = self.ended.len();
                let seen = &mut self
                    .pending
                    .get_or_insert_with(|| (id, vec![false; channels]))
                    .1;
                if let Some(s) = seen.get_mut(channel) {
                    *s = true;
                }
                if self.complete() {
                    self.finish(id)
                } else if self.aligned {
                    AlignmentAction::Block(channel)
                } else {
                    AlignmentAction::None
                }
            }
        }
    }

    /// `channel` delivered its end of input.
    pub fn on_end_of_input(&mut self, channel: usize) -> AlignmentAction {
        if let Some(e) = self.ended.get_mut(channel) {
            *e = true;
        }
        match &self.pending {
            Some((id, _)) if self.complete() => {
                let id = *id;
                self.finish(id)
            }
            _ => AlignmentAction::None,
        }
    }

    /// Gives up the pending alignment (a cancellation marker or the checkpoint's abort); returns
    /// its id if one was pending. The caller releases every channel.
    pub fn abort_pending(&mut self, id: CheckpointId) -> Option<CheckpointId> {
        match self.pending {
            Some((pending, _)) if pending == id => {
                self.pending = None;
                self.last_completed = Some(self.last_completed.map_or(id, |l| l.max(id)));
                Some(id)
            }
            _ => None,
        }
    }

    fn complete(&self) -> bool {
        match &self.pending {
            Some((_, seen)) => seen
                .iter()
                .zip(&self.ended)
                .all(|(seen, ended)| *seen || *ended),
            None => false,
        }
    }

    fn finish(&mut self, id: CheckpointId) -> AlignmentAction {
        self.pending = None;
        self.last_completed = Some(id);
        AlignmentAction::Snapshot(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlignmentAction::*;

    #[test]
    fn a_single_channel_snapshots_on_its_barrier() {
        let mut a = BarrierAligner::new(1, true);
        assert_eq!(a.on_barrier(0, 1), Snapshot(1));
    }

    #[test]
    fn aligned_mode_blocks_each_channel_until_all_delivered_the_barrier() {
        let mut a = BarrierAligner::new(3, true);
        assert_eq!(a.on_barrier(1, 5), Block(1));
        assert_eq!(a.on_barrier(0, 5), Block(0));
        assert_eq!(a.pending(), Some(5));
        assert_eq!(a.on_barrier(2, 5), Snapshot(5));
        assert_eq!(a.pending(), Option::None);
    }

    #[test]
    fn at_least_once_mode_never_blocks() {
        let mut a = BarrierAligner::new(2, false);
        assert_eq!(a.on_barrier(0, 1), None);
        assert_eq!(a.on_barrier(1, 1), Snapshot(1));
    }

    #[test]
    fn a_barrier_older_than_the_pending_one_is_ignored() {
        let mut a = BarrierAligner::new(2, true);
        assert_eq!(a.on_barrier(0, 4), Block(0));
        assert_eq!(a.on_barrier(1, 3), None);
        assert_eq!(a.on_barrier(1, 4), Snapshot(4));
    }

    #[test]
    fn a_barrier_of_a_checkpoint_already_taken_is_ignored() {
        let mut a = BarrierAligner::new(1, true);
        assert_eq!(a.on_barrier(0, 2), Snapshot(2));
        assert_eq!(a.on_barrier(0, 2), None);
        assert_eq!(a.on_barrier(0, 1), None);
    }

    #[test]
    fn a_newer_barrier_aborts_the_older_alignment_and_starts_its_own() {
        let mut a = BarrierAligner::new(2, true);
        assert_eq!(a.on_barrier(0, 1), Block(0));
        assert_eq!(
            a.on_barrier(1, 2),
            Abort {
                aborted: 1,
                then: Box::new(Block(1))
            }
        );
        assert_eq!(a.on_barrier(0, 2), Snapshot(2));
    }

    #[test]
    fn end_of_input_removes_the_channel_from_those_to_wait_for() {
        let mut a = BarrierAligner::new(3, true);
        assert_eq!(a.on_barrier(0, 1), Block(0));
        assert_eq!(a.on_barrier(1, 1), Block(1));
        assert_eq!(a.on_end_of_input(2), Snapshot(1));
        // Later checkpoints only wait for the channels still open.
        assert_eq!(a.on_barrier(0, 2), Block(0));
        assert_eq!(a.on_barrier(1, 2), Snapshot(2));
    }

    #[test]
    fn aborting_the_pending_checkpoint_makes_its_late_barriers_ignored() {
        let mut a = BarrierAligner::new(2, true);
        assert_eq!(a.on_barrier(0, 7), Block(0));
        assert_eq!(a.abort_pending(7), Some(7));
        assert_eq!(a.on_barrier(1, 7), None);
        assert_eq!(a.abort_pending(7), Option::None);
        assert_eq!(a.on_barrier(1, 8), Block(1));
    }
}
