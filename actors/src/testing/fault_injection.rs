//! Faults injected on purpose, for test harnesses that check what the engine decides about them.
//!
//! A [`FaultInjector`] is a list of planned faults, each aimed at one subtask (by the uid of its
//! task's first operator and its index) or, for random faults, at every subtask. The runtime
//! carries a plan out by decorating what it drives, never by branches of its own: each planned
//! subtask's task is wrapped in a fault-injecting task that fails, panics or stops before a batch
//! of input records, in a snapshot or in a commit, and a delayed acknowledgement goes through a
//! forwarder that holds it back. Random faults draw from a generator seeded by the plan's seed,
//! the subtask and its attempt, so the same seed replays the same failures, and a restarted
//! subtask does not fail at the very same record again. Nothing here reads the wall clock: delays
//! run on tokio's clock and work under a paused one.

use crate::network::event::CheckpointId;
use crate::splitmix64::SplitMix64;
use std::time::Duration;

/// Which subtask a fault is aimed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Uid of the task's first operator (for a chain, its head's uid).
    pub uid: String,
    /// Subtask index.
    pub subtask: u32,
    /// Only in this attempt (0 = the first deployment), or in every attempt when `None`.
    pub attempt: Option<u32>,
}

impl Target {
    /// Subtask `subtask` of the task whose first operator has `uid`, first attempt only.
    pub fn first_attempt(uid: &str, subtask: u32) -> Target {
        Target {
            uid: uid.to_string(),
            subtask,
            attempt: Some(0),
        }
    }

    fn matches(&self, uid: &str, subtask: u32, attempt: u32) -> bool {
        self.uid == uid && self.subtask == subtask && self.attempt.is_none_or(|a| a == attempt)
    }
}

/// One planned fault.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Fail when the subtask reaches its `record`-th input record (counting from 1, records the
    /// task reads from its input channels). A task whose chain starts with a source reads no
    /// input records: target an operator after a channel (a `key_by`, `rebalance`…).
    FailAtRecord {
        /// The subtask.
        target: Target,
        /// The record number.
        record: u64,
    },
    /// Fail in the synchronous part of checkpoint `checkpoint`'s snapshot.
    FailInSnapshot {
        /// The subtask.
        target: Target,
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Fail when committing checkpoint `checkpoint` (on its completion notification).
    FailInCommit {
        /// The subtask.
        target: Target,
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Every record of every subtask fails with `probability`, drawn from `seed`.
    Random {
        /// The generator's seed.
        seed: u64,
        /// The chance that any one record fails.
        probability: f64,
        /// Only subtasks of this uid, or every subtask when `None`.
        uid: Option<String>,
    },
    /// Panic in the task (user code panicking) at the subtask's `record`-th input record; the
    /// runtime catches it at the operator boundary as it catches any panic.
    PanicAtRecord {
        /// The subtask.
        target: Target,
        /// The record number.
        record: u64,
    },
    /// Stop the subtask's actor outright at its `record`-th record, without reporting anything
    /// (as an actor lost to a crashed thread would be).
    StopActor {
        /// The subtask.
        target: Target,
        /// The record number.
        record: u64,
    },
    /// Hold back the acknowledgement of `checkpoint` (every checkpoint when `None`) by `delay`
    /// after the state is written (a slow snapshot).
    DelayAcknowledgement {
        /// The subtask.
        target: Target,
        /// The checkpoint.
        checkpoint: Option<CheckpointId>,
        /// How long.
        delay: Duration,
    },
}

/// What the fault-injecting task does instead of processing one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordFault {
    /// Fail the subtask with this message.
    Fail(String),
    /// Panic with this message.
    Panic(String),
    /// Stop the actor without a report.
    Stop,
}

/// The faults planned for one job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultInjector {
    faults: Vec<Fault>,
}

impl FaultInjector {
    /// No faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `fault` to the plan.
    pub fn with(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// The random-fault generator of one subtask attempt (seeded by plan, subtask and attempt).
    pub(crate) fn record_rng(
        &self,
        uid: &str,
        subtask: u32,
        attempt: u32,
    ) -> Option<(SplitMix64, f64)> {
        self.faults.iter().find_map(|f| match f {
            Fault::Random {
                seed,
                probability,
                uid: only,
            } if only.as_deref().is_none_or(|u| u == uid) => {
                let mut mix = SplitMix64::new(*seed);
                let salt = crate::graph::key_group::stable_hash(&(uid, subtask, attempt));
                let seeded = SplitMix64::new(mix.next_u64() ^ salt);
                Some((seeded, *probability))
            }
            _ => None,
        })
    }

    /// The fault, if any, for a batch taking the subtask's record count from `before` (records
    /// already seen) to `before + len`; `rng` is the subtask's random-fault generator.
    pub(crate) fn on_records(
        &self,
        at: (&str, u32, u32),
        before: u64,
        len: u64,
        rng: Option<&mut (SplitMix64, f64)>,
    ) -> Option<RecordFault> {
        let (uid, subtask, attempt) = at;
        let in_batch = |n: u64| n > before && n <= before + len;
        for f in &self.faults {
            match f {
                Fault::FailAtRecord { target, record }
                    if target.matches(uid, subtask, attempt) && in_batch(*record) =>
                {
                    return Some(RecordFault::Fail(format!(
                        "injected failure at record {record}"
                    )));
                }
                Fault::PanicAtRecord { target, record }
                    if target.matches(uid, subtask, attempt) && in_batch(*record) =>
                {
                    return Some(RecordFault::Panic(format!(
                        "injected panic at record {record}"
                    )));
                }
                Fault::StopActor { target, record }
                    if target.matches(uid, subtask, attempt) && in_batch(*record) =>
                {
                    return Some(RecordFault::Stop);
                }
                _ => {}
            }
        }
        let (gen, probability) = rng?;
        for i in 1..=len {
            let draw = (gen.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            if draw < *probability {
                return Some(RecordFault::Fail(format!(
                    "injected random failure at record {}",
                    before + i
                )));
            }
        }
        None
    }

    /// Whether the subtask fails in checkpoint `checkpoint`'s snapshot.
    pub(crate) fn fails_snapshot(&self, at: (&str, u32, u32), checkpoint: CheckpointId) -> bool {
        self.faults.iter().any(|f| {
            matches!(f, Fault::FailInSnapshot { target, checkpoint: c }
                if target.matches(at.0, at.1, at.2) && *c == checkpoint)
        })
    }

    /// Whether the subtask fails committing checkpoint `checkpoint`.
    pub(crate) fn fails_commit(&self, at: (&str, u32, u32), checkpoint: CheckpointId) -> bool {
        self.faults.iter().any(|f| {
            matches!(f, Fault::FailInCommit { target, checkpoint: c }
                if target.matches(at.0, at.1, at.2) && *c == checkpoint)
        })
    }

    /// Whether the subtask holds back any acknowledgement.
    pub(crate) fn delays_acknowledgements(&self, at: (&str, u32, u32)) -> bool {
        self.faults.iter().any(|f| {
            matches!(f, Fault::DelayAcknowledgement { target, .. }
                if target.matches(at.0, at.1, at.2))
        })
    }

    /// Whether any fault could be aimed at the subtask (a random fault without a uid is aimed
    /// at every subtask).
    pub(crate) fn aims_at(&self, at: (&str, u32, u32)) -> bool {
        self.faults.iter().any(|f| match f {
            Fault::FailAtRecord { target, .. }
            | Fault::PanicAtRecord { target, .. }
            | Fault::FailInSnapshot { target, .. }
            | Fault::FailInCommit { target, .. }
            | Fault::StopActor { target, .. }
            | Fault::DelayAcknowledgement { target, .. } => target.matches(at.0, at.1, at.2),
            Fault::Random { uid, .. } => uid.as_deref().is_none_or(|u| u == at.0),
        })
    }

    /// How long the subtask holds back its acknowledgement of `checkpoint`.
    pub(crate) fn acknowledgement_delay(
        &self,
        at: (&str, u32, u32),
        checkpoint: CheckpointId,
    ) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            Fault::DelayAcknowledgement {
                target,
                checkpoint: c,
                delay,
            } if target.matches(at.0, at.1, at.2) && c.is_none_or(|c| c == checkpoint) => {
                Some(*delay)
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_fault_fires_in_the_batch_that_holds_the_record() {
        let f = FaultInjector::new().with(Fault::FailAtRecord {
            target: Target::first_attempt("a", 1),
            record: 100,
        });
        assert_eq!(f.on_records(("a", 1, 0), 0, 99, None), None);
        assert!(f.on_records(("a", 1, 0), 99, 10, None).is_some());
        assert_eq!(
            f.on_records(("a", 1, 1), 99, 10, None),
            None,
            "first attempt only"
        );
        assert_eq!(
            f.on_records(("a", 0, 0), 99, 10, None),
            None,
            "other subtask"
        );
    }

    #[test]
    fn random_faults_repeat_for_a_seed_and_differ_across_attempts() {
        let f = FaultInjector::new().with(Fault::Random {
            seed: 42,
            probability: 0.001,
            uid: None,
        });
        let first_failure = |attempt| {
            let mut rng = f.record_rng("op", 0, attempt);
            let mut seen = 0;
            loop {
                if let Some(RecordFault::Fail(m)) =
                    f.on_records(("op", 0, attempt), seen, 64, rng.as_mut())
                {
                    return m;
                }
                seen += 64;
            }
        };
        assert_eq!(first_failure(0), first_failure(0));
        assert_ne!(first_failure(0), first_failure(1));
    }
}
