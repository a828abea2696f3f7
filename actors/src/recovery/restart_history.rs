//! What the supervisor decided about each failure, for the job's client and its final error.

use crate::error::TaskFailure;
use std::time::Duration;

/// One restart decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRecord {
    /// When the failure was handled, from the job's start (tokio time).
    pub at: Duration,
    /// The failure.
    pub cause: TaskFailure,
    /// Restarts of the job so far, this one included (1 for the first).
    pub attempt: u32,
    /// The delay chosen by the restart strategy before the restart.
    pub delay: Duration,
    /// Names of the tasks restarted (the failed subtask's region, or every task).
    pub restarted_tasks: Vec<String>,
    /// Whether the strategy counted the failure (an exponential-delay strategy merges a failure
    /// that falls inside a restart already scheduled).
    pub counted: bool,
}
