//! Keyed processing-time timers (Flink's `TimerService` in a `KeyedProcessFunction`).
//!
//! Time is the job's clock: milliseconds of tokio time since the job started, so in deterministic
//! mode it is virtual time. A function registers a timer for the current key with
//! [`TimerService::register_processing_time_timer`]; when the clock reaches it, the operator calls
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
//! The job clock starts when the job's first subtask is built and is shared by every subtask of
//! the job, across restarts. A job started from a checkpoint of an earlier run counts its
//! restored timers on its own clock.

use crate::error::BoxError;
use crate::state::keyed::backend::{
    restore_entries, snapshot_entries, CowMap, KeyGroups, KeyedContext, KeyedStateBackend,
    StateKey, StateTable, StateType,
};
use crate::task::operator::StateWriter;
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::RangeInclusive;
use std::time::Duration;
use tokio::time::Instant;
use weir_actors::graph::task::SubtaskInfo;

/// The name of the keyed state that holds an operator's timers.
pub const TIMER_STATE_NAME: &str = "weir.processing-time-timers";

/// The job's clock: tokio time since the job started, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct JobClock {
    start: Instant,
}

impl JobClock {
    /// The clock of the job the subtask `info` belongs to (every subtask and every restart of a
    /// job shares the job's start).
    pub fn of(info: &SubtaskInfo) -> JobClock {
        JobClock {
            start: info.job_start,
        }
    }

    /// A clock started at `start`.
    pub fn starting_at(start: Instant) -> JobClock {
        JobClock { start }
    }

    /// The job clock now.
    pub fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// The job clock at tokio instant `at` (0 before the job started).
    pub fn ms_at(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// The tokio instant at which the job clock reads `ms`.
    pub fn instant_at(&self, ms: u64) -> Instant {
        self.start
            .checked_add(Duration::from_millis(ms))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365 * 100))
    }
}

/// One operator subtask's timers: per key its timestamps (stored by key group, snapshotted),
/// and a queue of every timer by timestamp (rebuilt on restore).
pub(crate) struct TimerTable<K> {
    by_key: CowMap<K, BTreeSet<u64>>,
    queue: BTreeMap<u64, VecDeque<K>>,
    clock: JobClock,
}

impl<K: StateKey> TimerTable<K> {
    fn new(groups: &KeyGroups, clock: JobClock) -> Self {
        TimerTable {
            by_key: CowMap::new(groups),
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

    fn snapshot(&mut self) -> Option<StateWriter> {
        Some(snapshot_entries(&mut self.by_key))
    }

    fn restore(
        &mut self,
        entries: &[u8],
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        restore_entries(&mut self.by_key, entries, key_groups)?;
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
        clock: JobClock,
    ) -> Result<OperatorTimers, BoxError> {
        let state_type = StateType::stored(format!(
            "ProcessingTimeTimers<{}>",
            std::any::type_name::<K>()
        ));
        let index = backend.register(TIMER_STATE_NAME, state_type, None, |ctx| {
            Ok(TimerTable::<K>::new(&ctx.groups, clock))
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
    /// The job clock now: milliseconds of tokio time since the job started.
    pub fn current_processing_time(&self) -> u64 {
        self.table.clock.now_ms()
    }

    /// Registers a timer for the current key at job-clock time `at` (milliseconds). A timer that
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
        let groups = KeyGroups {
            max_parallelism: 128,
            range: 0..=127,
        };
        TimerTable::new(&groups, JobClock::starting_at(Instant::now()))
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
