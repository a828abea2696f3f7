//! [`TaskWaker`]: how a task that said it is busy ([`Task::is_busy`]) tells its subtask it can
//! take input again, from any thread.
//!
//! [`Task::is_busy`]: crate::graph::task::Task::is_busy

use std::fmt;
use std::sync::Arc;

/// Wakes one subtask: it resumes reading its input (and polling, for a source) if its task is
/// no longer busy. Cheap to clone; waking a subtask that stopped does nothing.
#[derive(Clone)]
pub struct TaskWaker(Arc<dyn Fn() + Send + Sync>);

impl TaskWaker {
    /// A waker that calls `wake`.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        TaskWaker(Arc::new(wake))
    }

    /// A waker that does nothing (for a task built outside a running job).
    pub fn noop() -> Self {
        TaskWaker::new(|| {})
    }

    /// Wakes the subtask.
    pub fn wake(&self) {
        (self.0)()
    }
}

impl Default for TaskWaker {
    fn default() -> Self {
        Self::noop()
    }
}

impl fmt::Debug for TaskWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskWaker")
    }
}
