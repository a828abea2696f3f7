//! Broadcast state: a map every subtask of an operator holds the same copy of, written only from
//! the broadcast input (Flink's `BroadcastState` and `MapStateDescriptor`).

use super::registered_state::{ElementsWriter, RegisteredState};
use super::state_kind::{OperatorStateValue, StateKind};
use parking_lot::Mutex;
use std::any::Any;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// Names a broadcast state and its key and value types; a function reaches the state through a
/// context with it. A `const` descriptor can be shared by every use:
///
/// ```
/// use weir::BroadcastStateDescriptor;
/// const RULES: BroadcastStateDescriptor<String, u64> = BroadcastStateDescriptor::new("rules");
/// assert_eq!(RULES.name(), "rules");
/// ```
///
/// The state is recorded with the [`TypeIdentity`](crate::TypeIdentity) of `(K, V)`, or the
/// identity given with [`with_type_id`](Self::with_type_id), which survives renaming or moving
/// `K` and `V`:
///
/// ```
/// use weir::BroadcastStateDescriptor;
/// const RULES: BroadcastStateDescriptor<String, u64> =
///     BroadcastStateDescriptor::new("rules").with_type_id("rules/v1");
/// assert_eq!(RULES.type_id(), Some("rules/v1"));
/// ```
pub struct BroadcastStateDescriptor<K, V> {
    name: &'static str,
    type_id: Option<&'static str>,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> BroadcastStateDescriptor<K, V> {
    /// The descriptor of the broadcast state named `name`.
    pub const fn new(name: &'static str) -> Self {
        BroadcastStateDescriptor {
            name,
            type_id: None,
            _types: PhantomData,
        }
    }

    /// The same descriptor, its state recorded with the type identity `id` instead of the one
    /// of `(K, V)`; a restore that finds another identity is an error naming the state.
    pub const fn with_type_id(self, id: &'static str) -> Self {
        BroadcastStateDescriptor {
            name: self.name,
            type_id: Some(id),
            _types: PhantomData,
        }
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The explicit type identity, if one was given.
    pub fn type_id(&self) -> Option<&'static str> {
        self.type_id
    }
}

impl<K, V> Clone for BroadcastStateDescriptor<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for BroadcastStateDescriptor<K, V> {}

impl<K, V> std::fmt::Debug for BroadcastStateDescriptor<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastStateDescriptor")
            .field("name", &self.name)
            .field("type_id", &self.type_id)
            .finish()
    }
}

/// Read-write access to a broadcast state: a map from `K` to `V`, ordered by key.
///
/// It promises: checkpointed with the operator and restored as a full copy on every subtask
/// (each subtask writes its copy; on restore one is taken, as all are equal when the function
/// updates the state the same way on every subtask — which it does when it writes only from
/// broadcast elements, which every subtask receives in the same order). A snapshot only clones
/// an `Arc`; the first write after it copies the map once if the snapshot is still being
/// written.
pub struct BroadcastState<K, V> {
    map: Arc<Mutex<Arc<BTreeMap<K, V>>>>,
}

impl<K, V> Clone for BroadcastState<K, V> {
    fn clone(&self) -> Self {
        BroadcastState {
            map: self.map.clone(),
        }
    }
}

impl<K: Ord + OperatorStateValue, V: OperatorStateValue> BroadcastState<K, V> {
    pub(crate) fn new(entries: BTreeMap<K, V>) -> Self {
        BroadcastState {
            map: Arc::new(Mutex::new(Arc::new(entries))),
        }
    }

    /// The value of `key`, if any (a copy).
    pub fn get(&self, key: &K) -> Option<V> {
        self.map.lock().get(key).cloned()
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.map.lock().contains_key(key)
    }

    /// Runs `f` over the map without copying it (as it was when `f` was called).
    pub fn with<R>(&self, f: impl FnOnce(&BTreeMap<K, V>) -> R) -> R {
        let map = self.map.lock().clone();
        f(&map)
    }

    /// A copy of every entry, in key order.
    pub fn entries(&self) -> Vec<(K, V)> {
        self.with(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn put(&self, key: K, value: V) -> Option<V> {
        Arc::make_mut(&mut self.map.lock()).insert(key, value)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&self, key: &K) -> Option<V> {
        Arc::make_mut(&mut self.map.lock()).remove(key)
    }

    /// Removes every entry.
    pub fn clear(&self) {
        *self.map.lock() = Arc::new(BTreeMap::new());
    }

    /// This state, readable only.
    pub fn read_only(&self) -> ReadOnlyBroadcastState<K, V> {
        ReadOnlyBroadcastState(self.clone())
    }
}

impl<K: Ord + OperatorStateValue, V: OperatorStateValue> RegisteredState for BroadcastState<K, V> {
    fn kind(&self) -> StateKind {
        StateKind::Broadcast
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<(K, V)>()
    }

    fn snapshot(&self) -> ElementsWriter {
        let map = self.map.lock().clone();
        Box::new(move || {
            map.iter()
                .map(|entry| postcard::to_allocvec(&entry))
                .collect()
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Read-only access to a broadcast state, as the main input of a broadcast process function sees
/// it (Flink's `ReadOnlyBroadcastState`): every subtask reads the same map, so whatever subtask
/// a record reaches, it sees the same rules.
pub struct ReadOnlyBroadcastState<K, V>(BroadcastState<K, V>);

impl<K: Ord + OperatorStateValue, V: OperatorStateValue> ReadOnlyBroadcastState<K, V> {
    /// The value of `key`, if any (a copy).
    pub fn get(&self, key: &K) -> Option<V> {
        self.0.get(key)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.0.contains_key(key)
    }

    /// Runs `f` over the map without copying it.
    pub fn with<R>(&self, f: impl FnOnce(&BTreeMap<K, V>) -> R) -> R {
        self.0.with(f)
    }

    /// A copy of every entry, in key order.
    pub fn entries(&self) -> Vec<(K, V)> {
        self.0.entries()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
