//! [`ReducingState`]: one value per key, each added value folded in by a reduce function (Flink's
//! `ReducingState`).

use crate::error::BoxError;
use crate::state::keyed::context::{KeyedContext, RuntimeContext};
use crate::state::keyed::snapshot::StateEntries;
use crate::state::keyed::state_table::TableWriter;
use crate::state::keyed::state_table::{StateTable, StateType};
use crate::state::state_key::{StateKey, StateValue};
use crate::state::state_map::StateMap;
use std::any::{type_name, Any};
use std::marker::PhantomData;
use std::ops::RangeInclusive;

/// The function a reducing state folds values with.
type Reduce<V> = Box<dyn FnMut(V, V) -> V + Send>;

/// The table of a reducing state: the key's value so far, and the reduce function.
struct ReducingTable<K, V> {
    map: StateMap<K, V>,
    reduce: Reduce<V>,
}

impl<K: StateKey, V: StateValue> StateTable<K> for ReducingTable<K, V> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn snapshot(&mut self) -> Option<TableWriter> {
        self.map.snapshot()
    }

    fn restore(
        &mut self,
        entries: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        self.map.restore(entries, key_groups)
    }
}

impl<K: StateKey> RuntimeContext<'_, K> {
    /// The reducing state called `name`: one `V` per key, into which
    /// [`ReducingState::add`] folds each value with `reduce(value so far, new value)`; recorded
    /// as `ReducingState<V>`.
    ///
    /// Asking again for the same name returns the same state, which keeps the reduce function it
    /// was first declared with; asking for it under another kind or with another type is an
    /// error naming the state.
    pub fn reducing_state<V, F>(
        &mut self,
        name: &str,
        reduce: F,
    ) -> Result<ReducingState<V>, BoxError>
    where
        V: StateValue,
        F: FnMut(V, V) -> V + Send + 'static,
    {
        let state_type =
            StateType::stored("ReducingState", &[type_name::<V>()], self.type_id.as_ref());
        let index = self.backend.register(name, state_type, self.ttl, |g| {
            Ok(ReducingTable::<K, V> {
                map: StateMap::new(g)?,
                reduce: Box::new(reduce),
            })
        })?;
        Ok(ReducingState {
            index,
            _types: PhantomData,
        })
    }
}

/// A handle to a reducing state: per key, the reduction of every value added since the key was
/// last cleared. Registered in `open` through [`RuntimeContext::reducing_state`], which gives the
/// reduce function; using a handle that was never registered panics (which fails the subtask,
/// naming the operator).
pub struct ReducingState<V> {
    index: usize,
    _types: PhantomData<fn(V) -> V>,
}

handle_impls!(ReducingState<V>);

impl<V: StateValue> ReducingState<V> {
    /// The current key's reduced value; `None` if nothing was added since it was last cleared.
    pub fn get<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) -> Option<V> {
        let (key, table) = ctx.table::<ReducingTable<K, V>>(self.index);
        table.map.get(key).cloned()
    }

    /// Folds `value` into the current key's value (or makes it the value, if there is none).
    pub fn add<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, value: V) {
        let (key, table) = ctx.table::<ReducingTable<K, V>>(self.index);
        // `remove_entry` hands back the stored key, so only a new key is cloned.
        match table.map.remove_entry(key) {
            Some((stored_key, acc)) => {
                let reduced = (table.reduce)(acc, value);
                table.map.insert(stored_key, reduced);
            }
            None => {
                table.map.insert(key.clone(), value);
            }
        }
    }

    /// Removes the current key's value.
    pub fn clear<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) {
        let (key, table) = ctx.table::<ReducingTable<K, V>>(self.index);
        table.map.remove(key);
    }
}
