//! [`JobStatus`]: a job's lifecycle state, with Flink's names.

/// A job's lifecycle state, with Flink's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Built, not yet running.
    Created,
    /// Every subtask deployed.
    Running,
    /// A failure is being handled by a restart.
    Restarting,
    /// A failure will end the job; subtasks are stopping.
    Failing,
    /// Ended by a failure.
    Failed,
    /// Cancellation requested; subtasks are stopping.
    Cancelling,
    /// Ended by cancellation.
    Canceled,
    /// Every subtask ended its input and flushed its output.
    Finished,
}

impl JobStatus {
    /// Whether the job has ended (finished, failed or cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished
        )
    }
}
