//! [`MapState`]: a map per key (Flink's `MapState`).

use crate::error::BoxError;
use crate::state::keyed::context::{KeyedContext, RuntimeContext};
use crate::state::keyed::kind_table::KindTable;
use crate::state::keyed::state_table::StateType;
use crate::state::stable_map::Map;
use crate::state::state_key::{StateKey, StateValue};
use crate::state::state_map::StateMap;
use std::any::type_name;
use std::borrow::Borrow;
use std::hash::Hash;
use std::marker::PhantomData;

/// The table of a map state: the key's map, never empty (an empty map is no entry).
type MapTable<K, UK, UV> = KindTable<MapKind, K, Map<UK, UV>>;

/// Marks map-state tables.
struct MapKind;

impl<K: StateKey> RuntimeContext<'_, K> {
    /// The map state called `name`: a map from `UK` to `UV` per key, recorded as
    /// `MapState<UK, UV>`. Asking again for the same name returns the same state; asking for it
    /// under another kind or with other types is an error naming the state.
    pub fn map_state<UK: StateKey, UV: StateValue>(
        &mut self,
        name: &str,
    ) -> Result<MapState<UK, UV>, BoxError> {
        let types = [type_name::<UK>(), type_name::<UV>()];
        let state_type = StateType::stored("MapState", &types, self.type_id.as_ref());
        let index = self.backend.register(name, state_type, self.ttl, |g| {
            Ok(MapTable::<K, UK, UV>::new(StateMap::new(g)?))
        })?;
        Ok(MapState {
            index,
            _types: PhantomData,
        })
    }
}

/// A handle to a map state: per key, a map from user keys `UK` to values `UV`. Registered in
/// `open` through [`RuntimeContext::map_state`]; using a handle that was never registered panics
/// (which fails the subtask, naming the operator).
///
/// Iteration order ([`entries`](Self::entries), [`keys`](Self::keys), [`values`](Self::values))
/// is unspecified, as in Flink. A key whose map is empty has no entry: it takes no room in the
/// backend or in snapshots.
pub struct MapState<UK, UV> {
    index: usize,
    _types: Types<UK, UV>,
}

/// The handle's types, marked without owning values of them (so it is `Send` and `Sync`
/// whatever they are).
type Types<UK, UV> = PhantomData<fn(UK, UV) -> (UK, UV)>;

handle_impls!(MapState<UK, UV>);

impl<UK: StateKey, UV: StateValue> MapState<UK, UV> {
    fn map<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
    ) -> (&'c K, &'c mut StateMap<K, Map<UK, UV>>) {
        let (key, table) = ctx.table::<MapTable<K, UK, UV>>(self.index);
        (key, &mut table.0)
    }

    /// The value of `user_key` in the current key's map.
    pub fn get<K: StateKey, Q>(&self, ctx: &mut KeyedContext<'_, K>, user_key: &Q) -> Option<UV>
    where
        UK: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (key, map) = self.map(ctx);
        map.get(key).and_then(|m| m.get(user_key)).cloned()
    }

    /// Whether the current key's map has `user_key`.
    pub fn contains<K: StateKey, Q>(&self, ctx: &mut KeyedContext<'_, K>, user_key: &Q) -> bool
    where
        UK: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (key, map) = self.map(ctx);
        map.get(key).is_some_and(|m| m.contains_key(user_key))
    }

    /// Sets `user_key` to `value` in the current key's map.
    pub fn put<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, user_key: UK, value: UV) {
        let (key, map) = self.map(ctx);
        match map.get_mut(key) {
            Some(m) => {
                m.insert(user_key, value);
            }
            None => {
                let mut m = Map::default();
                m.insert(user_key, value);
                map.insert(key.clone(), m);
            }
        }
    }

    /// Sets every `(user key, value)` of `entries` in the current key's map, in order.
    pub fn put_all<K: StateKey>(
        &self,
        ctx: &mut KeyedContext<'_, K>,
        entries: impl IntoIterator<Item = (UK, UV)>,
    ) {
        let (key, map) = self.map(ctx);
        match map.get_mut(key) {
            Some(m) => m.extend(entries),
            None => {
                let m: Map<UK, UV> = entries.into_iter().collect();
                if !m.is_empty() {
                    map.insert(key.clone(), m);
                }
            }
        }
    }

    /// Removes `user_key` from the current key's map, returning its value if it had one.
    pub fn remove<K: StateKey, Q>(&self, ctx: &mut KeyedContext<'_, K>, user_key: &Q) -> Option<UV>
    where
        UK: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (key, map) = self.map(ctx);
        let m = map.get_mut(key)?;
        let removed = m.remove(user_key);
        if m.is_empty() {
            map.remove(key);
        }
        removed
    }

    /// The current key's `(user key, value)` pairs.
    pub fn entries<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
    ) -> impl Iterator<Item = (&'c UK, &'c UV)> + 'c {
        let (key, map) = self.map(ctx);
        map.get(key).into_iter().flatten()
    }

    /// The current key's user keys.
    pub fn keys<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
    ) -> impl Iterator<Item = &'c UK> + 'c {
        self.entries(ctx).map(|(k, _)| k)
    }

    /// The current key's values.
    pub fn values<'c, K: StateKey>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
    ) -> impl Iterator<Item = &'c UV> + 'c {
        self.entries(ctx).map(|(_, v)| v)
    }

    /// Whether the current key's map is empty.
    pub fn is_empty<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) -> bool {
        let (key, map) = self.map(ctx);
        !map.contains_key(key)
    }

    /// Removes the current key's map.
    pub fn clear<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) {
        let (key, map) = self.map(ctx);
        map.remove(key);
    }
}
