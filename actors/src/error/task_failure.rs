//! A task's failure: what kind ([`TaskErrorKind`]), in which operator ([`TaskError`]), in which
//! subtask ([`SubtaskId`], [`TaskFailure`]).

use std::fmt;

/// Why a task failed, as the task reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskErrorKind {
    /// User code panicked; the panic was caught at the operator boundary.
    Panic,
    /// User code returned an error.
    User,
    /// A failure injected on purpose by a test harness.
    Injected,
    /// Reading or writing state or checkpoint data failed.
    State,
    /// The runtime itself found something wrong (a mis-typed batch, a lost actor).
    Internal,
    /// User code said no restart can cure it (Flink's `SuppressRestartsException`: a topic that
    /// does not exist, a setting the server refuses): the job fails at once, whatever its
    /// restart strategy.
    SuppressRestarts,
}

/// A failure inside one task, naming the operator it happened in when the task knows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} in operator {}: {message}", operator.as_deref().unwrap_or("?"))]
pub struct TaskError {
    /// What kind of failure.
    pub kind: TaskErrorKind,
    /// The operator (`name [uid]`) inside the task that failed, if known.
    pub operator: Option<String>,
    /// The panic message or the error's text.
    pub message: String,
}

impl TaskError {
    /// A failure of `kind` with `message`, operator not yet known.
    pub fn new(kind: TaskErrorKind, message: impl Into<String>) -> TaskError {
        TaskError {
            kind,
            operator: None,
            message: message.into(),
        }
    }

    /// The same failure, attributed to `operator` unless it already names one.
    pub fn in_operator(mut self, operator: impl Into<String>) -> TaskError {
        if self.operator.is_none() {
            self.operator = Some(operator.into());
        }
        self
    }

    /// Turns a caught panic payload into a [`TaskErrorKind::Panic`] error.
    pub fn from_panic(payload: Box<dyn std::any::Any + Send>) -> TaskError {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_string()
        };
        TaskError::new(TaskErrorKind::Panic, message)
    }
}

/// Where a failure happened: the subtask and its operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtaskId {
    /// The task's name (its chained operators' names joined by ` -> `).
    pub task: String,
    /// The uid of the failed operator, or of the task's first operator.
    pub uid: String,
    /// Subtask index, from 0.
    pub index: u32,
    /// The task's parallelism.
    pub parallelism: u32,
}

impl fmt::Display for SubtaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (uid {}) subtask {}/{}",
            self.task,
            self.uid,
            self.index + 1,
            self.parallelism
        )
    }
}

/// A failed subtask: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{subtask} failed: {error}")]
pub struct TaskFailure {
    /// The subtask that failed.
    pub subtask: SubtaskId,
    /// Its error.
    pub error: TaskError,
}
