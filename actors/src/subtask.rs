//! The subtask actor: one per operator subtask. It owns the task, its input queues and its output
//! channels, and moves batches, barriers and control messages between them.
//!
//! Input is read only while every output channel has credit (no backlog), so a slow consumer
//! stops its producers; a source produces a few batches per turn and then yields, so control
//! messages are never stuck behind an endless stream of records.

use crate::channel::{Credit, Deliver, InputChannel, Outputs};
use crate::error::{SubtaskId, TaskError, TaskErrorKind, TaskFailure};
use crate::event::ChannelEvent;
use crate::metrics::SubtaskCounters;
use crate::supervisor::{Supervisor, SubtaskFailed, SubtaskFinished};
use crate::task::{SourceStatus, Task};
use actix::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Batches a source may emit in one turn before it yields to its mailbox.
const SOURCE_BATCHES_PER_TURN: usize = 4;

/// Where a subtask sits in the job graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubtaskKey {
    /// Vertex (task) index in the job spec.
    pub vertex: usize,
    /// Subtask index.
    pub index: u32,
}

/// Connects a subtask to its neighbours; sent once, before [`Start`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Wire {
    /// The sending ends of every output channel.
    pub outputs: Outputs,
    /// The receiving ends of every input channel, in channel index order.
    pub inputs: Vec<InputChannel>,
}

/// Begins processing: a source starts producing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Start;

/// Stops the subtask's actor at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Cancel;

/// One operator subtask.
pub struct SubtaskActor {
    key: SubtaskKey,
    id: SubtaskId,
    task: Option<Box<dyn Task>>,
    outputs: Option<Outputs>,
    inputs: Vec<InputChannel>,
    next_input: usize,
    supervisor: Addr<Supervisor>,
    counters: Arc<SubtaskCounters>,
    source_waiting_for_credit: bool,
    source_turn_scheduled: bool,
    input_ended: bool,
    finished_reported: bool,
    failed: bool,
}

impl Actor for SubtaskActor {
    type Context = Context<Self>;
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
    pub supervisor: Addr<Supervisor>,
    /// Its channel counters.
    pub counters: Arc<SubtaskCounters>,
}

impl SubtaskActor {
    /// A subtask not yet wired. A task that could not be built fails the subtask on [`Start`].
    pub fn new(parts: SubtaskParts) -> SubtaskActor {
        let (task, failed_build) = match parts.task {
            Ok(task) => (Some(task), None),
            Err(e) => (None, Some(e)),
        };
        let mut actor = SubtaskActor {
            key: parts.key,
            id: parts.id,
            task,
            outputs: None,
            inputs: Vec::new(),
            next_input: 0,
            supervisor: parts.supervisor,
            counters: parts.counters,
            source_waiting_for_credit: false,
            source_turn_scheduled: false,
            input_ended: false,
            finished_reported: false,
            failed: false,
        };
        if let Some(e) = failed_build {
            actor.fail(e);
        }
        actor
    }

    fn fail(&mut self, error: TaskError) {
        if self.failed {
            return;
        }
        self.failed = true;
        let mut subtask = self.id.clone();
        if let Some(op) = &error.operator {
            subtask.uid = op.clone();
        }
        self.supervisor.do_send(SubtaskFailed {
            key: self.key,
            failure: TaskFailure { subtask, error },
        });
    }

    /// Runs one task call with panics caught; a failure is reported and stops further work.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut dyn Task, &mut Outputs) -> Result<R, TaskError>,
    ) -> Option<R> {
        if self.failed {
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
            Ok(Ok(r)) => Some(r),
            Ok(Err(e)) => {
                self.fail(e);
                None
            }
            Err(payload) => {
                self.fail(TaskError::from_panic(payload));
                None
            }
        }
    }

    fn backpressured(&self) -> bool {
        self.outputs.as_ref().is_some_and(Outputs::is_backpressured)
    }

    fn is_source(&self) -> bool {
        self.task.as_ref().is_some_and(|t| t.is_source())
    }

    fn schedule_source_turn(&mut self, ctx: &mut Context<Self>) {
        if self.source_turn_scheduled || self.failed || self.input_ended {
            return;
        }
        self.source_turn_scheduled = true;
        // Yield to the runtime first, so other actors on this arbiter and this actor's mailbox
        // (credits, triggers, cancellation) get their turn between batches.
        ctx.spawn(
            actix::fut::wrap_future::<_, Self>(tokio::task::yield_now()).map(
                |(), act, ctx| {
                    act.source_turn_scheduled = false;
                    act.source_turn(ctx);
                },
            ),
        );
    }

    fn source_turn(&mut self, ctx: &mut Context<Self>) {
        for _ in 0..SOURCE_BATCHES_PER_TURN {
            if self.failed || self.input_ended {
                return;
            }
            if self.backpressured() {
                self.source_waiting_for_credit = true;
                return;
            }
            match self.call(|task, out| task.poll_source(out)) {
                Some(SourceStatus::More) => {}
                Some(SourceStatus::Finished) => {
                    self.end_input();
                    return;
                }
                None => return,
            }
        }
        self.schedule_source_turn(ctx);
    }

    /// Reads queued input while outputs have credit.
    fn drain(&mut self) {
        while !self.failed && !self.backpressured() {
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
                    self.call(|task, out| task.process(gate, batch, out));
                }
                Some(ChannelEvent::Barrier(_)) => {
                    // Checkpoint barriers are handled once checkpointing lands.
                }
                Some(ChannelEvent::EndOfInput) => {
                    if self.inputs.iter().all(|c| c.ended) {
                        self.end_input();
                    }
                }
                None => {}
            }
        }
        self.report_finished_when_flushed();
    }

    fn end_input(&mut self) {
        if self.input_ended {
            return;
        }
        self.input_ended = true;
        if self.call(|task, out| task.end_of_input(out)).is_some() {
            if let Some(out) = self.outputs.as_mut() {
                out.broadcast_event(|| ChannelEvent::EndOfInput);
            }
        }
        self.report_finished_when_flushed();
    }

    fn report_finished_when_flushed(&mut self) {
        if self.input_ended && !self.failed && !self.finished_reported && !self.backpressured() {
            self.finished_reported = true;
            self.supervisor.do_send(SubtaskFinished { key: self.key });
        }
    }
}

impl Handler<Wire> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: Wire, _: &mut Context<Self>) {
        self.outputs = Some(msg.outputs);
        self.inputs = msg.inputs;
    }
}

impl Handler<Start> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, _: Start, ctx: &mut Context<Self>) {
        if self.is_source() {
            self.schedule_source_turn(ctx);
        } else if self.inputs.is_empty() && !self.failed {
            self.end_input();
        }
    }
}

impl Handler<Deliver> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
        if let Some(ch) = self.inputs.get_mut(msg.channel) {
            let queued = ch.enqueue(msg.event);
            self.counters.observe_queued(queued);
            self.drain();
        }
    }
}

impl Handler<Credit> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: Credit, ctx: &mut Context<Self>) {
        if let Some(out) = self.outputs.as_mut() {
            out.add_credit(msg.edge, msg.channel, msg.n);
        }
        if self.backpressured() {
            return;
        }
        if self.source_waiting_for_credit {
            self.source_waiting_for_credit = false;
            self.schedule_source_turn(ctx);
        }
        self.drain();
    }
}

impl Handler<Cancel> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, _: Cancel, ctx: &mut Context<Self>) {
        self.failed = true;
        ctx.stop();
    }
}
