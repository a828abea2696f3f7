//! [`AcknowledgementDelay`]: a forwarder between one subtask and the checkpoint coordinator that
//! holds back the subtask's acknowledgements as its planned
//! [`Fault::DelayAcknowledgement`](crate::testing::fault_injection::Fault::DelayAcknowledgement)
//! faults say (a slow snapshot). The subtask sends its acknowledgements here instead of to the
//! coordinator; the subtask's code does not know.
//!
//! Delays run on tokio's clock (`run_later`), so they work under a paused one. An acknowledgement
//! held back is still delivered after its subtask stopped, as a slow write would be; the
//! coordinator treats it as any late acknowledgement.

use crate::actors::messages::AcknowledgeCheckpoint;
use crate::testing::fault_injecting_task::FaultSite;
use crate::testing::fault_injection::FaultInjector;
use actix::prelude::*;
use std::sync::Arc;

/// Forwards one subtask's acknowledgements, each after its planned delay.
pub(crate) struct AcknowledgementDelay {
    coordinator: Recipient<AcknowledgeCheckpoint>,
    plan: Arc<FaultInjector>,
    site: FaultSite,
}

impl AcknowledgementDelay {
    /// A forwarder to `coordinator` for the subtask at `site`, with `plan`'s delays.
    pub fn new(
        coordinator: Recipient<AcknowledgeCheckpoint>,
        plan: Arc<FaultInjector>,
        site: FaultSite,
    ) -> AcknowledgementDelay {
        AcknowledgementDelay {
            coordinator,
            plan,
            site,
        }
    }
}

impl Actor for AcknowledgementDelay {
    type Context = Context<Self>;
}

impl Handler<AcknowledgeCheckpoint> for AcknowledgementDelay {
    type Result = ();
    fn handle(&mut self, msg: AcknowledgeCheckpoint, ctx: &mut Context<Self>) {
        let at = (self.site.uid.as_str(), self.site.subtask, self.site.attempt);
        match self.plan.acknowledgement_delay(at, msg.id) {
            Some(delay) => {
                ctx.run_later(delay, move |act, _| act.coordinator.do_send(msg));
            }
            None => self.coordinator.do_send(msg),
        }
    }
}
