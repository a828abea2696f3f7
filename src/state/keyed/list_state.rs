//! [`ListState`]: a list of values per key (Flink's `ListState`).

use crate::error::BoxError;
use crate::state::keyed::context::{KeyedContext, RuntimeContext};
use crate::state::keyed::kind_table::KindTable;
use crate::state::keyed::state_table::StateType;
use crate::state::state_key::{StateKey, StateValue};
use crate::state::state_map::StateMap;
use std::any::type_name;
use std::marker::PhantomData;

/// The table of a list state: the key's list, never empty (an empty list is no entry).
type ListTable<K, V> = KindTable<List, K, Vec<V>>;

/// Marks list-state tables.
struct List;

impl<K: StateKey> RuntimeContext<'_, K> {
    /// The list state called `name`: a list of `V` per key, recorded as `ListState<V>`. Asking
    /// again for the same name returns the same state; asking for it under another kind or with
    /// another type is an error naming the state.
    pub fn list_state<V: StateValue>(&mut self, name: &str) -> Result<ListState<V>, BoxError> {
        let state_type = StateType::stored("ListState", &[type_name::<V>()], self.type_id.as_ref());
        let index = self.backend.register(name, state_type, self.ttl, |g| {
            Ok(ListTable::<K, V>::new(StateMap::new(g)?))
        })?;
        Ok(ListState {
            index,
            _types: PhantomData,
        })
    }
}

/// A handle to a list state: a list of `V` per key, in the order the values were added.
/// Registered in `open` through [`RuntimeContext::list_state`]; using a handle that was never
/// registered panics (which fails the subtask, naming the operator).
///
/// A key whose list is empty has no entry: [`get`](Self::get) gives an empty slice and the key
/// takes no room in the backend or in snapshots.
pub struct ListState<V> {
    index: usize,
    _types: PhantomData<fn(V) -> V>,
}

handle_impls!(ListState<V>);

impl<V: StateValue> ListState<V> {
    fn map<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
    ) -> (&'c K, &'c mut StateMap<K, Vec<V>>) {
        let (key, table) = ctx.table::<ListTable<K, V>>(self.index);
        (key, &mut table.0)
    }

    /// The current key's list, oldest first; empty if it has none. Use `.to_vec()` for a copy
    /// to keep while the state is changed.
    pub fn get<'c, K: StateKey>(&self, ctx: &'c mut KeyedContext<'_, K>) -> &'c [V] {
        let (key, map) = self.map(ctx);
        match map.get(key) {
            Some(list) => list,
            None => &[],
        }
    }

    /// Appends `value` to the current key's list.
    pub fn add<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, value: V) {
        let (key, map) = self.map(ctx);
        match map.get_mut(key) {
            Some(list) => list.push(value),
            None => {
                map.insert(key.clone(), vec![value]);
            }
        }
    }

    /// Appends `values`, in order, to the current key's list.
    pub fn add_all<K: StateKey>(
        &self,
        ctx: &mut KeyedContext<'_, K>,
        values: impl IntoIterator<Item = V>,
    ) {
        let (key, map) = self.map(ctx);
        match map.get_mut(key) {
            Some(list) => list.extend(values),
            None => {
                let list: Vec<V> = values.into_iter().collect();
                if !list.is_empty() {
                    map.insert(key.clone(), list);
                }
            }
        }
    }

    /// Replaces the current key's list with `values` (an empty `values` clears it).
    pub fn update<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, values: Vec<V>) {
        let (key, map) = self.map(ctx);
        if values.is_empty() {
            map.remove(key);
        } else {
            map.insert(key.clone(), values);
        }
    }

    /// Removes the current key's list.
    pub fn clear<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) {
        let (key, map) = self.map(ctx);
        map.remove(key);
    }
}
