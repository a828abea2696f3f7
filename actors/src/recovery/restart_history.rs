//! What the supervisor decided about each failure, for the job's client and its final error.

use crate::network::event::CheckpointId;
use crate::recovery::failure_cause::FailureCause;
use std::time::Duration;

/// One restart decision, and once the restart happened, the checkpoint it restored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestartRecord {
    /// When the failure was handled, from the job's start (tokio time).
    pub at: Duration,
    /// The failure.
    pub cause: FailureCause,
    /// Restarts of the job so far, this one included (1 for the first).
    pub attempt: u32,
    /// The delay chosen by the restart strategy before the restart.
    pub delay: Duration,
    /// Names of the tasks restarted (the failed subtask's region, or every task).
    pub restarted_tasks: Vec<String>,
    /// Whether the strategy counted the failure (an exponential-delay strategy merges a failure
    /// that falls inside a restart already scheduled).
    pub counted: bool,
    /// The checkpoint the restarted tasks restored: the newest one completed in this run, else
    /// the one the job was started from. `None` while the restart is still waiting for its
    /// delay, or when the tasks started from nothing.
    pub restored_from: Option<CheckpointId>,
}
