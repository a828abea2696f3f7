//! [`StateKind`]: the kinds of operator state, and [`OperatorStateValue`]: the bounds of what
//! they hold.

/// Bounds every operator-state value (list element, broadcast key or value) meets: serializable
/// for checkpoints, cloneable for copy-on-write, shareable with the thread that writes snapshots.
pub trait OperatorStateValue:
    serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static
{
}
impl<T> OperatorStateValue for T where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static
{
}

/// The kinds of operator state; each is redistributed its own way on restore (see
/// [`redistribute`](super::redistribute)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StateKind {
    /// [`ListState`](super::ListState): split evenly over the subtasks.
    List,
    /// [`UnionListState`](super::UnionListState): every subtask gets every subtask's elements.
    UnionList,
    /// [`BroadcastState`](super::BroadcastState): every subtask gets a full copy.
    Broadcast,
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateKind::List => "list state",
            StateKind::UnionList => "union list state",
            StateKind::Broadcast => "broadcast state",
        })
    }
}
