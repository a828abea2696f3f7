//! [`FaultInjectingTask`]: a [`Task`] decorator that carries out a [`FaultInjector`]'s plan for
//! one subtask, so the subtask actor drives it as any task and has no fault branches of its own.
//!
//! - Record faults (fail, panic, stop, random) are checked before each batch of input records,
//!   counting the records the task reads from its input channels; a faulty batch is not
//!   processed. A task whose chain starts with a source reads no input records.
//! - A snapshot fault fails the synchronous part of that checkpoint's snapshot; a commit fault
//!   fails that checkpoint's completion notice.
//! - A stop asks the subtask's actor to stop at once without a report ([`Abandon`]). Until the
//!   actor gets to that message the task is dead: it drops input, emits nothing, and refuses to
//!   snapshot or end its input, so nothing it does after the stop point reaches another task or a
//!   checkpoint.

use crate::actors::messages::Abandon;
use crate::checkpoint::snapshot_kind::SnapshotKind;
use crate::error::{TaskError, TaskErrorKind};
use crate::graph::task::{SnapshotWriter, SourceStatus, Task};
use crate::network::channel::Outputs;
use crate::network::event::{Batch, CheckpointId};
use crate::splitmix64::SplitMix64;
use crate::testing::fault_injection::{FaultInjector, RecordFault};
use actix::Recipient;
use std::sync::Arc;
use tokio::time::Instant;

/// Where a decorated task runs: its vertex uid, subtask index and attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FaultSite {
    /// Uid of the task's first operator.
    pub uid: String,
    /// Subtask index.
    pub subtask: u32,
    /// Deployment attempt.
    pub attempt: u32,
}

/// A task with the faults planned for its subtask.
pub(crate) struct FaultInjectingTask {
    inner: Box<dyn Task>,
    plan: Arc<FaultInjector>,
    site: FaultSite,
    rng: Option<(SplitMix64, f64)>,
    records_seen: u64,
    abandon: Recipient<Abandon>,
    abandoned: bool,
}

impl FaultInjectingTask {
    /// `inner`, with `plan`'s faults for `site`; `abandon` stops the subtask's actor.
    pub fn new(
        inner: Box<dyn Task>,
        plan: Arc<FaultInjector>,
        site: FaultSite,
        abandon: Recipient<Abandon>,
    ) -> FaultInjectingTask {
        let rng = plan.record_rng(&site.uid, site.subtask, site.attempt);
        FaultInjectingTask {
            inner,
            plan,
            site,
            rng,
            records_seen: 0,
            abandon,
            abandoned: false,
        }
    }

    fn at(&self) -> (&str, u32, u32) {
        (&self.site.uid, self.site.subtask, self.site.attempt)
    }

    fn injected(message: String) -> TaskError {
        TaskError::new(TaskErrorKind::Injected, message)
    }

    /// The error a dead task gives where doing nothing would be visible (a snapshot, the end of
    /// its input): the same report its lost actor makes.
    fn dead() -> TaskError {
        TaskError::new(
            TaskErrorKind::Internal,
            "the subtask's actor stopped unexpectedly",
        )
    }

    /// Applies the record faults to a batch of `len` records; `false` when it must not be
    /// processed.
    fn before_records(&mut self, len: usize) -> Result<bool, TaskError> {
        let before = self.records_seen;
        self.records_seen += len as u64;
        let at = (self.site.uid.as_str(), self.site.subtask, self.site.attempt);
        match self
            .plan
            .on_records(at, before, len as u64, self.rng.as_mut())
        {
            None => Ok(true),
            Some(RecordFault::Fail(message)) => Err(Self::injected(message)),
            Some(RecordFault::Panic(message)) => panic!("{message}"),
            Some(RecordFault::Stop) => {
                self.abandoned = true;
                self.abandon.do_send(Abandon);
                Ok(false)
            }
        }
    }
}

impl Task for FaultInjectingTask {
    fn is_source(&self) -> bool {
        self.inner.is_source()
    }

    fn poll_source(&mut self, out: &mut Outputs) -> Result<SourceStatus, TaskError> {
        match self.abandoned {
            true => Ok(SourceStatus::Idle),
            false => self.inner.poll_source(out),
        }
    }

    fn process(&mut self, gate: usize, batch: Batch, out: &mut Outputs) -> Result<(), TaskError> {
        if self.abandoned || !self.before_records(batch.len())? {
            return Ok(());
        }
        self.inner.process(gate, batch, out)
    }

    fn end_of_input(&mut self, out: &mut Outputs) -> Result<(), TaskError> {
        match self.abandoned {
            true => Err(Self::dead()),
            false => self.inner.end_of_input(out),
        }
    }

    fn is_busy(&self) -> bool {
        !self.abandoned && self.inner.is_busy()
    }

    fn snapshot_state(
        &mut self,
        id: CheckpointId,
        kind: SnapshotKind,
    ) -> Result<SnapshotWriter, TaskError> {
        if self.abandoned {
            return Err(Self::dead());
        }
        if self.plan.fails_snapshot(self.at(), id) {
            return Err(Self::injected(format!(
                "injected failure in the snapshot of checkpoint {id}"
            )));
        }
        self.inner.snapshot_state(id, kind)
    }

    fn notify_checkpoint_complete(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        if self.abandoned {
            return Ok(());
        }
        if self.plan.fails_commit(self.at(), id) {
            return Err(Self::injected(format!(
                "injected failure committing checkpoint {id}"
            )));
        }
        self.inner.notify_checkpoint_complete(id)
    }

    fn notify_checkpoint_aborted(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        match self.abandoned {
            true => Ok(()),
            false => self.inner.notify_checkpoint_aborted(id),
        }
    }

    fn next_timer(&mut self) -> Option<Instant> {
        match self.abandoned {
            true => None,
            false => self.inner.next_timer(),
        }
    }

    fn on_timers(&mut self, now: Instant, out: &mut Outputs) -> Result<(), TaskError> {
        match self.abandoned {
            true => Ok(()),
            false => self.inner.on_timers(now, out),
        }
    }
}
