//! [`SubtaskKey`]: where a subtask sits in the job graph, and which deployment of it this is.

/// Where a subtask sits in the job graph, and which deployment of it this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubtaskKey {
    /// Vertex (task) index in the job spec.
    pub vertex: usize,
    /// Subtask index.
    pub index: u32,
    /// How many times the subtask's region was restarted before this deployment (0 at first).
    pub attempt: u32,
}
