//! The coordinator answers the supervisor's question for the checkpoint a restart starts from.

use super::Coordinator;
use crate::actors::messages::LatestCompletedCheckpoint;
use crate::network::event::CheckpointId;
use actix::prelude::*;

impl Handler<LatestCompletedCheckpoint> for Coordinator {
    type Result = Option<CheckpointId>;
    fn handle(&mut self, _: LatestCompletedCheckpoint, _: &mut Context<Self>) -> Self::Result {
        self.latest_completed()
    }
}
