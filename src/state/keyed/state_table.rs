//! [`StateTable`]: the entries of one declared keyed state behind its kind-specific handle, and
//! [`StateType`]: how a state's kind and types are described and recorded.

use crate::error::BoxError;
use crate::state::keyed::snapshot::StateEntries;
use crate::state::type_identity::{normalize_type_name, TypeIdentity};
use std::any::Any;
use std::ops::RangeInclusive;

/// The asynchronous part of an in-memory table's snapshot: its entries, laid out canonically.
pub(crate) type TableWriter = Box<dyn FnOnce() -> Result<StateEntries, BoxError> + Send>;

/// The entries of one declared state, behind the kind-specific handle.
pub(crate) trait StateTable<K>: Send {
    /// The table itself, for the handle to downcast.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The synchronous part of a snapshot of an in-memory table: fixes the entries now and
    /// returns the writer that lays them out, grouped by key group. A RocksDB table writes
    /// back its cached entry and returns `None` (the instance is snapshotted as a whole).
    fn snapshot(&mut self) -> Option<TableWriter>;
    /// Adds the entries of `entries` whose key group is in `key_groups`.
    fn restore(
        &mut self,
        entries: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError>;
}

/// How a state is described: `declared` is checked when a name is declared again in the same
/// subtask (the kind and the full `type_name` of every declared type, and the explicit identity
/// if there is one), `recorded` is written to snapshots and checked on restore (the kind and the
/// [`TypeIdentity`] of the stored types, or the explicit identity in their place).
pub(crate) struct StateType {
    pub(crate) declared: String,
    pub(crate) recorded: String,
}

impl StateType {
    /// A state of `kind` whose declared types (their `type_name`s) are all stored; recorded
    /// with `explicit` in their place when the user gave an identity.
    pub(crate) fn stored(kind: &str, types: &[&str], explicit: Option<&TypeIdentity>) -> Self {
        Self::new(kind, types, types, explicit)
    }

    /// A state of `kind` declared with the types `declared` that stores `stored` (both
    /// `type_name`s, or descriptions containing them).
    pub(crate) fn new(
        kind: &str,
        declared: &[&str],
        stored: &[&str],
        explicit: Option<&TypeIdentity>,
    ) -> Self {
        let declared = format!("{kind}<{}>", declared.join(", "));
        match explicit {
            Some(id) => StateType {
                declared: format!("{declared} as {id}"),
                recorded: format!("{kind}<{id}>"),
            },
            None => StateType {
                declared,
                recorded: normalize_type_name(&format!("{kind}<{}>", stored.join(", "))),
            },
        }
    }
}
