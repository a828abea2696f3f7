//! The keyed state backend with every kind of state: snapshot and restore by key group, and the
//! restore rules (kind and type checks naming the operator and the state). The suite
//! (`tests/suite.rs`) runs once per state backend, with the same expectations.

use super::{AggregateFunction, AggregatingState, ListState, MapState, ReducingState, ValueState};
use crate::error::BoxError;
use crate::state::keyed::backend::KeyedStateBackend;
use crate::state::keyed::{KeyedContext, RuntimeContext};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use weir_actors::checkpoint::snapshot_kind::{SavepointFormat, SnapshotKind};
use weir_actors::graph::key_group::assign_to_key_group;

const MAX_PARALLELISM: u32 = 128;
const OPERATOR: &str = "Counter [counter-uid]";

fn declare<T>(
    backend: &mut KeyedStateBackend<u64>,
    f: impl FnOnce(&mut RuntimeContext<'_, u64>) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    f(&mut RuntimeContext::new(backend))
}

fn with_key<R>(
    backend: &mut KeyedStateBackend<u64>,
    key: u64,
    f: impl FnOnce(&mut KeyedContext<'_, u64>) -> R,
) -> R {
    f(&mut KeyedContext { key: &key, backend })
}

/// Checkpoint ids for snapshots taken by the tests.
static CHECKPOINTS: AtomicU64 = AtomicU64::new(1);

fn snapshot(backend: &mut KeyedStateBackend<u64>) -> Vec<u8> {
    snapshot_as(backend, SnapshotKind::Checkpoint)
}

fn snapshot_as(backend: &mut KeyedStateBackend<u64>, kind: SnapshotKind) -> Vec<u8> {
    let id = CHECKPOINTS.fetch_add(1, Ordering::Relaxed);
    let write = backend.snapshot(id, kind).expect("snapshot starts");
    write().expect("snapshot writes").bytes
}

/// The mean of `u64`s.
struct Average;

impl AggregateFunction for Average {
    type Input = u64;
    type Accumulator = (u64, u64);
    type Output = f64;

    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, value: u64, acc: &mut (u64, u64)) {
        acc.0 += value;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(u64, u64)) -> f64 {
        acc.0 as f64 / acc.1 as f64
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

/// The same accumulator as [`Average`], another output type.
struct TotalAndCount;

impl AggregateFunction for TotalAndCount {
    type Input = u64;
    type Accumulator = (u64, u64);
    type Output = (u64, u64);

    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, value: u64, acc: &mut (u64, u64)) {
        acc.0 += value;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

struct States {
    value: ValueState<u64>,
    list: ListState<u64>,
    map: MapState<String, u64>,
    sum: ReducingState<u64>,
    average: AggregatingState<u64, f64>,
}

fn declare_all(backend: &mut KeyedStateBackend<u64>) -> Result<States, BoxError> {
    declare(backend, |ctx| {
        Ok(States {
            value: ctx.value_state("value")?,
            list: ctx.list_state("list")?,
            map: ctx.map_state("map")?,
            sum: ctx.reducing_state("sum", |a: u64, b: u64| a + b)?,
            average: ctx.aggregating_state("average", Average)?,
        })
    })
}

/// What every state holds for one key, read through the handles.
#[derive(Debug, PartialEq)]
struct KeyView {
    value: Option<u64>,
    list: Vec<u64>,
    map: BTreeMap<String, u64>,
    sum: Option<u64>,
    average: Option<f64>,
}

fn view(backend: &mut KeyedStateBackend<u64>, s: &States, key: u64) -> KeyView {
    with_key(backend, key, |ctx| KeyView {
        value: s.value.value(ctx),
        list: s.list.get(ctx).to_vec(),
        map: s.map.entries(ctx).map(|(k, v)| (k.clone(), *v)).collect(),
        sum: s.sum.get(ctx),
        average: s.average.get(ctx),
    })
}

/// Writes, for keys `0..keys`, something different in every state.
fn fill(backend: &mut KeyedStateBackend<u64>, s: &States, keys: u64) {
    for key in 0..keys {
        with_key(backend, key, |ctx| {
            s.value.update(ctx, key * 7);
            s.list.add_all(ctx, (0..key % 5).map(|i| key + i));
            s.map.put(ctx, format!("k{}", key % 3), key);
            s.map.put(ctx, "all".to_string(), 1);
            for i in 0..=key % 4 {
                s.sum.add(ctx, i + key);
                s.average.add(ctx, i * key);
            }
        });
    }
}

/// The suite on the in-memory backend, and what only it shows.
mod hashmap {
    use super::*;

    fn backend(key_groups: std::ops::RangeInclusive<u32>) -> KeyedStateBackend<u64> {
        KeyedStateBackend::new(MAX_PARALLELISM, key_groups, OPERATOR)
    }

    include!("tests/suite.rs");
    include!("tests/identity_suite.rs");

    #[test]
    fn emptied_lists_and_maps_leave_no_entry() {
        let mut b = backend(0..=127);
        let s = declare_all(&mut b).expect("declared");
        with_key(&mut b, 9, |ctx| {
            s.list.add_all(ctx, Vec::new());
            assert!(s.list.get(ctx).is_empty());
            s.list.add(ctx, 1);
            s.list.update(ctx, Vec::new());
            assert!(s.list.get(ctx).is_empty());

            s.map.put_all(ctx, Vec::new());
            assert!(s.map.is_empty(ctx));
            s.map.put(ctx, "a".to_string(), 1);
            assert!(!s.map.is_empty(ctx));
            assert!(s.map.contains(ctx, "a"));
            assert_eq!(s.map.remove(ctx, "a"), Some(1));
            assert_eq!(s.map.remove(ctx, "a"), None);
            assert!(s.map.is_empty(ctx));
            assert_eq!(s.map.keys(ctx).count(), 0);
        });
        // Nothing of key 9 is left to snapshot: the snapshot equals that of an untouched backend.
        let untouched = {
            let mut u = backend(0..=127);
            declare_all(&mut u).expect("declared");
            snapshot(&mut u)
        };
        assert_eq!(snapshot(&mut b), untouched);
    }
}

/// The suite on the RocksDB backend (full snapshots; incremental ones are tested with a
/// checkpoint directory in `tests/`).
mod rocksdb {
    use super::*;
    use crate::state::backend::{BackendSettings, RocksDbStateBackend};

    fn backend(key_groups: std::ops::RangeInclusive<u32>) -> KeyedStateBackend<u64> {
        let mut backend = KeyedStateBackend::new(MAX_PARALLELISM, key_groups, OPERATOR);
        backend
            .use_rocksdb(
                &BackendSettings::default(),
                &RocksDbStateBackend::default(),
                "counter-uid",
                0,
            )
            .expect("RocksDB opens");
        backend
    }

    include!("tests/suite.rs");
    include!("tests/identity_suite.rs");
}

/// The suite on the RocksDB backend with a two-entry cache, so nearly every access reads and
/// writes RocksDB itself.
mod rocksdb_tiny_cache {
    use super::*;
    use crate::state::backend::{BackendSettings, RocksDbStateBackend};

    fn backend(key_groups: std::ops::RangeInclusive<u32>) -> KeyedStateBackend<u64> {
        let mut backend = KeyedStateBackend::new(MAX_PARALLELISM, key_groups, OPERATOR);
        let config = RocksDbStateBackend::default().cache_entries(2);
        backend
            .use_rocksdb(&BackendSettings::default(), &config, "counter-uid", 0)
            .expect("RocksDB opens");
        backend
    }

    include!("tests/suite.rs");
    include!("tests/identity_suite.rs");
}

/// Snapshots of either backend, checkpoint or canonical savepoint, restored into either: see
/// `tests/cross_backend.rs`.
mod cross_backend {
    use super::*;
    include!("tests/cross_backend.rs");
}
