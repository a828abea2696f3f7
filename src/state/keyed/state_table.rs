//! [`StateTable`]: the entries of one declared keyed state behind its kind-specific handle, and
//! [`StateType`]: how a state's kind and types are described and recorded.

use crate::error::BoxError;
use crate::task::operator::StateWriter;
use std::any::Any;
use std::ops::RangeInclusive;

/// The entries of one declared state, behind the kind-specific handle.
pub(crate) trait StateTable<K>: Send {
    /// The table itself, for the handle to downcast.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The synchronous part of a snapshot of an in-memory table: fixes the entries now and
    /// returns the writer that serializes them, grouped by key group. A RocksDB table writes
    /// back its cached entry and returns `None` (the instance is snapshotted as a whole).
    fn snapshot(&mut self) -> Option<StateWriter>;
    /// Adds the entries of `entries` whose key group is in `key_groups`.
    fn restore(&mut self, entries: &[u8], key_groups: &RangeInclusive<u32>)
        -> Result<(), BoxError>;
}

/// How a state is described: `declared` is checked when a name is declared again in the same
/// subtask, `recorded` is written to snapshots and checked on restore. They differ only where a
/// type is not stored (an aggregating state's input and output types).
pub(crate) struct StateType {
    pub(crate) declared: String,
    pub(crate) recorded: String,
}

impl StateType {
    /// A state whose declared types are all stored.
    pub(crate) fn stored(description: String) -> Self {
        StateType {
            declared: description.clone(),
            recorded: description,
        }
    }
}
