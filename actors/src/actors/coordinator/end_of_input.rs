//! How the coordinator follows the end of a bounded job: sources that read everything, subtasks
//! whose input ended, subtasks that finished. Such subtasks no longer receive barriers, so
//! checkpoints ask them directly; once every input ended, a final checkpoint covers what end of
//! input emitted.

use super::Coordinator;
use crate::actors::messages::TriggerCheckpoint;
use crate::actors::messages::{InputEnded, SourceExhausted, SubtaskDone};
use crate::graph::subtask_key::SubtaskKey;
use actix::prelude::*;

impl Handler<SourceExhausted> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: SourceExhausted, ctx: &mut Context<Self>) {
        tracing::debug!(subtask = ?msg.key, "source read everything");
        if self.pending.is_empty() {
            let wait = self.min_pause_wait().unwrap_or_default();
            self.schedule(ctx, wait);
        } else {
            self.trigger_waiting = true;
        }
    }
}

impl Coordinator {
    /// Whether every current subtask's input ended.
    pub(super) fn all_input_ended(&self) -> bool {
        self.all_keys()
            .all(|(k, _)| self.finished.contains(&k) || self.input_ended.contains(&k))
    }
}

impl Handler<InputEnded> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: InputEnded, ctx: &mut Context<Self>) {
        self.input_ended.insert(msg.0);
        self.ask_directly(msg.0);
        // The whole job's input ended: a final checkpoint covers what end of input emitted, so
        // subtasks waiting for one can finish.
        let waiting = self.all_keys().any(|(k, _)| !self.finished.contains(&k));
        if self.all_input_ended() && waiting {
            if self.pending.is_empty() {
                let wait = self.min_pause_wait().unwrap_or_default();
                self.schedule(ctx, wait);
            } else {
                self.trigger_waiting = true;
            }
        }
    }
}

impl Handler<SubtaskDone> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: SubtaskDone, _: &mut Context<Self>) {
        self.finished.insert(msg.0);
        self.ask_directly(msg.0);
    }
}

impl Coordinator {
    /// Asks subtask `key`, which no barrier reaches any more, for its state in every pending
    /// checkpoint it has not acknowledged.
    fn ask_directly(&self, key: SubtaskKey) {
        let Some(addr) = self
            .all_keys()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| d.trigger.clone())
        else {
            return;
        };
        for p in self.pending.values() {
            if p.tracker.is_expected(&key) {
                addr.do_send(TriggerCheckpoint { barrier: p.barrier });
            }
        }
    }
}
