//! The subtask actor: one per operator subtask. It owns the task, its input queues and its output
//! channels, and moves batches, barriers and control messages between them.
//!
//! Input is read only while every output channel has credit (no backlog), so a slow consumer
//! stops its producers; a source produces a few batches per turn and then yields, so control
//! messages (checkpoint triggers, credits, cancellation) are never stuck behind an endless stream
//! of records. Checkpoint handling lives in `subtask/checkpointing.rs`; where the subtask is in
//! its life (running, input ended, finished, failed, cancelled…) is one [`Lifecycle`] value.
//!
//! Processing-time timers: the actor keeps one tokio timer for the task's earliest pending timer
//! ([`Task::next_timer`]), rescheduled after every call that may change it. Firing counts as
//! processing: a backpressured subtask fires once credit arrives; after end of input nothing
//! fires.

pub(crate) mod checkpointing;
pub(crate) mod lifecycle;
pub(crate) mod snapshot_error;
mod source_turn;
mod wake;

use crate::actors::messages::{Abandon, Cancel, Start, Wire};
use crate::actors::messages::{InputEnded, SourceExhausted};
use crate::checkpoint::barrier_aligner::BarrierAligner;
use crate::error::{SubtaskId, TaskError, TaskErrorKind, TaskFailure};
use crate::graph::subtask_key::SubtaskKey;
use crate::network::channel::{Credit, Deliver, InputChannel, Outputs};
use crate::network::event::{ChannelEvent, CheckpointBarrier, CheckpointId};

use crate::actors::messages::SupervisorLink;
use crate::actors::messages::{SubtaskFailed, SubtaskFinished};
use crate::graph::task::Task;
use crate::metrics::SubtaskCounters;
use actix::prelude::*;
use checkpointing::SubtaskCheckpointing;
use lifecycle::{Lifecycle, LifecycleEvent};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

/// One operator subtask.
pub struct SubtaskActor {
    pub(crate) key: SubtaskKey,
    pub(crate) id: SubtaskId,
    task: Option<Box<dyn Task>>,
    pub(crate) outputs: Option<Outputs>,
    pub(crate) inputs: Vec<InputChannel>,
    next_input: usize,
    supervisor: SupervisorLink,
    pub(crate) counters: Arc<SubtaskCounters>,
    pub(crate) checkpointing: Option<SubtaskCheckpointing>,
    pub(crate) aligner: BarrierAligner,
    pub(crate) alignment_started: Option<Instant>,
    /// The newest barrier seen on an input: the one an alignment's snapshot is for.
    pub(crate) newest_barrier: Option<CheckpointBarrier>,
    /// Records were processed (or produced) since the last snapshot.
    pub(crate) dirty: bool,
    /// The checkpoint whose completion covers every record processed so far.
    pub(crate) covered_by: Option<CheckpointId>,
    pub(crate) last_completed: Option<CheckpointId>,
    /// A source that has read everything: the first checkpoint it takes part in afterwards.
    pub(crate) exhausted_barrier: Option<CheckpointId>,
    /// The newest checkpoint this subtask took a snapshot for: a later trigger of the same one
    /// (asked directly while its barrier was already taken) is ignored.
    pub(crate) last_snapshot: Option<CheckpointId>,
    /// The stopping savepoint after whose barrier this source reads nothing, unless that
    /// savepoint is aborted (then it reads again).
    pub(crate) suspended_at: Option<CheckpointId>,
    /// A draining stop ends its input: pending processing-time timers fire first.
    pub(crate) draining: bool,
    /// Where the subtask is in its life; changed only through [`SubtaskActor::enter`].
    lifecycle: Lifecycle,
    source_waiting_for_credit: bool,
    /// The source said [`SourceStatus::Pending`]: its next turn comes with its task's wake-up.
    source_waiting_for_data: bool,
    /// Since when the source has had nothing to read, while it has not.
    source_idle_since: Option<tokio::time::Instant>,
    source_turn_scheduled: bool,
    /// Deterministic mode: source turns are paced on tokio time.
    paced: bool,
    /// The tokio timer kept for the task's earliest processing-time timer.
    timer: Option<(tokio::time::Instant, SpawnHandle)>,
    /// A timer came due while the outputs were backpressured: fire once credit arrives.
    timers_due: bool,
}

impl Actor for SubtaskActor {
    type Context = Context<Self>;

    /// An actor that stops without being cancelled and without finishing was lost (a fault, or
    /// a bug): report it, so the supervisor never waits for it forever.
    fn stopped(&mut self, _: &mut Context<Self>) {
        if self.enter(LifecycleEvent::ActorStopped) {
            self.report_failure(TaskError::new(
                TaskErrorKind::Internal,
                "the subtask's actor stopped unexpectedly",
            ));
        }
    }
}

/// What a subtask actor is built from.
pub struct SubtaskParts {
    /// Its place in the graph.
    pub key: SubtaskKey,
    /// Its name for errors.
    pub id: SubtaskId,
    /// The task, or the error its factory returned.
    pub task: Result<Box<dyn Task>, TaskError>,
    /// Where it reports finishing and failures.
    pub supervisor: SupervisorLink,
    /// Its channel counters.
    pub counters: Arc<SubtaskCounters>,
    /// Checkpointing, when the job checkpoints.
    pub checkpointing: Option<SubtaskCheckpointing>,
    /// Deterministic mode: pace source turns on tokio time.
    pub paced: bool,
}

impl SubtaskActor {
    /// A subtask not yet wired. A task that could not be built fails the subtask at once.
    pub fn new(parts: SubtaskParts) -> SubtaskActor {
        let (task, failed_build) = match parts.task {
            Ok(task) => (Some(task), None),
            Err(e) => (None, Some(e)),
        };
        let aligned = parts.checkpointing.as_ref().is_none_or(|c| c.aligned);
        let mut actor = SubtaskActor {
            key: parts.key,
            id: parts.id,
            task,
            outputs: None,
            inputs: Vec::new(),
            next_input: 0,
            supervisor: parts.supervisor,
            counters: parts.counters,
            checkpointing: parts.checkpointing,
            aligner: BarrierAligner::new(0, aligned),
            alignment_started: None,
            newest_barrier: None,
            dirty: false,
            covered_by: None,
            last_completed: None,
            exhausted_barrier: None,
            last_snapshot: None,
            suspended_at: None,
            draining: false,
            lifecycle: Lifecycle::Running,
            source_waiting_for_credit: false,
            source_waiting_for_data: false,
            source_idle_since: None,
            source_turn_scheduled: false,
            paced: parts.paced,
            timer: None,
            timers_due: false,
        };
        if let Some(e) = failed_build {
            actor.fail(e);
        }
        actor
    }

    /// Moves the lifecycle by `event`; false when the event does not apply.
    pub(crate) fn enter(&mut self, event: LifecycleEvent) -> bool {
        match self.lifecycle.on(event) {
            Some(next) => {
                self.lifecycle = next;
                true
            }
            None => false,
        }
    }

    /// Where the subtask is in its life.
    pub(crate) fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    /// Whether the subtask still calls its task.
    pub(crate) fn is_active(&self) -> bool {
        self.lifecycle.is_active()
    }

    /// Fails the subtask and reports it, once.
    pub(crate) fn fail(&mut self, error: TaskError) {
        if self.enter(LifecycleEvent::Failed) {
            self.report_failure(error);
        }
    }

    fn report_failure(&mut self, error: TaskError) {
        let mut subtask = self.id.clone();
        if let Some(op) = &error.operator {
            subtask.uid = op.clone();
        }
        self.supervisor.failed.do_send(SubtaskFailed {
            key: self.key,
            failure: TaskFailure { subtask, error },
        });
    }

    /// Runs one task call with panics caught; a failure is reported and stops further work.
    pub(crate) fn call<R>(
        &mut self,
        f: impl FnOnce(&mut dyn Task, &mut Outputs) -> Result<R, TaskError>,
    ) -> Option<R> {
        match self.try_call(f)? {
            Ok(r) => Some(r),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// Runs one task call with panics caught and hands its error back; a panic is reported and
    /// stops further work (`None`), as does a call before the subtask is wired.
    pub(crate) fn try_call<R>(
        &mut self,
        f: impl FnOnce(&mut dyn Task, &mut Outputs) -> Result<R, TaskError>,
    ) -> Option<Result<R, TaskError>> {
        if !self.is_active() {
            return None;
        }
        let (Some(task), Some(outputs)) = (self.task.as_mut(), self.outputs.as_mut()) else {
            self.fail(TaskError::new(
                TaskErrorKind::Internal,
                "subtask called before it was wired",
            ));
            return None;
        };
        match catch_unwind(AssertUnwindSafe(|| f(task.as_mut(), outputs))) {
            Ok(result) => Some(result),
            Err(payload) => {
                self.fail(TaskError::from_panic(payload));
                None
            }
        }
    }

    /// Whether the subtask must wait before it reads input: no credit downstream, or its task
    /// is busy (it wakes the subtask when it is not, see [`Wake`]).
    ///
    /// [`Wake`]: crate::actors::messages::Wake
    pub(crate) fn backpressured(&self) -> bool {
        self.outputs.as_ref().is_some_and(Outputs::is_backpressured)
            || self.task.as_ref().is_some_and(|t| t.is_busy())
    }

    pub(crate) fn is_source(&self) -> bool {
        self.task.as_ref().is_some_and(|t| t.is_source())
    }

    /// Keeps the actor's one tokio timer at the task's earliest processing-time timer.
    fn schedule_timer(&mut self, ctx: &mut Context<Self>) {
        let next = match self.fires_timers() {
            false => None,
            true => self.call(|task, _| Ok(task.next_timer())).flatten(),
        };
        if self.timer.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        if let Some((_, handle)) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        if let Some(at) = next {
            let delay = at.saturating_duration_since(tokio::time::Instant::now());
            let handle = ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                act.fire_timers(ctx);
            });
            self.timer = Some((at, handle));
        }
    }

    /// Whether processing-time timers fire: not after end of input, not once failed.
    fn fires_timers(&self) -> bool {
        self.is_active() && !self.lifecycle.input_ended()
    }

    /// Fires the task's due timers, or, while backpressured, once credit arrives.
    pub(crate) fn fire_timers(&mut self, ctx: &mut Context<Self>) {
        if !self.fires_timers() {
            return;
        }
        if self.backpressured() {
            self.timers_due = true;
            return;
        }
        self.timers_due = false;
        self.dirty = true;
        let now = tokio::time::Instant::now();
        self.call(|task, out| task.on_timers(now, out));
        self.schedule_timer(ctx);
    }

    /// A source read everything. Without checkpointing it ends now; with checkpointing it waits
    /// for a checkpoint that covers its last records, so exactly-once sinks can commit them.
    pub(crate) fn on_source_exhausted(&mut self) {
        if !self.enter(LifecycleEvent::SourceExhausted) {
            return;
        }
        match &self.checkpointing {
            None => self.end_input(),
            Some(cp) => cp
                .coordinator
                .exhausted
                .do_send(SourceExhausted { key: self.key }),
        }
    }

    /// Reads queued input while outputs have credit.
    pub(crate) fn drain(&mut self, ctx: &mut Context<Self>) {
        while self.is_active() && !self.backpressured() {
            let count = self.inputs.len();
            let Some(ch) = (0..count)
                .map(|i| (self.next_input + i) % count)
                .find(|&i| self.inputs[i].is_ready())
            else {
                break;
            };
            self.next_input = (ch + 1) % count;
            let gate = self.inputs[ch].gate;
            match self.inputs[ch].take() {
                Some(ChannelEvent::Records(batch)) => {
                    self.counters.batch_in();
                    self.dirty = true;
                    self.call(|task, out| task.process(gate, batch, out));
                }
                Some(ChannelEvent::Barrier(barrier)) => self.on_barrier(ch, barrier),
                Some(ChannelEvent::EndOfInput { drained }) => {
                    self.draining |= drained;
                    self.on_channel_ended(ch)
                }
                None => {}
            }
        }
        self.schedule_timer(ctx);
        self.report_finished_when_done();
    }

    fn on_channel_ended(&mut self, channel: usize) {
        let action = self.aligner.on_end_of_input(channel);
        self.apply_alignment(action);
        if self.inputs.iter().all(|c| c.ended) {
            self.end_input();
        }
    }

    pub(crate) fn end_input(&mut self) {
        if !self.enter(LifecycleEvent::InputEnded) {
            return;
        }
        // A draining stop fires every timer pending now (Flink's `stop --drain` flushes what
        // waits for time); what those firings register is dropped with end of input.
        let drained = self.draining;
        if drained
            && self
                .call(|task, out| task.on_timers(drain_horizon(), out))
                .is_none()
        {
            return;
        }
        if self.call(|task, out| task.end_of_input(out)).is_some() {
            if let Some(out) = self.outputs.as_mut() {
                out.broadcast_event(|| ChannelEvent::EndOfInput { drained });
            }
            if let Some(cp) = &self.checkpointing {
                // What end of input did (a flush, records emitted to a chained sink) must be
                // covered by a checkpoint before the subtask finishes: the final checkpoint.
                self.dirty = true;
                cp.coordinator.input_ended.do_send(InputEnded(self.key));
            }
        }
        self.report_finished_when_done();
    }

    /// Reports the subtask finished once its input ended, its output is flushed and, with
    /// checkpointing, a completed checkpoint covers everything it processed.
    pub(crate) fn report_finished_when_done(&mut self) {
        let covered = self.checkpointing.is_none()
            || (!self.dirty
                && self
                    .covered_by
                    .is_none_or(|c| self.last_completed.is_some_and(|l| l >= c)));
        if self.lifecycle == Lifecycle::InputEnded
            && covered
            && !self.backpressured()
            && self.enter(LifecycleEvent::Finished)
        {
            self.supervisor
                .finished
                .do_send(SubtaskFinished { key: self.key });
        }
    }
}

impl Handler<Wire> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: Wire, _: &mut Context<Self>) {
        self.outputs = Some(msg.outputs);
        self.inputs = msg.inputs;
        let aligned = self.checkpointing.as_ref().is_none_or(|c| c.aligned);
        self.aligner = BarrierAligner::new(self.inputs.len(), aligned);
    }
}

impl Handler<Start> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, _: Start, ctx: &mut Context<Self>) {
        if self.is_source() {
            self.schedule_source_turn(ctx);
        } else if self.inputs.is_empty() && self.is_active() {
            self.end_input();
        }
        // A restored task may hold timers already.
        self.schedule_timer(ctx);
    }
}

impl Handler<Deliver> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        if let Some(ch) = self.inputs.get_mut(msg.channel) {
            let queued = ch.enqueue(msg.event);
            self.counters.observe_queued(queued);
            self.drain(ctx);
        }
    }
}

impl Handler<Credit> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: Credit, ctx: &mut Context<Self>) {
        if let Some(out) = self.outputs.as_mut() {
            out.add_credit(msg.edge, msg.channel, msg.n);
        }
        self.resume(ctx);
    }
}

impl Handler<Cancel> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, _: Cancel, ctx: &mut Context<Self>) {
        self.enter(LifecycleEvent::Cancelled);
        ctx.stop();
    }
}

impl Handler<Abandon> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, _: Abandon, ctx: &mut Context<Self>) {
        if self.enter(LifecycleEvent::Abandoned) {
            ctx.stop();
        }
    }
}

/// The time a draining stop fires pending timers at: later than any timer a job registers.
fn drain_horizon() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365 * 100)
}
