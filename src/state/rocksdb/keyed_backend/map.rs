//! [`RocksMap`]: one keyed state in the subtask's RocksDB instance, behind a bounded write-back
//! cache of deserialized entries.

use super::SharedInstance;
use crate::state::access_error::{AccessFailure, ErrorSlot, FailedAccess};
use crate::state::key_groups::KeyGroups;
use crate::state::keyed::error::{StateAccessCause, StateOperation};
use crate::state::rocksdb::store::BatchWrite;
use crate::state::state_key::{StateKey, Stored};
use std::collections::HashMap;

/// A key's entry as read from RocksDB and changed since.
struct Cached<S> {
    /// `postcard(key)`, its RocksDB key without the key group.
    key_bytes: Vec<u8>,
    key_group: u32,
    value: Option<S>,
    /// Whether `value` differs from what RocksDB holds.
    dirty: bool,
    /// False for a key of a group the subtask does not own: it is never written back.
    owned: bool,
}

/// One state's entries in RocksDB: `[key group][postcard(key)] → postcard(value)` in the state's
/// column family.
///
/// Keys are read into a cache of at most `capacity` deserialized entries, changed in place
/// there, and written back in one RocksDB write batch when the cache is full (it is then
/// emptied) or a snapshot is taken ([`flush`](Self::flush)). A hot key costs no RocksDB access;
/// memory stays bounded by the capacity. A read or write that fails (disk error, an entry that
/// does not decode) and a key of a group the subtask does not own are recorded in the backend's
/// error slot, naming the state and the key group, and the key reads as absent; the operator
/// fails with that error after the call, before anything it emitted is sent.
pub(crate) struct RocksMap<K, S> {
    instance: SharedInstance,
    errors: ErrorSlot,
    state: String,
    key_groups: KeyGroups,
    capacity: usize,
    cache: HashMap<K, Cached<S>>,
}

impl<K: StateKey, S: Stored> RocksMap<K, S> {
    pub(super) fn new(
        instance: SharedInstance,
        errors: ErrorSlot,
        state: &str,
        key_groups: KeyGroups,
        capacity: usize,
    ) -> Self {
        RocksMap {
            instance,
            errors,
            state: state.to_owned(),
            key_groups,
            capacity: capacity.max(1),
            cache: HashMap::new(),
        }
    }

    #[cold]
    fn fail(&self, failure: AccessFailure) {
        FailedAccess {
            state: self.state.clone(),
            failure,
        }
        .record(&self.errors);
    }

    #[cold]
    fn fail_access(
        &self,
        key_group: Option<u32>,
        operation: StateOperation,
        cause: StateAccessCause,
    ) {
        self.fail(AccessFailure::Access {
            key_group,
            operation,
            cause,
        });
    }

    /// Makes the cache hold `key`'s entry (writing back and emptying a full cache first).
    fn load(&mut self, key: &K) -> &mut Cached<S> {
        if !self.cache.contains_key(key) {
            if self.cache.len() >= self.capacity {
                self.flush();
                self.cache.clear();
            }
            let (key_group, owned) = self.key_group(key);
            let (key_bytes, value) = match postcard::to_allocvec(key) {
                Ok(bytes) => {
                    let value = self.read(key_group, &bytes);
                    (bytes, value)
                }
                Err(e) => {
                    let cause = StateAccessCause::KeyEncoding(e.to_string());
                    self.fail_access(Some(key_group), StateOperation::Read, cause);
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
                    owned,
                },
            );
        }
        match self.cache.get_mut(key) {
            Some(cached) => cached,
            None => unreachable!("the key was cached just above"),
        }
    }

    /// The key group of `key`, and whether the subtask owns it (one it does not own is
    /// recorded as an error).
    fn key_group(&self, key: &K) -> (u32, bool) {
        match self.key_groups.index_of(key) {
            Ok(index) => (self.key_groups.first() + index as u32, true),
            Err(key_group) => {
                self.fail(AccessFailure::OutOfRange {
                    key_group,
                    range: self.key_groups.range.clone(),
                });
                (key_group, false)
            }
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
                    let cause = StateAccessCause::ValueDecoding(e.to_string());
                    self.fail_access(Some(key_group), StateOperation::Read, cause);
                    None
                }
            },
            Err(e) => {
                let cause = StateAccessCause::RocksDb(Box::new(e));
                self.fail_access(Some(key_group), StateOperation::Read, cause);
                None
            }
        }
    }

    /// Writes every changed cached entry back to RocksDB, in one write batch; the entries stay
    /// cached.
    pub fn flush(&mut self) {
        let mut writes = Vec::new();
        let mut unencodable = None;
        for cached in self.cache.values_mut().filter(|c| c.dirty && c.owned) {
            cached.dirty = false;
            let value = match &cached.value {
                Some(value) => match postcard::to_allocvec(value) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        unencodable.get_or_insert((cached.key_group, e.to_string()));
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
        if let Some((key_group, reason)) = unencodable {
            let cause = StateAccessCause::ValueEncoding(reason);
            self.fail_access(Some(key_group), StateOperation::Write, cause);
        }
        if writes.is_empty() {
            return;
        }
        let result = self.instance.lock().store.write_batch(&self.state, &writes);
        if let Err(e) = result {
            let first = writes[0].key_group;
            let key_group = writes.iter().all(|w| w.key_group == first).then_some(first);
            self.fail_access(
                key_group,
                StateOperation::Write,
                StateAccessCause::RocksDb(Box::new(e)),
            );
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
