//! [`KeyedStateError`]: what can go wrong declaring, restoring or snapshotting keyed state, with
//! the operator and the state it concerns.

/// An error of a keyed operator's state. Each variant names the operator (`name [uid]`) and,
/// where there is one, the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyedStateError {
    /// A state was declared again under another kind or with other types.
    #[error("operator {operator}: state {state:?} is registered as {registered} and cannot be used as {requested}")]
    Redeclared {
        /// The operator.
        operator: String,
        /// The state.
        state: String,
        /// Its kind and types as first declared.
        registered: String,
        /// The kind and types asked for.
        requested: String,
    },
    /// A restored state is declared under another kind, other types or another TTL setting.
    #[error("operator {operator}: state {state:?} was checkpointed as {checkpointed} but is now declared as {declared}; a state's kind and type cannot change across a restore")]
    TypeChanged {
        /// The operator.
        operator: String,
        /// The state.
        state: String,
        /// Its kind and types in the checkpoint.
        checkpointed: String,
        /// Its kind and types now.
        declared: String,
    },
    /// The checkpoint was written by another state backend.
    #[error("operator {operator}: the checkpoint holds keyed state of the {checkpoint_backend} state backend, but the job uses the {job_backend} backend; a checkpoint is restored by the backend that wrote it")]
    BackendMismatch {
        /// The operator.
        operator: String,
        /// The backend that wrote the checkpoint (`hashmap`, `rocksdb`).
        checkpoint_backend: String,
        /// The job's backend.
        job_backend: String,
    },
    /// The checkpointed state does not decode, or a state's entries cannot be restored.
    #[error("operator {operator}: keyed state {state} cannot be restored: {reason}")]
    Restore {
        /// The operator.
        operator: String,
        /// The state (`*` for the operator's whole keyed state).
        state: String,
        /// What went wrong.
        reason: String,
    },
    /// RocksDB failed (opening the instance, a read or write, a snapshot), or a state's entry
    /// does not encode or decode.
    #[error("operator {operator}: {reason}")]
    Backend {
        /// The operator.
        operator: String,
        /// What went wrong, naming the state and file where there is one.
        reason: String,
    },
}
