//! The contexts a keyed function sees: [`RuntimeContext`] to declare states when it opens, and
//! [`KeyedContext`] to reach the state of the key being processed.

use crate::state::keyed::backend::KeyedStateBackend;
use crate::state::state_key::StateKey;
use crate::state::ttl::StateTtlConfig;
use crate::state::type_identity::TypeIdentity;

/// Where a keyed operator declares its states, once, when it opens.
///
/// Each kind has its method: [`value_state`](Self::value_state),
/// [`list_state`](Self::list_state), [`map_state`](Self::map_state),
/// [`reducing_state`](Self::reducing_state), [`aggregating_state`](Self::aggregating_state).
/// Asking again for the same name returns the same state; asking for it under another kind or
/// with other types is an error naming the state.
///
/// Each state is recorded with its kind and the [`TypeIdentity`] of the types it stores (their
/// `type_name` without module paths: `ValueState<Click>`), or with an identity the user gives
/// through [`with_type_id`](Self::with_type_id) (`ValueState<click/v2>`). A restore compares the
/// recorded identity with the declared one after normalizing both, so a recompiled job, a type
/// moved to another module, or a checkpoint of an earlier weir (full `type_name` paths) restores,
/// and a changed type or id is a [`KeyedStateError::TypeChanged`](crate::KeyedStateError)
/// naming the operator and the state.
pub struct RuntimeContext<'a, K> {
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
    /// The time-to-live of the states declared through this context.
    pub(crate) ttl: Option<StateTtlConfig>,
    /// The explicit type identity of the states declared through this context.
    pub(crate) type_id: Option<TypeIdentity>,
}

impl<'a, K> RuntimeContext<'a, K> {
    /// Declares into `backend`, without time-to-live.
    pub(crate) fn new(backend: &'a mut KeyedStateBackend<K>) -> Self {
        RuntimeContext {
            backend,
            ttl: None,
            type_id: None,
        }
    }

    /// A context whose states are declared with time-to-live `ttl` (Flink's
    /// `StateDescriptor.enableTimeToLive`): `ctx.with_ttl(ttl).value_state("name")`. The TTL is
    /// part of the state's recorded type, so a restore that enables or disables it is an error
    /// naming the state. See [`crate::state::ttl`] for the semantics.
    pub fn with_ttl(&mut self, ttl: StateTtlConfig) -> RuntimeContext<'_, K> {
        RuntimeContext {
            backend: self.backend,
            ttl: Some(ttl),
            type_id: self.type_id.clone(),
        }
    }

    /// A context whose states are recorded with the type identity `id` instead of the one
    /// derived from their Rust types: `ctx.with_type_id("click/v2").value_state::<Click>("clicks")`
    /// records `ValueState<click/v2>`. Renaming or moving the Rust type then keeps restores
    /// working; declaring a restored state with another id is an error naming the state.
    /// Composes with [`with_ttl`](Self::with_ttl) in either order. The id replaces every type
    /// of the state (both of a map state's, an aggregating state's accumulator).
    pub fn with_type_id(&mut self, id: impl Into<TypeIdentity>) -> RuntimeContext<'_, K> {
        RuntimeContext {
            backend: self.backend,
            ttl: self.ttl,
            type_id: Some(id.into()),
        }
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

impl<K: StateKey> KeyedContext<'_, K> {
    /// The current key and the table of the state registered at `index` (see
    /// [`KeyedStateBackend::table`] for when it panics).
    pub(crate) fn table<T: 'static>(&mut self, index: usize) -> (&K, &mut T) {
        (self.key, self.backend.table::<T>(index))
    }
}
