//! The bounds of what keyed state holds: [`StateKey`] for keys (and a map state's user keys),
//! [`StateValue`] for values, and, inside the crate, `Stored` for what a state map keeps per key.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;

/// Bounds of a value kept in keyed state.
pub trait StateValue: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<V: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> StateValue for V {}

/// Bounds of a key of keyed state (and of a [`MapState`](crate::MapState)'s user key).
pub trait StateKey:
    Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static> StateKey for K {}

/// Bounds of what a state map stores per key.
pub(crate) trait Stored:
    Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<S: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Stored for S {}
