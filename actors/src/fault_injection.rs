//! Faults injected on purpose, for test harnesses that check what the engine does about them.
//!
//! A [`FaultInjector`] is a list of planned faults, each aimed at one subtask (by the uid of its
//! task's first operator and its index). The runtime consults it at the points a fault can occur.
//! Nothing here reads the wall clock: delays run on tokio's clock, so they work under a paused one.

use crate::event::CheckpointId;
use std::time::Duration;

/// One planned fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The subtask acknowledges checkpoint `checkpoint` only `delay` after its state is written
    /// (a slow snapshot, e.g. to make the checkpoint expire).
    DelayAcknowledgement {
        /// Uid of the task's first operator.
        uid: String,
        /// Subtask index.
        subtask: u32,
        /// The checkpoint (every checkpoint when `None`).
        checkpoint: Option<CheckpointId>,
        /// How long to hold the acknowledgement back.
        delay: Duration,
    },
}

/// The faults planned for one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

    /// How long subtask `subtask` of `uid` holds back its acknowledgement of `checkpoint`.
    pub fn acknowledgement_delay(
        &self,
        uid: &str,
        subtask: u32,
        checkpoint: CheckpointId,
    ) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            Fault::DelayAcknowledgement {
                uid: u,
                subtask: s,
                checkpoint: c,
                delay,
            } if u == uid && *s == subtask && c.is_none_or(|c| c == checkpoint) => Some(*delay),
            _ => None,
        })
    }
}
