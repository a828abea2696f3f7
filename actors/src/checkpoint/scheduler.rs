//! When the next checkpoint may be triggered, as a pure struct (Flink's
//! `CheckpointRequestDecider` together with its periodic trigger).
//!
//! The scheduler runs no timer: it returns decisions ([`TriggerDecision`], [`ManualDecision`])
//! and the coordinator arms the one trigger timer they ask for.
//!
//! # Rules
//! - A periodic trigger is due one interval after the previous one (the first, one interval after
//!   the job starts). A prompt trigger (a source read everything, every input ended) is due at
//!   once. Either waits for min pause after the last *completed* checkpoint, and for a free slot
//!   when `max_concurrent` checkpoints are pending; a trigger waiting for a slot goes when a
//!   checkpoint ends (still after min pause).
//! - While tasks restart (suspended) a periodic trigger is skipped, not counted as a failure; the
//!   next one is due an interval later. A manual trigger is refused with
//!   [`CheckpointFailureReason::TaskFailure`].
//! - Manual triggers ignore min pause (as in Flink); at `max_concurrent` they are queued, in
//!   order, and leave the queue as slots free.

use crate::checkpoint::coordinator_context::RequestId;
use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::config::checkpoint_config::CheckpointConfig;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The period used when the configuration has none (checkpoints on request only).
const NO_INTERVAL: Duration = Duration::from_secs(3600);

/// What to do about a trigger that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriggerDecision {
    /// Trigger a checkpoint now; the next periodic trigger is due at `next_periodic`.
    Trigger {
        /// When the next periodic trigger is due.
        next_periodic: Instant,
    },
    /// Tasks are restarting: no checkpoint now; the next periodic trigger is due at
    /// `next_periodic`.
    Skip {
        /// When the next periodic trigger is due.
        next_periodic: Instant,
    },
    /// Min pause forbids a trigger before this instant: decide again then.
    WaitUntil(Instant),
    /// `max_concurrent` checkpoints are pending: decide again when one ends.
    WaitForSlot,
}

/// What to do with a manual trigger request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ManualDecision {
    /// Trigger a checkpoint for it now.
    Trigger,
    /// It waits in the queue for a free slot.
    Queued,
    /// It is refused, for this reason.
    Refuse(CheckpointFailureReason),
}

/// Trigger gating of one job's checkpoints.
#[derive(Debug)]
pub(crate) struct CheckpointScheduler {
    interval: Duration,
    min_pause: Duration,
    max_concurrent: usize,
    suspended: bool,
    last_completion: Option<Instant>,
    waiting_for_slot: bool,
    queued: VecDeque<RequestId>,
}

impl CheckpointScheduler {
    /// A scheduler for `config`'s interval, min pause and max concurrent checkpoints (at
    /// least 1).
    pub(crate) fn new(config: &CheckpointConfig) -> CheckpointScheduler {
        CheckpointScheduler {
            interval: config.interval.unwrap_or(NO_INTERVAL),
            min_pause: config.min_pause,
            max_concurrent: config.max_concurrent.max(1) as usize,
            suspended: false,
            last_completion: None,
            waiting_for_slot: false,
            queued: VecDeque::new(),
        }
    }

    /// When the first periodic trigger is due, for a job started at `now`.
    pub(crate) fn first_trigger(&self, now: Instant) -> Instant {
        now + self.interval
    }

    /// The trigger timer fired at `now`, with `pending` checkpoints in flight.
    pub(crate) fn on_timer(&mut self, now: Instant, pending: usize) -> TriggerDecision {
        match self.gate(now, pending) {
            Some(wait) => wait,
            None if self.suspended => TriggerDecision::Skip {
                next_periodic: now + self.interval,
            },
            None => TriggerDecision::Trigger {
                next_periodic: now + self.interval,
            },
        }
    }

    /// A checkpoint is wanted promptly (a source read everything, every input ended), at `now`
    /// with `pending` in flight: it goes as soon as min pause and a free slot allow.
    pub(crate) fn request_prompt(&mut self, now: Instant, pending: usize) -> TriggerDecision {
        self.gate(now, pending)
            .unwrap_or(TriggerDecision::WaitUntil(now))
    }

    /// A slot may have freed (a checkpoint ended, or tasks were deployed again), at `now` with
    /// `pending` in flight: a trigger that waited for one is due (after min pause).
    pub(crate) fn slot_freed(&mut self, now: Instant, pending: usize) -> Option<TriggerDecision> {
        if !self.waiting_for_slot || pending >= self.max_concurrent {
            return None;
        }
        self.waiting_for_slot = false;
        Some(TriggerDecision::WaitUntil(self.earliest(now)))
    }

    /// A manual trigger `request` arrived with `pending` checkpoints in flight.
    pub(crate) fn request_manual(&mut self, request: RequestId, pending: usize) -> ManualDecision {
        if pending >= self.max_concurrent {
            self.queued.push_back(request);
            ManualDecision::Queued
        } else if self.suspended {
            ManualDecision::Refuse(CheckpointFailureReason::TaskFailure)
        } else {
            ManualDecision::Trigger
        }
    }

    /// The oldest queued manual request, when a slot is free for it with `pending` in flight.
    pub(crate) fn pop_queued(&mut self, pending: usize) -> Option<RequestId> {
        if pending < self.max_concurrent {
            self.queued.pop_front()
        } else {
            None
        }
    }

    /// Whether manual request `request` is queued.
    pub(crate) fn is_queued(&self, request: RequestId) -> bool {
        self.queued.contains(&request)
    }

    /// Every queued manual request, oldest first (the job is ending).
    pub(crate) fn drain_queued(&mut self) -> Vec<RequestId> {
        self.queued.drain(..).collect()
    }

    /// A checkpoint completed at `now`: min pause counts from here.
    pub(crate) fn completed(&mut self, now: Instant) {
        self.last_completion = Some(now);
    }

    /// Tasks are restarting: no checkpoint until [`CheckpointScheduler::resume`].
    pub(crate) fn suspend(&mut self) {
        self.suspended = true;
    }

    /// Every task is deployed again.
    pub(crate) fn resume(&mut self) {
        self.suspended = false;
    }

    /// Why a due trigger cannot go at `now` with `pending` in flight, if it cannot: the one
    /// rule every kind of due trigger passes.
    fn gate(&mut self, now: Instant, pending: usize) -> Option<TriggerDecision> {
        if pending >= self.max_concurrent {
            self.waiting_for_slot = true;
            return Some(TriggerDecision::WaitForSlot);
        }
        let earliest = self.earliest(now);
        (earliest > now).then_some(TriggerDecision::WaitUntil(earliest))
    }

    /// The earliest instant from `now` on that min pause allows a trigger.
    fn earliest(&self, now: Instant) -> Instant {
        match self.last_completion {
            Some(done) => now.max(done + self.min_pause),
            None => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn scheduler(interval: u64, min_pause: u64, max_concurrent: u32) -> CheckpointScheduler {
        let config = CheckpointConfig {
            interval: Some(ms(interval)),
            min_pause: ms(min_pause),
            max_concurrent,
            ..CheckpointConfig::default()
        };
        CheckpointScheduler::new(&config)
    }

    #[test]
    fn the_first_periodic_trigger_is_due_one_interval_after_the_start() {
        let t0 = Instant::now();
        assert_eq!(scheduler(10, 0, 1).first_trigger(t0), t0 + ms(10));
    }

    #[test]
    fn a_due_trigger_with_a_free_slot_goes_and_the_next_is_an_interval_later() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 0, 1);
        assert_eq!(
            s.on_timer(t0 + ms(10), 0),
            TriggerDecision::Trigger {
                next_periodic: t0 + ms(20)
            }
        );
    }

    #[test]
    fn a_due_trigger_waits_for_min_pause_after_the_last_completion() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 30, 1);
        s.completed(t0 + ms(15));
        assert_eq!(
            s.on_timer(t0 + ms(20), 0),
            TriggerDecision::WaitUntil(t0 + ms(45))
        );
        assert!(matches!(
            s.on_timer(t0 + ms(45), 0),
            TriggerDecision::Trigger { .. }
        ));
    }

    #[test]
    fn at_max_concurrent_a_due_trigger_waits_for_a_slot_then_for_min_pause() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 5, 2);
        assert!(matches!(
            s.on_timer(t0 + ms(10), 1),
            TriggerDecision::Trigger { .. }
        ));
        assert_eq!(s.on_timer(t0 + ms(20), 2), TriggerDecision::WaitForSlot);
        // The first checkpoint completes: the waiting trigger is due after min pause.
        s.completed(t0 + ms(23));
        assert_eq!(
            s.slot_freed(t0 + ms(23), 1),
            Some(TriggerDecision::WaitUntil(t0 + ms(28)))
        );
        // Only once.
        assert_eq!(s.slot_freed(t0 + ms(24), 1), None);
    }

    #[test]
    fn a_freed_slot_does_nothing_when_no_trigger_waits() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 0, 1);
        assert_eq!(s.slot_freed(t0, 0), None);
    }

    #[test]
    fn a_prompt_request_goes_at_once_with_a_free_slot_and_after_min_pause() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 30, 1);
        assert_eq!(
            s.request_prompt(t0 + ms(3), 0),
            TriggerDecision::WaitUntil(t0 + ms(3))
        );
        s.completed(t0 + ms(5));
        assert_eq!(
            s.request_prompt(t0 + ms(6), 0),
            TriggerDecision::WaitUntil(t0 + ms(35))
        );
        assert_eq!(
            s.request_prompt(t0 + ms(6), 1),
            TriggerDecision::WaitForSlot
        );
        assert_eq!(
            s.slot_freed(t0 + ms(40), 0),
            Some(TriggerDecision::WaitUntil(t0 + ms(40)))
        );
    }

    #[test]
    fn while_suspended_a_periodic_trigger_is_skipped_and_a_manual_one_refused() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 0, 1);
        s.suspend();
        assert_eq!(
            s.on_timer(t0 + ms(10), 0),
            TriggerDecision::Skip {
                next_periodic: t0 + ms(20)
            }
        );
        assert_eq!(
            s.request_manual(RequestId(1), 0),
            ManualDecision::Refuse(CheckpointFailureReason::TaskFailure)
        );
        s.resume();
        assert_eq!(s.request_manual(RequestId(2), 0), ManualDecision::Trigger);
    }

    #[test]
    fn a_manual_trigger_ignores_min_pause() {
        let t0 = Instant::now();
        let mut s = scheduler(10, 1000, 1);
        s.completed(t0);
        assert_eq!(s.request_manual(RequestId(1), 0), ManualDecision::Trigger);
    }

    #[test]
    fn manual_triggers_queue_at_max_concurrent_and_leave_in_order_as_slots_free() {
        let mut s = scheduler(10, 0, 2);
        assert_eq!(s.request_manual(RequestId(1), 2), ManualDecision::Queued);
        assert_eq!(s.request_manual(RequestId(2), 2), ManualDecision::Queued);
        assert_eq!(s.pop_queued(2), None);
        assert_eq!(s.pop_queued(1), Some(RequestId(1)));
        assert_eq!(s.drain_queued(), [RequestId(2)]);
        assert_eq!(s.pop_queued(0), None);
    }

    #[test]
    fn no_interval_means_a_periodic_trigger_only_an_hour_apart() {
        let t0 = Instant::now();
        let config = CheckpointConfig {
            interval: None,
            ..CheckpointConfig::default()
        };
        assert_eq!(
            CheckpointScheduler::new(&config).first_trigger(t0),
            t0 + NO_INTERVAL
        );
    }
}
