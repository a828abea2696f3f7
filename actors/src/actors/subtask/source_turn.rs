//! A source subtask's turns: polling its source a few batches at a time, yielding between turns,
//! and waiting — for credit, for a pause after [`SourceStatus::Idle`], or for its task's wake-up
//! after [`SourceStatus::Pending`] — while it cannot read.

use crate::actors::messages::EndSource;
use crate::actors::subtask::SubtaskActor;
use crate::graph::task::SourceStatus;
use actix::prelude::*;

/// Batches a source may emit in one turn before it yields to its mailbox.
const SOURCE_BATCHES_PER_TURN: usize = 4;

impl SubtaskActor {
    pub(crate) fn schedule_source_turn(&mut self, ctx: &mut Context<Self>) {
        if self.source_turn_scheduled || !self.source_reads() {
            return;
        }
        self.source_turn_scheduled = true;
        if self.paced {
            // Deterministic mode: each turn takes 1 ms of (paused, auto-advancing) tokio time, so
            // virtual time moves with the work done and timers fire at reproducible points.
            ctx.run_later(std::time::Duration::from_millis(1), |act, ctx| {
                act.source_turn_scheduled = false;
                act.source_turn(ctx);
            });
            return;
        }
        // Yield to the runtime first, so other actors on this arbiter and this actor's mailbox
        // (credits, triggers, cancellation) get their turn between batches.
        ctx.spawn(
            actix::fut::wrap_future::<_, Self>(tokio::task::yield_now()).map(|(), act, ctx| {
                act.source_turn_scheduled = false;
                act.source_turn(ctx);
            }),
        );
    }

    /// Whether the source may read now: it runs, and no stopping savepoint has suspended it.
    fn source_reads(&self) -> bool {
        self.lifecycle.reads() && self.suspended_at.is_none()
    }

    pub(crate) fn source_turn(&mut self, ctx: &mut Context<Self>) {
        for _ in 0..SOURCE_BATCHES_PER_TURN {
            if !self.source_reads() {
                return;
            }
            if self.backpressured() {
                self.source_waiting_for_credit = true;
                return;
            }
            let status = self.call(|task, out| task.poll_source(out));
            self.observe_idle(status);
            match status {
                Some(SourceStatus::More) => self.dirty = true,
                Some(SourceStatus::Idle) => {
                    self.dirty = true;
                    self.source_turn_scheduled = true;
                    ctx.run_later(std::time::Duration::from_millis(1), |act, ctx| {
                        act.source_turn_scheduled = false;
                        act.source_turn(ctx);
                    });
                    return;
                }
                Some(SourceStatus::Pending) => {
                    self.dirty = true;
                    self.source_waiting_for_data = true;
                    return;
                }
                Some(SourceStatus::Finished) => {
                    self.dirty = true;
                    self.on_source_exhausted();
                    return;
                }
                None => return,
            }
        }
        self.schedule_source_turn(ctx);
    }

    /// Keeps the idle figures of the source: idle from a poll that found nothing to read until
    /// one that did.
    fn observe_idle(&mut self, status: Option<SourceStatus>) {
        let idle = matches!(status, Some(SourceStatus::Idle | SourceStatus::Pending));
        match (idle, self.source_idle_since) {
            (true, None) => {
                self.source_idle_since = Some(tokio::time::Instant::now());
                self.counters.set_idle(true);
            }
            (false, Some(since)) => {
                self.source_idle_since = None;
                let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.counters.idle_for(nanos);
                self.counters.set_idle(false);
            }
            _ => {}
        }
    }
}

impl Handler<EndSource> for SubtaskActor {
    type Result = ();
    /// A draining stop: the source reads nothing more and its input ends as if it had read
    /// everything (after a checkpoint covering its last records, as then).
    fn handle(&mut self, _: EndSource, _: &mut Context<Self>) {
        if self.is_active() && self.is_source() && self.lifecycle.reads() {
            self.suspended_at = None;
            self.draining = true;
            self.on_source_exhausted();
        }
    }
}
