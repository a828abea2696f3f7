//! [`RocksMap`]: one keyed state in the subtask's RocksDB instance, behind a bounded write-back
//! cache of deserialized entries.

use super::{ErrorSlot, SharedInstance};
use crate::state::keyed::backend::StateKey;
use crate::state::rocksdb::store::BatchWrite;
use crate::state::state_map::Stored;
use std::collections::HashMap;
use weir_actors::graph::key_group::assign_to_key_group;

/// A key's entry as read from RocksDB and changed since.
struct Cached<S> {
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
/// Keys are read into a cache of at most `capacity` deserialized entries, changed in place
/// there, and written back in one RocksDB write batch when the cache is full (it is then
/// emptied) or a snapshot is taken ([`flush`](Self::flush)). A hot key costs no RocksDB access;
/// memory stays bounded by the capacity. A read or write that fails (disk error, an entry that
/// does not decode) is recorded in the backend's error slot and the key reads as absent; the
/// operator fails with that error after the call, before anything it emitted is sent.
pub(crate) struct RocksMap<K, S> {
    instance: SharedInstance,
    errors: ErrorSlot,
    state: String,
    max_parallelism: u32,
    capacity: usize,
    cache: HashMap<K, Cached<S>>,
}

impl<K: StateKey, S: Stored> RocksMap<K, S> {
    pub(super) fn new(
        instance: SharedInstance,
        errors: ErrorSlot,
        state: &str,
        max_parallelism: u32,
        capacity: usize,
    ) -> Self {
        RocksMap {
            instance,
            errors,
            state: state.to_owned(),
            max_parallelism,
            capacity: capacity.max(1),
            cache: HashMap::new(),
        }
    }

    fn fail(&self, error: String) {
        let mut slot = self.errors.lock();
        if slot.is_none() {
            *slot = Some(error);
        }
    }

    /// Makes the cache hold `key`'s entry (writing back and emptying a full cache first).
    fn load(&mut self, key: &K) -> &mut Cached<S> {
        if !self.cache.contains_key(key) {
            if self.cache.len() >= self.capacity {
                self.flush();
                self.cache.clear();
            }
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
            self.cache.insert(
                key.clone(),
                Cached {
                    key_bytes,
                    key_group,
                    value,
                    dirty: false,
                },
            );
        }
        match self.cache.get_mut(key) {
            Some(cached) => cached,
            None => unreachable!("the key was cached just above"),
        }
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

    /// Writes every changed cached entry back to RocksDB, in one write batch; the entries stay
    /// cached.
    pub fn flush(&mut self) {
        let mut writes = Vec::new();
        for cached in self.cache.values_mut().filter(|c| c.dirty) {
            cached.dirty = false;
            let value = match &cached.value {
                Some(value) => match postcard::to_allocvec(value) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        let error = format!("state {:?}: a value does not encode: {e}", self.state);
                        let mut slot = self.errors.lock();
                        slot.get_or_insert(error);
                        continue;
                    }
                },
                None => None,
            };
            writes.push(BatchWrite {
                key_group: cached.key_group,
                key: cached.key_bytes.clone(),
                value,
            });
        }
        if writes.is_empty() {
            return;
        }
        let result = self.instance.lock().store.write_batch(&self.state, &writes);
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

impl<K, S> std::fmt::Debug for RocksMap<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksMap")
            .field("state", &self.state)
            .field("cached", &self.cache.len())
            .finish()
    }
}
