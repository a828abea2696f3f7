//! [`KindTable`]: the table of every state kind whose per-key entry lives in one
//! [`StateMap`] (value, list and map state), told apart by a marker type.

use crate::error::BoxError;
use crate::state::keyed::snapshot::StateEntries;
use crate::state::keyed::state_table::StateTable;
use crate::state::keyed::state_table::TableWriter;
use crate::state::state_key::{StateKey, Stored};
use crate::state::state_map::StateMap;
use std::any::Any;
use std::marker::PhantomData;
use std::ops::RangeInclusive;

/// The entries of a state of kind `Kind` (a marker type): an `S` per key.
pub(crate) struct KindTable<Kind, K, S>(pub(crate) StateMap<K, S>, PhantomData<fn() -> Kind>);

impl<Kind, K, S> KindTable<Kind, K, S> {
    /// The table over `map`.
    pub(crate) fn new(map: StateMap<K, S>) -> Self {
        KindTable(map, PhantomData)
    }
}

impl<Kind: 'static, K: StateKey, S: Stored> StateTable<K> for KindTable<Kind, K, S> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn snapshot(&mut self) -> Option<TableWriter> {
        self.0.snapshot()
    }

    fn restore(
        &mut self,
        entries: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        self.0.restore(entries, key_groups)
    }
}
