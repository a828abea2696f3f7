//! Errors the runtime reports: a task's failure ([`TaskFailure`], with its [`TaskError`]), and a
//! job's ([`JobError`]). Why the supervisor handled a failure is a
//! [`FailureCause`](crate::recovery::failure_cause::FailureCause).

mod job_error;
pub(crate) mod task_failure;

pub use job_error::JobError;
pub use task_failure::{SubtaskId, TaskError, TaskErrorKind, TaskFailure};
