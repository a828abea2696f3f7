//! Keyed state kept in memory: one map per declared state, from key to value.
//!
//! A keyed operator registers its states by name when it opens and reads or writes them for the
//! key of the record being processed, through the [`KeyedContext`] it is given.

use crate::error::BoxError;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use weir_actors::key_group::StableBuildHasher;

/// The keyed states of one operator subtask.
pub struct KeyedStateBackend<K> {
    states: Vec<RegisteredState>,
    _k: PhantomData<fn(K)>,
}

struct RegisteredState {
    name: String,
    value_type: TypeId,
    value_type_name: &'static str,
    map: Box<dyn Any + Send>,
}

impl<K: Hash + Eq + Send + 'static> Default for KeyedStateBackend<K> {
    fn default() -> Self {
        KeyedStateBackend {
            states: Vec::new(),
            _k: PhantomData,
        }
    }
}

impl<K: Hash + Eq + Send + 'static> KeyedStateBackend<K> {
    fn register<V: Send + 'static>(&mut self, name: &str) -> Result<usize, BoxError> {
        if let Some(i) = self.states.iter().position(|s| s.name == name) {
            let s = &self.states[i];
            if s.value_type != TypeId::of::<V>() {
                return Err(format!(
                    "state {name:?} is registered as {} and cannot be used as {}",
                    s.value_type_name,
                    std::any::type_name::<V>()
                )
                .into());
            }
            return Ok(i);
        }
        self.states.push(RegisteredState {
            name: name.to_string(),
            value_type: TypeId::of::<V>(),
            value_type_name: std::any::type_name::<V>(),
            map: Box::new(HashMap::<K, V, StableBuildHasher>::default()),
        });
        Ok(self.states.len() - 1)
    }

    fn map<V: 'static>(&mut self, index: usize) -> &mut HashMap<K, V, StableBuildHasher> {
        match self
            .states
            .get_mut(index)
            .and_then(|s| s.map.downcast_mut::<HashMap<K, V, StableBuildHasher>>())
        {
            Some(map) => map,
            None => panic!("keyed state used before the operator's open() registered it"),
        }
    }
}

/// Where a keyed operator declares its states, once, when it opens.
pub struct RuntimeContext<'a, K> {
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
}

impl<K: Hash + Eq + Send + 'static> RuntimeContext<'_, K> {
    /// The value state called `name`: one `V` per key. Asking again for the same name returns the
    /// same state; asking for it with another type is an error naming the state.
    pub fn value_state<V: Send + 'static>(
        &mut self,
        name: &str,
    ) -> Result<ValueState<V>, BoxError> {
        Ok(ValueState {
            index: self.backend.register::<V>(name)?,
            _v: PhantomData,
        })
    }
}

/// Access to the state of the key being processed.
pub struct KeyedContext<'a, K> {
    pub(crate) key: &'a K,
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
}

impl<K> KeyedContext<'_, K> {
    /// The key of the record being processed.
    pub fn current_key(&self) -> &K {
        self.key
    }
}

/// A handle to a value state: one `V` per key. Registered in `open` through [`RuntimeContext`];
/// using a handle that was never registered panics (which fails the subtask, naming the operator).
pub struct ValueState<V> {
    index: usize,
    _v: PhantomData<fn(V) -> V>,
}

impl<V> Default for ValueState<V> {
    fn default() -> Self {
        ValueState {
            index: usize::MAX,
            _v: PhantomData,
        }
    }
}

impl<V> Clone for ValueState<V> {
    fn clone(&self) -> Self {
        ValueState {
            index: self.index,
            _v: PhantomData,
        }
    }
}

impl<V: Send + 'static> ValueState<V> {
    /// The current key's value, if it has one.
    pub fn value<K: Hash + Eq + Clone + Send + 'static>(
        &self,
        ctx: &mut KeyedContext<'_, K>,
    ) -> Option<V>
    where
        V: Clone,
    {
        ctx.backend.map::<V>(self.index).get(ctx.key).cloned()
    }

    /// Sets the current key's value.
    pub fn update<K: Hash + Eq + Clone + Send + 'static>(
        &self,
        ctx: &mut KeyedContext<'_, K>,
        value: V,
    ) {
        let key = ctx.key.clone();
        ctx.backend.map::<V>(self.index).insert(key, value);
    }

    /// Changes the current key's value in place (one lookup), starting from `init` when it has none;
    /// returns a reference to the new value.
    pub fn modify<'c, K: Hash + Eq + Clone + Send + 'static>(
        &self,
        ctx: &'c mut KeyedContext<'_, K>,
        init: impl FnOnce() -> V,
        f: impl FnOnce(&mut V),
    ) -> &'c V {
        let map = ctx.backend.map::<V>(self.index);
        if !map.contains_key(ctx.key) {
            map.insert(ctx.key.clone(), init());
        }
        match map.get_mut(ctx.key) {
            Some(v) => {
                f(v);
                v
            }
            None => unreachable!("the key was inserted just above"),
        }
    }

    /// Removes the current key's value.
    pub fn clear<K: Hash + Eq + Clone + Send + 'static>(&self, ctx: &mut KeyedContext<'_, K>) {
        ctx.backend.map::<V>(self.index).remove(ctx.key);
    }
}
