//! What can go wrong with operator state: each error names the operator uid and, where there is
//! one, the state.

use super::state_kind::StateKind;
use weir_actors::{TaskError, TaskErrorKind};

/// An operator-state failure: declaring, restoring or snapshotting a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorStateError {
    /// A state was declared as another kind than the one it was restored (or first declared) as.
    #[error("operator {uid:?}: state {state:?} is {existing}, but is declared as {declared}")]
    KindChanged {
        /// The operator's uid.
        uid: String,
        /// The state's name.
        state: String,
        /// The kind it has in the checkpoint (or was first declared as).
        existing: StateKind,
        /// The kind the function declares.
        declared: StateKind,
    },
    /// A state was declared with another type than the one it was restored (or first declared)
    /// with.
    #[error("operator {uid:?}: state {state:?} holds {existing}, but is declared with {declared}")]
    TypeChanged {
        /// The operator's uid.
        uid: String,
        /// The state's name.
        state: String,
        /// The type it has in the checkpoint (or was first declared with).
        existing: String,
        /// The type the function declares.
        declared: String,
    },
    /// A restored element of a state does not decode as the declared type.
    #[error("operator {uid:?}: a restored element of state {state:?} does not decode: {source}")]
    Decode {
        /// The operator's uid.
        uid: String,
        /// The state's name.
        state: String,
        /// The decoder's error.
        #[source]
        source: postcard::Error,
    },
    /// An element of a state cannot be encoded for a snapshot.
    #[error("operator {uid:?}: an element of state {state:?} cannot be encoded: {source}")]
    Encode {
        /// The operator's uid.
        uid: String,
        /// The state's name.
        state: String,
        /// The encoder's error.
        #[source]
        source: postcard::Error,
    },
    /// The checkpointed operator state of an earlier subtask does not decode.
    #[error("operator {uid:?}: the checkpointed operator state of subtask {subtask} does not decode: {reason}")]
    CorruptSnapshot {
        /// The operator's uid.
        uid: String,
        /// The subtask (its index when the checkpoint was taken).
        subtask: u32,
        /// The decoder's message.
        reason: String,
    },
}

impl From<OperatorStateError> for TaskError {
    fn from(e: OperatorStateError) -> TaskError {
        TaskError::new(TaskErrorKind::State, e.to_string())
    }
}
