//! [`KeyedStateError`]: what can go wrong declaring, restoring, reading, writing or snapshotting
//! keyed state, with the operator and the state it concerns, and for an entry, its key group.

use crate::graph::uid::uid_hint;
use crate::state::rocksdb::store::RocksDbError;
use std::ops::RangeInclusive;

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
    /// A restored state is declared under another kind, other types (another type identity,
    /// compared after normalizing both) or another TTL setting.
    #[error("operator {operator}: state {state:?} was checkpointed as {checkpointed} but is now declared as {declared}; a state's kind and type cannot change across a restore{}", uid_hint(.operator))]
    TypeChanged {
        /// The operator.
        operator: String,
        /// The state.
        state: String,
        /// Its kind and type identity as the checkpoint recorded them (an earlier weir wrote
        /// full `type_name` paths).
        checkpointed: String,
        /// Its kind and type identity now.
        declared: String,
    },
    /// The snapshot was written in a format version this weir does not read (a newer weir's):
    /// nothing of it is restored.
    #[error("operator {operator}: its keyed state was written in snapshot format version {version}, and this weir reads version {supported}; restore it with the weir that wrote it, or a newer one")]
    UnsupportedFormat {
        /// The operator.
        operator: String,
        /// The snapshot's format version.
        version: u32,
        /// The version this weir reads.
        supported: u32,
    },
    /// The checkpointed state does not decode, or a state's entries cannot be restored.
    #[error("operator {operator}: keyed state {state} cannot be restored: {reason}{}", uid_hint(.operator))]
    Restore {
        /// The operator.
        operator: String,
        /// The state (`*` for the operator's whole keyed state).
        state: String,
        /// What went wrong.
        reason: String,
    },
    /// A key reached a subtask that does not own its key group (a key selector that is not
    /// deterministic, or a stream keyed in another way). Filing it under another group would
    /// put it where no restore looks for it, so the subtask fails instead.
    #[error("operator {operator}: state {state:?}: a key of key group {key_group} reached the subtask that owns key groups {}..={}; a keyed stream's key selector must give the same key for a record every time", .range.start(), .range.end())]
    KeyGroupOutOfRange {
        /// The operator.
        operator: String,
        /// The state the key was used with.
        state: String,
        /// The key's group.
        key_group: u32,
        /// The groups the subtask owns.
        range: RangeInclusive<u32>,
    },
    /// Reading or writing a state's entry failed (RocksDB), or an entry does not encode or
    /// decode. The subtask fails before anything the call emitted is sent.
    #[error("operator {operator}: cannot {operation} state {state:?} in {}: {cause}", key_group_text(.key_group))]
    StateAccess {
        /// The operator.
        operator: String,
        /// The state.
        state: String,
        /// The entry's key group; `None` for a write batch over several key groups.
        key_group: Option<u32>,
        /// What was being done.
        operation: StateOperation,
        /// Why it failed.
        cause: StateAccessCause,
    },
    /// RocksDB failed opening the instance or taking a snapshot.
    #[error("operator {operator}: {reason}")]
    Backend {
        /// The operator.
        operator: String,
        /// What went wrong, naming the state and file where there is one.
        reason: String,
    },
}

/// What a failed access to a state's entry was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateOperation {
    /// Reading an entry.
    Read,
    /// Writing entries back (RocksDB write batches).
    Write,
}

impl std::fmt::Display for StateOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateOperation::Read => "read",
            StateOperation::Write => "write",
        })
    }
}

/// Why an access to a state's entry failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateAccessCause {
    /// RocksDB failed; the error names its working directory.
    #[error(transparent)]
    RocksDb(Box<RocksDbError>),
    /// The key does not encode with postcard.
    #[error("the key does not encode: {0}")]
    KeyEncoding(String),
    /// The value does not encode with postcard.
    #[error("the value does not encode: {0}")]
    ValueEncoding(String),
    /// The stored value does not decode as the state's type.
    #[error("the stored value does not decode: {0}")]
    ValueDecoding(String),
}

fn key_group_text(key_group: &Option<u32>) -> String {
    match key_group {
        Some(group) => format!("key group {group}"),
        None => "several key groups".to_string(),
    }
}
