//! The contexts a keyed function sees: [`RuntimeContext`] to declare states when it opens, and
//! [`KeyedContext`] to reach the state of the key being processed.

use crate::state::keyed::backend::KeyedStateBackend;
use crate::state::state_key::StateKey;
use crate::state::ttl::StateTtlConfig;

/// Where a keyed operator declares its states, once, when it opens.
///
/// Each kind has its method: [`value_state`](Self::value_state),
/// [`list_state`](Self::list_state), [`map_state`](Self::map_state),
/// [`reducing_state`](Self::reducing_state), [`aggregating_state`](Self::aggregating_state).
/// Asking again for the same name returns the same state; asking for it under another kind or
/// with other types is an error naming the state.
pub struct RuntimeContext<'a, K> {
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
    /// The time-to-live of the states declared through this context.
    pub(crate) ttl: Option<StateTtlConfig>,
}

impl<'a, K> RuntimeContext<'a, K> {
    /// Declares into `backend`, without time-to-live.
    pub(crate) fn new(backend: &'a mut KeyedStateBackend<K>) -> Self {
        RuntimeContext { backend, ttl: None }
    }

    /// A context whose states are declared with time-to-live `ttl` (Flink's
    /// `StateDescriptor.enableTimeToLive`): `ctx.with_ttl(ttl).value_state("name")`. The TTL is
    /// part of the state's recorded type, so a restore that enables or disables it is an error
    /// naming the state. See [`crate::state::ttl`] for the semantics.
    pub fn with_ttl(&mut self, ttl: StateTtlConfig) -> RuntimeContext<'_, K> {
        RuntimeContext {
            backend: self.backend,
            ttl: Some(ttl),
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
