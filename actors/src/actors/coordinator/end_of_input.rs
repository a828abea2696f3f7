//! How the coordinator follows the end of a bounded job: sources that read everything, subtasks
//! whose input ended, subtasks that finished. Each message goes into the core
//! ([`CheckpointCoordinator`](crate::checkpoint::checkpoint_coordinator::CheckpointCoordinator)):
//! such subtasks no longer receive barriers, so checkpoints ask them directly; once every input
//! ended, a final checkpoint covers what end of input emitted.

use super::Coordinator;
use crate::actors::messages::{InputEnded, SourceExhausted, SubtaskDone};
use actix::prelude::*;

impl Handler<SourceExhausted> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: SourceExhausted, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| core.source_exhausted(msg.key, cx));
    }
}

impl Handler<InputEnded> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: InputEnded, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| core.input_ended(msg.0, cx));
    }
}

impl Handler<SubtaskDone> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: SubtaskDone, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| core.subtask_done(msg.0, cx));
    }
}
