//! Keyed processing-time timers (Flink's `TimerService` in a `KeyedProcessFunction`).
//!
//! Time is processing time on the job's clock, in milliseconds ([`JobClock`]: the wall clock
//! since the Unix epoch, or virtual time in deterministic mode). A function registers a timer
//! for the current key with [`TimerService::register_processing_time_timer`]; when the clock
//! reaches it, the operator calls
//! [`KeyedProcessFunction::on_timer`](crate::KeyedProcessFunction::on_timer) with that key as the
//! current key, so the function reads and writes that key's state.
//!
//! # Guarantees
//! - One timer per (key, timestamp): registering it again changes nothing; deleting it before it
//!   fires means it never fires.
//! - A subtask fires its timers in timestamp order (timers of one timestamp in the order they
//!   were registered).
//! - Timers are keyed state: they are kept by key group in a state of the operator's keyed
//!   backend, snapshotted with every checkpoint and restored with it (to the subtask that owns
//!   the key group). A restored timer whose time has passed fires promptly after the restore.
//! - No timer fires after end of input (as in Flink); pending timers are dropped then.
//!
//! The job clock is shared by every subtask of a run and continues across restarts and
//! restores (see [`crate::time::job_clock`]): a timer registered for `t` fires at `t`, also
//! after a job is started again from a checkpoint of an earlier run.

use crate::error::BoxError;
use crate::state::access_error::ErrorSlot;
use crate::state::heap::cow_map::CowMap;
use crate::state::heap::entries::{decode_legacy_entries, restore_entries, snapshot_entries};
use crate::state::key_groups::KeyGroups;
use crate::state::keyed::backend::KeyedStateBackend;
use crate::state::keyed::snapshot::StateEntries;
use crate::state::keyed::state_table::TableWriter;
use crate::state::keyed::state_table::{StateTable, StateType};
use crate::state::keyed::KeyedContext;
use crate::state::state_key::StateKey;
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::RangeInclusive;
use tokio::time::Instant;

pub use crate::time::job_clock::JobClock;

/// The name of the keyed state that holds an operator's timers.
pub const TIMER_STATE_NAME: &str = "weir.processing-time-timers";

/// One operator subtask's timers: per key its timestamps (stored by key group, snapshotted),
/// and a queue of every timer by timestamp (rebuilt on restore).
pub(crate) struct TimerTable<K> {
    by_key: CowMap<K, BTreeSet<u64>>,
    queue: BTreeMap<u64, VecDeque<K>>,
    clock: JobClock,
}

impl<K: StateKey> TimerTable<K> {
    fn new(groups: &KeyGroups, errors: &ErrorSlot, clock: JobClock) -> Self {
        TimerTable {
            by_key: CowMap::new(groups, TIMER_STATE_NAME, errors),
            queue: BTreeMap::new(),
            clock,
        }
    }

    /// Registers a timer at `at` for `key`; false when it already exists.
    fn register(&mut self, key: &K, at: u64) -> bool {
        if !self
            .by_key
            .get_or_insert_with(key, BTreeSet::new)
            .insert(at)
        {
            return false;
        }
        self.queue.entry(at).or_default().push_back(key.clone());
        true
    }

    /// Deletes `key`'s timer at `at`; false when there was none.
    fn delete(&mut self, key: &K, at: u64) -> bool {
        let Some(times) = self.by_key.get_mut(key) else {
            return false;
        };
        if !times.remove(&at) {
            return false;
        }
        if times.is_empty() {
            self.by_key.remove(key);
        }
        if let Some(keys) = self.queue.get_mut(&at) {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.queue.remove(&at);
            }
        }
        true
    }

    /// The earliest timer's timestamp.
    fn next(&self) -> Option<u64> {
        self.queue.first_key_value().map(|(at, _)| *at)
    }

    /// How many timers are due at `now_ms`.
    fn due(&self, now_ms: u64) -> usize {
        self.queue
            .range(..=now_ms)
            .map(|(_, keys)| keys.len())
            .sum()
    }

    /// Removes and returns the earliest timer if it is due at `now_ms`.
    fn pop_due(&mut self, now_ms: u64) -> Option<(u64, K)> {
        let mut first = self.queue.first_entry()?;
        let at = *first.key();
        if at > now_ms {
            return None;
        }
        let key = first.get_mut().pop_front()?;
        if first.get().is_empty() {
            first.remove();
        }
        if let Some(times) = self.by_key.get_mut(&key) {
            times.remove(&at);
            if times.is_empty() {
                self.by_key.remove(&key);
            }
        }
        Some((at, key))
    }

    /// Drops every timer.
    fn clear(&mut self) {
        let keys: Vec<K> = self.queue.values_mut().flat_map(std::mem::take).collect();
        for key in keys {
            self.by_key.remove(&key);
        }
        self.queue.clear();
    }
}

impl<K: StateKey> StateTable<K> for TimerTable<K> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn snapshot(&mut self) -> Option<TableWriter> {
        let write = snapshot_entries(&mut self.by_key);
        Some(Box::new(move || {
            Ok(StateEntries::KeyValue {
                entries: write()?,
                stamps: None,
            })
        }))
    }

    fn restore(
        &mut self,
        entries: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        match entries {
            StateEntries::KeyValue { entries, .. } => {
                restore_entries(&mut self.by_key, entries, key_groups)?
            }
            StateEntries::Legacy(bytes) => {
                let by_key = &mut self.by_key;
                decode_legacy_entries(bytes, key_groups, |key, times| {
                    by_key.insert(key, times);
                })?
            }
        }
        self.queue.clear();
        for (_, group) in self.by_key.groups() {
            for (key, times) in group.iter() {
                for at in times {
                    self.queue.entry(*at).or_default().push_back(key.clone());
                }
            }
        }
        Ok(())
    }
}

/// The timers of one keyed operator subtask, as its operator drives them.
pub(crate) struct OperatorTimers {
    index: usize,
    clock: JobClock,
}

impl OperatorTimers {
    /// Registers the timer state in `backend`. Called before the function's `open`, so the
    /// timer state's index is always 0 (see [`KeyedContext::timer_service`]).
    pub(crate) fn register<K: StateKey>(
        backend: &mut KeyedStateBackend<K>,
    ) -> Result<OperatorTimers, BoxError> {
        let state_type =
            StateType::stored("ProcessingTimeTimers", &[std::any::type_name::<K>()], None);
        let clock = backend.clock().clone();
        let table_clock = clock.clone();
        let index = backend.register(TIMER_STATE_NAME, state_type, None, |ctx| {
            Ok(TimerTable::<K>::new(&ctx.groups, ctx.errors, table_clock))
        })?;
        if index != TIMERS_INDEX {
            return Err("the timer state must be the operator's first keyed state".into());
        }
        Ok(OperatorTimers { index, clock })
    }

    /// The earliest pending timer, as a tokio instant.
    pub(crate) fn next<K: StateKey>(&self, backend: &mut KeyedStateBackend<K>) -> Option<Instant> {
        let table = backend.table::<TimerTable<K>>(self.index);
        table.next().map(|at| self.clock.instant_at(at))
    }

    /// The job clock at `now`, and how many timers are due then.
    pub(crate) fn due<K: StateKey>(
        &self,
        backend: &mut KeyedStateBackend<K>,
        now: Instant,
    ) -> (u64, usize) {
        let now_ms = self.clock.ms_at(now);
        (
            now_ms,
            backend.table::<TimerTable<K>>(self.index).due(now_ms),
        )
    }

    /// Removes and returns the earliest timer if it is due at `now_ms`.
    pub(crate) fn pop_due<K: StateKey>(
        &self,
        backend: &mut KeyedStateBackend<K>,
        now_ms: u64,
    ) -> Option<(u64, K)> {
        backend.table::<TimerTable<K>>(self.index).pop_due(now_ms)
    }

    /// Drops every pending timer (end of input).
    pub(crate) fn clear<K: StateKey>(&self, backend: &mut KeyedStateBackend<K>) {
        backend.table::<TimerTable<K>>(self.index).clear();
    }
}

/// Where a keyed operator's timer state sits among its keyed states.
const TIMERS_INDEX: usize = 0;

/// The timers of the current key (Flink's `TimerService`), from
/// [`KeyedContext::timer_service`].
pub struct TimerService<'c, K> {
    key: &'c K,
    table: &'c mut TimerTable<K>,
}

impl<K: StateKey> TimerService<'_, K> {
    /// Processing time now, in milliseconds (see [`JobClock`]).
    pub fn current_processing_time(&self) -> u64 {
        self.table.clock.now_ms()
    }

    /// Registers a timer for the current key at processing time `at` (milliseconds, on the
    /// clock [`current_processing_time`](Self::current_processing_time) reads). A timer that
    /// exists already is kept as it is; a time already passed fires as soon as possible.
    pub fn register_processing_time_timer(&mut self, at: u64) {
        self.table.register(self.key, at);
    }

    /// Deletes the current key's timer at `at`, if there is one.
    pub fn delete_processing_time_timer(&mut self, at: u64) {
        self.table.delete(self.key, at);
    }
}

impl<K: StateKey> KeyedContext<'_, K> {
    /// The timers of the current key.
    ///
    /// # Panics
    /// Outside a [`KeyedProcessFunction`](crate::KeyedProcessFunction) run by its operator (which
    /// registers the timer state first): the subtask fails, naming the operator.
    pub fn timer_service(&mut self) -> TimerService<'_, K> {
        let (key, table) = self.table::<TimerTable<K>>(TIMERS_INDEX);
        TimerService { key, table }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TimerTable<u64> {
        let groups = KeyGroups::new(128, 0..=127);
        let errors = ErrorSlot::default();
        TimerTable::new(&groups, &errors, JobClock::starting_at(Instant::now()))
    }

    #[test]
    fn timers_pop_in_timestamp_order_and_only_when_due() {
        let mut t = table();
        t.register(&1, 300);
        t.register(&2, 100);
        t.register(&3, 200);
        assert_eq!(t.next(), Some(100));
        assert_eq!(t.due(250), 2);
        assert_eq!(t.pop_due(250), Some((100, 2)));
        assert_eq!(t.pop_due(250), Some((200, 3)));
        assert_eq!(t.pop_due(250), None);
        assert_eq!(t.pop_due(300), Some((300, 1)));
        assert_eq!(t.next(), None);
    }

    #[test]
    fn a_key_and_time_registered_twice_is_one_timer() {
        let mut t = table();
        assert!(t.register(&7, 100));
        assert!(!t.register(&7, 100));
        assert_eq!(t.due(100), 1);
    }

    #[test]
    fn a_deleted_timer_never_pops() {
        let mut t = table();
        t.register(&7, 100);
        t.register(&8, 100);
        assert!(t.delete(&7, 100));
        assert!(!t.delete(&7, 100));
        assert_eq!(t.pop_due(1000), Some((100, 8)));
        assert_eq!(t.pop_due(1000), None);
    }

    #[test]
    fn a_restored_table_holds_the_snapshotted_timers() {
        let mut t = table();
        t.register(&1, 50);
        t.register(&2, 20);
        t.register(&1, 10);
        let bytes = t.snapshot().expect("in memory")().expect("snapshot writes");
        t.clear();
        assert_eq!(t.next(), None);
        let mut restored = table();
        restored.restore(&bytes, &(0..=127)).expect("restores");
        let fired: Vec<_> = std::iter::from_fn(|| restored.pop_due(100)).collect();
        assert_eq!(fired, vec![(10, 1), (20, 2), (50, 1)]);
    }
}
