//! [`ValueState`]: one value per key (Flink's `ValueState`).

use crate::error::BoxError;
use crate::state::keyed::context::{KeyedContext, RuntimeContext};
use crate::state::keyed::kind_table::KindTable;
use crate::state::keyed::state_table::StateType;
use crate::state::state_key::{StateKey, StateValue};
use crate::state::state_map::StateMap;
use std::any::type_name;
use std::marker::PhantomData;

/// The table of a value state: the key's value.
type ValueTable<K, V> = KindTable<Value, K, V>;

/// Marks value-state tables.
struct Value;

impl<K: StateKey> RuntimeContext<'_, K> {
    /// The value state called `name`: one `V` per key, recorded as `ValueState<V>` with the
    /// [`TypeIdentity`](crate::TypeIdentity) of `V` (or the context's explicit one). Asking again
    /// for the same name returns the same state; asking for it under another kind or with another
    /// type is an error naming the state.
    pub fn value_state<V: StateValue>(&mut self, name: &str) -> Result<ValueState<V>, BoxError> {
        let state_type =
            StateType::stored("ValueState", &[type_name::<V>()], self.type_id.as_ref());
        let index = self.backend.register(name, state_type, self.ttl, |g| {
            Ok(ValueTable::<K, V>::new(StateMap::new(g)?))
        })?;
        Ok(ValueState {
            index,
            _types: PhantomData,
        })
    }
}

/// A handle to a value state: one `V` per key. Registered in `open` through
/// [`RuntimeContext::value_state`]; using a handle that was never registered panics (which fails
/// the subtask, naming the operator).
pub struct ValueState<V> {
    index: usize,
    _types: PhantomData<fn(V) -> V>,
}

handle_impls!(ValueState<V>);

impl<V: StateValue> ValueState<V> {
    fn map<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
    ) -> (&'c K, &'c mut StateMap<K, V>) {
        let (key, table) = ctx.table::<ValueTable<K, V>>(self.index);
        (key, &mut table.0)
    }

    /// The current key's value, if it has one.
    pub fn value<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) -> Option<V> {
        let (key, map) = self.map(ctx);
        map.get(key).cloned()
    }

    /// Sets the current key's value.
    pub fn update<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, value: V) {
        let (key, map) = self.map(ctx);
        map.insert(key.clone(), value);
    }

    /// Changes the current key's value in place, starting from `init` when it has none; returns a
    /// reference to the new value.
    pub fn modify<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
        init: impl FnOnce() -> V,
        f: impl FnOnce(&mut V),
    ) -> &'c V {
        let (key, map) = self.map(ctx);
        let value = map.get_or_insert_with(key, init);
        f(value);
        value
    }

    /// Removes the current key's value.
    pub fn clear<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) {
        let (key, map) = self.map(ctx);
        map.remove(key);
    }
}
