//! [`StateMap`]: the per-key map behind every keyed state, in memory or in RocksDB, with an
//! optional time-to-live, so the state handles are written once for both backends.
//!
//! The two stores have the same operations with the same results. In memory it is a [`CowMap`]
//! (objects by key group, copy-on-write snapshots). In RocksDB it is a [`RocksMap`]: a key's
//! entry is read into a bounded cache of deserialized entries, changed in place there, and
//! written back in a write batch when the cache is full or a snapshot is taken; so a handle can
//! hand out references as the in-memory map does, and a hot key costs no RocksDB access.
//!
//! A state with a time-to-live keeps, beside its entries and in the same store, each key's
//! stamp (processing time, in milliseconds, of its last write or read); see
//! [`crate::state::ttl`].

use crate::error::BoxError;
use crate::state::access_error::ErrorSlot;
use crate::state::heap::cow_map::CowMap;
use crate::state::heap::entries::{decode_entries, decode_legacy_entries};
use crate::state::heap::entries::{restore_entries, snapshot_entries};
use crate::state::key_groups::KeyGroups;
use crate::state::keyed::snapshot::StateEntries;
use crate::state::keyed::state_table::TableWriter;
use crate::state::rocksdb::keyed_backend::{RocksKeyed, RocksMap};
use crate::state::state_key::{StateKey, Stored};
use crate::state::ttl::{StateTtlConfig, StateVisibility, TtlUpdateType, TTL_STAMPS_SUFFIX};
use crate::task::operator::StateWriter;
use crate::time::job_clock::JobClock;
use std::ops::RangeInclusive;

/// Where a new state's map is made.
pub(crate) struct TableContext<'a> {
    /// The key groups the subtask owns.
    pub groups: KeyGroups,
    /// The state's name.
    pub name: &'a str,
    /// The subtask's RocksDB instance, when the state backend is RocksDB.
    pub rocks: Option<&'a RocksKeyed>,
    /// Where an access that fails mid-call is recorded (the operator reports it after the call).
    pub errors: &'a ErrorSlot,
    /// The state's time-to-live and the clock it is measured on, if it has one.
    pub ttl: Option<(StateTtlConfig, JobClock)>,
}

/// A map from key to `S` in one of the two stores.
enum Store<K, S> {
    Heap(CowMap<K, S>),
    Rocks(RocksMap<K, S>),
}

impl<K: StateKey, S: Stored> Store<K, S> {
    fn new(ctx: &TableContext<'_>, name: &str) -> Result<Self, BoxError> {
        Ok(match ctx.rocks {
            Some(rocks) => Store::Rocks(rocks.map(name, &ctx.groups, ctx.errors)?),
            None => Store::Heap(CowMap::new(&ctx.groups, name, ctx.errors)),
        })
    }

    #[inline]
    fn get(&mut self, key: &K) -> Option<&S> {
        match self {
            Store::Heap(m) => m.get(key),
            Store::Rocks(m) => m.get(key),
        }
    }

    #[inline]
    fn get_mut(&mut self, key: &K) -> Option<&mut S> {
        match self {
            Store::Heap(m) => m.get_mut(key),
            Store::Rocks(m) => m.get_mut(key),
        }
    }

    #[inline]
    fn insert(&mut self, key: K, value: S) {
        match self {
            Store::Heap(m) => {
                m.insert(key, value);
            }
            Store::Rocks(m) => m.insert(key, value),
        }
    }

    #[inline]
    fn remove_entry(&mut self, key: &K) -> Option<(K, S)> {
        match self {
            Store::Heap(m) => m.remove_entry(key),
            Store::Rocks(m) => m.remove(key).map(|v| (key.clone(), v)),
        }
    }

    #[inline]
    fn get_or_insert_with(&mut self, key: &K, init: impl FnOnce() -> S) -> &mut S {
        match self {
            Store::Heap(m) => m.get_or_insert_with(key, init),
            Store::Rocks(m) => m.get_or_insert_with(key, init),
        }
    }

    fn snapshot(&mut self) -> Option<StateWriter> {
        match self {
            Store::Heap(m) => Some(snapshot_entries(m)),
            Store::Rocks(m) => {
                m.flush();
                None
            }
        }
    }

    /// Adds canonical `entries` of the key groups in `key_groups`.
    fn restore(
        &mut self,
        entries: &[u8],
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        match self {
            Store::Heap(m) => restore_entries(m, entries, key_groups),
            // Entries restored into RocksDB (see `keyed::cross_backend`).
            Store::Rocks(m) => {
                decode_entries(entries, key_groups, |key, value| m.insert(key, value))?;
                m.flush();
                Ok(())
            }
        }
    }

    /// Adds an earlier weir's in-memory `entries` of the key groups in `key_groups`.
    fn restore_legacy(
        &mut self,
        entries: &[u8],
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        match self {
            Store::Heap(m) => decode_legacy_entries(entries, key_groups, |key, value| {
                m.insert(key, value);
            }),
            Store::Rocks(m) => {
                decode_legacy_entries(entries, key_groups, |key, value| m.insert(key, value))?;
                m.flush();
                Ok(())
            }
        }
    }
}

/// The stamps of a state with a time-to-live.
struct Ttl<K> {
    config: StateTtlConfig,
    ttl_ms: u64,
    clock: JobClock,
    stamps: Store<K, u64>,
}

/// A map from key to `S`, in memory or in RocksDB, with an optional time-to-live.
pub(crate) struct StateMap<K, S> {
    entries: Store<K, S>,
    ttl: Option<Box<Ttl<K>>>,
}

impl<K: StateKey, S: Stored> StateMap<K, S> {
    /// The map of state `ctx.name`: in RocksDB if the backend is RocksDB (creating its column
    /// family, and one for its stamps if it has a time-to-live), in memory otherwise.
    pub fn new(ctx: &TableContext<'_>) -> Result<Self, BoxError> {
        let ttl = match ctx.ttl {
            Some((config, ref clock)) => Some(Box::new(Ttl {
                config,
                ttl_ms: config.ttl_ms(),
                clock: clock.clone(),
                stamps: Store::new(ctx, &format!("{}{TTL_STAMPS_SUFFIX}", ctx.name))?,
            })),
            None => None,
        };
        Ok(StateMap {
            entries: Store::new(ctx, ctx.name)?,
            ttl,
        })
    }

    /// Applies the time-to-live before `key` is accessed: an expired entry that must not be seen
    /// is removed; the stamp is renewed when the access renews it (`write`, or a read with
    /// [`TtlUpdateType::OnReadAndWrite`]) and the key has (or, for a write, will have) an entry.
    #[inline]
    fn touch(&mut self, key: &K, write: bool) {
        let Some(ttl) = self.ttl.as_mut() else {
            return;
        };
        let now = ttl.clock.now_ms();
        let expired = ttl
            .stamps
            .get(key)
            .is_some_and(|&stamp| now.saturating_sub(stamp) >= ttl.ttl_ms);
        if expired && ttl.config.visibility == StateVisibility::NeverReturnExpired {
            self.entries.remove_entry(key);
            ttl.stamps.remove_entry(key);
        }
        let renew = write || ttl.config.update_type == TtlUpdateType::OnReadAndWrite;
        if renew && (write || self.entries.get(key).is_some()) {
            ttl.stamps.insert(key.clone(), now);
        }
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&mut self, key: &K) -> Option<&S> {
        self.touch(key, false);
        self.entries.get(key)
    }

    /// Whether `key` has a value.
    #[inline]
    pub fn contains_key(&mut self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, to change in place.
    #[inline]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut S> {
        self.touch(key, false);
        if self.ttl.is_some() && self.entries.get(key).is_some() {
            self.touch(key, true);
        }
        self.entries.get_mut(key)
    }

    /// Sets the value of `key`.
    #[inline]
    pub fn insert(&mut self, key: K, value: S) {
        self.touch(&key, true);
        self.entries.insert(key, value);
    }

    /// Removes the value of `key`, handing back the stored key too.
    #[inline]
    pub fn remove_entry(&mut self, key: &K) -> Option<(K, S)> {
        self.touch(key, false);
        if let Some(ttl) = self.ttl.as_mut() {
            ttl.stamps.remove_entry(key);
        }
        self.entries.remove_entry(key)
    }

    /// Removes the value of `key`.
    #[inline]
    pub fn remove(&mut self, key: &K) -> Option<S> {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// The value of `key`, inserted by `init` first when it has none.
    #[inline]
    pub fn get_or_insert_with(&mut self, key: &K, init: impl FnOnce() -> S) -> &mut S {
        self.touch(key, true);
        self.entries.get_or_insert_with(key, init)
    }

    /// The synchronous part of a snapshot: for the in-memory map, its copy-on-write view (and
    /// its stamps') and the writer that lays them out canonically; for RocksDB, the cached
    /// entries are written back and `None` returned (the instance is snapshotted as a whole).
    pub fn snapshot(&mut self) -> Option<TableWriter> {
        let entries = self.entries.snapshot();
        // Both stores take their snapshot (a RocksDB one writes back its cached entry).
        let stamps = self.ttl.as_mut().map(|ttl| ttl.stamps.snapshot());
        let entries = entries?;
        let stamps = match stamps {
            Some(stamps) => Some(stamps?),
            None => None,
        };
        Some(Box::new(move || {
            Ok(StateEntries::KeyValue {
                entries: entries()?,
                stamps: stamps.map(|write| write()).transpose()?,
            })
        }))
    }

    /// Adds the entries (and stamps) of a snapshot whose key group is in `key_groups`.
    pub fn restore(
        &mut self,
        restored: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        match (restored, self.ttl.as_mut()) {
            (StateEntries::KeyValue { entries, stamps }, ttl) => {
                match (stamps, ttl) {
                    (Some(stamps), Some(ttl)) => ttl.stamps.restore(stamps, key_groups)?,
                    (None, None) => {}
                    (Some(_), None) => return Err("it was checkpointed with a time-to-live".into()),
                    (None, Some(_)) => {
                        return Err("it was checkpointed without a time-to-live".into())
                    }
                }
                self.entries.restore(entries, key_groups)
            }
            (StateEntries::Legacy(bytes), None) => self.entries.restore_legacy(bytes, key_groups),
            (StateEntries::Legacy(bytes), Some(ttl)) => {
                let (entries, stamps): (Vec<u8>, Vec<u8>) = postcard::from_bytes(bytes)?;
                ttl.stamps.restore_legacy(&stamps, key_groups)?;
                self.entries.restore_legacy(&entries, key_groups)
            }
        }
    }
}
