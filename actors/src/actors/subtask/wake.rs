//! Resuming a subtask that waited: for credit from downstream, or for its busy task (or its
//! source, waiting for data) to wake it ([`Wake`]).

use crate::actors::messages::Wake;
use crate::actors::subtask::SubtaskActor;
use actix::prelude::*;

impl SubtaskActor {
    /// Goes on with what waited while the subtask was backpressured: the source's next turn,
    /// due timers, queued input. Nothing while it still is.
    pub(crate) fn resume(&mut self, ctx: &mut Context<Self>) {
        if self.backpressured() {
            return;
        }
        if self.source_waiting_for_credit || self.source_waiting_for_data {
            self.source_waiting_for_credit = false;
            self.source_waiting_for_data = false;
            self.schedule_source_turn(ctx);
        }
        if self.timers_due {
            self.fire_timers(ctx);
        }
        self.drain(ctx);
    }
}

impl Handler<Wake> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        self.resume(ctx);
    }
}
