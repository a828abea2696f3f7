//! [`RocksMap`]: one keyed state in the subtask's RocksDB instance, with a one-entry write-back
//! cache for the key being processed.

use super::{ErrorSlot, SharedInstance};
use crate::keyed_state::StateKey;
use crate::state_map::Stored;
use weir_actors::key_group::assign_to_key_group;

/// The current key's entry, as read from RocksDB and changed since.
struct Cached<K, S> {
    key: K,
    /// `postcard(key)`, its RocksDB key without the key group.
    key_bytes: Vec<u8>,
    key_group: u32,
    value: Option<S>,
    /// Whether `value` differs from what RocksDB holds.
    dirty: bool,
}

/// One state's entries in RocksDB: `[key group][postcard(key)] → postcard(value)` in the state's
/// column family.
///
/// Reads and writes go through a one-entry cache: touching a key loads it (writing back the
/// previous key's entry if it changed); [`flush`](Self::flush) writes back the cached entry.
/// A read or write that fails (disk error, an entry that does not decode) is recorded in the
/// backend's error slot and the key reads as absent; the operator fails with that error after
/// the call, before anything it emitted is sent.
pub(crate) struct RocksMap<K, S> {
    instance: SharedInstance,
    errors: ErrorSlot,
    state: String,
    max_parallelism: u32,
    cached: Option<Cached<K, S>>,
}

impl<K: StateKey, S: Stored> RocksMap<K, S> {
    pub(super) fn new(
        instance: SharedInstance,
        errors: ErrorSlot,
        state: &str,
        max_parallelism: u32,
    ) -> Self {
        RocksMap {
            instance,
            errors,
            state: state.to_owned(),
            max_parallelism,
            cached: None,
        }
    }

    fn fail(&self, error: String) {
        let mut slot = self.errors.lock();
        if slot.is_none() {
            *slot = Some(error);
        }
    }

    /// Makes the cache hold `key`'s entry.
    fn load(&mut self, key: &K) -> &mut Cached<K, S> {
        if self.cached.as_ref().is_some_and(|c| c.key == *key) {
            return self.cached.as_mut().expect("checked just above");
        }
        self.flush();
        let key_group = assign_to_key_group(key, self.max_parallelism);
        let (key_bytes, value) = match postcard::to_allocvec(key) {
            Ok(bytes) => {
                let value = self.read(key_group, &bytes);
                (bytes, value)
            }
            Err(e) => {
                self.fail(format!(
                    "state {:?}: a key does not encode: {e}",
                    self.state
                ));
                (Vec::new(), None)
            }
        };
        self.cached.insert(Cached {
            key: key.clone(),
            key_bytes,
            key_group,
            value,
            dirty: false,
        })
    }

    fn read(&self, key_group: u32, key_bytes: &[u8]) -> Option<S> {
        let read = self
            .instance
            .lock()
            .store
            .get(&self.state, key_group, key_bytes);
        match read {
            Ok(None) => None,
            Ok(Some(bytes)) => match postcard::from_bytes(&bytes) {
                Ok(value) => Some(value),
                Err(e) => {
                    self.fail(format!(
                        "state {:?}: an entry does not decode: {e}",
                        self.state
                    ));
                    None
                }
            },
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    /// Writes the cached entry back to RocksDB if it changed.
    pub fn flush(&mut self) {
        let Some(cached) = self.cached.as_mut().filter(|c| c.dirty) else {
            return;
        };
        cached.dirty = false;
        let mut instance = self.instance.lock();
        let result = match &cached.value {
            Some(value) => match postcard::to_allocvec(value) {
                Ok(bytes) => {
                    instance
                        .store
                        .put(&self.state, cached.key_group, &cached.key_bytes, &bytes)
                }
                Err(e) => {
                    drop(instance);
                    self.fail(format!(
                        "state {:?}: a value does not encode: {e}",
                        self.state
                    ));
                    return;
                }
            },
            None => instance
                .store
                .delete(&self.state, cached.key_group, &cached.key_bytes),
        };
        drop(instance);
        if let Err(e) = result {
            self.fail(e.to_string());
        }
    }

    /// The value of `key`.
    pub fn get(&mut self, key: &K) -> Option<&S> {
        self.load(key).value.as_ref()
    }

    /// The value of `key`, to change in place (written back later).
    pub fn get_mut(&mut self, key: &K) -> Option<&mut S> {
        let cached = self.load(key);
        cached.dirty |= cached.value.is_some();
        cached.value.as_mut()
    }

    /// Sets the value of `key`.
    pub fn insert(&mut self, key: K, value: S) {
        let cached = self.load(&key);
        cached.value = Some(value);
        cached.dirty = true;
    }

    /// Removes the value of `key`.
    pub fn remove(&mut self, key: &K) -> Option<S> {
        let cached = self.load(key);
        let removed = cached.value.take();
        cached.dirty |= removed.is_some();
        removed
    }

    /// The value of `key`, inserted by `init` first when it has none.
    pub fn get_or_insert_with(&mut self, key: &K, init: impl FnOnce() -> S) -> &mut S {
        let cached = self.load(key);
        cached.dirty = true;
        cached.value.get_or_insert_with(init)
    }
}

/// A `RocksMap` is a dynamic table: let it be stored behind `dyn Any`.
impl<K, S> std::fmt::Debug for RocksMap<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksMap")
            .field("state", &self.state)
            .finish()
    }
}
