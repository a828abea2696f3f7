//! Helpers of the RocksDB store tests: keys, values and key groups of the test states, a filled
//! store, and a store's whole contents.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use weir::runtime::graph::key_group::assign_to_key_group;
use weir::state::rocksdb::store::{RocksDbOptions, RocksDbStateStore, MAX_KEY_GROUP};

pub const MAX_PARALLELISM: u32 = 128;

/// Every entry of every state: `(state, key group, key) -> value`.
pub type Contents = BTreeMap<(String, u32, Vec<u8>), Vec<u8>>;

pub fn key_bytes(key: u64) -> Vec<u8> {
    postcard::to_allocvec(&key).expect("u64 encodes")
}

pub fn group_of(key: u64) -> u32 {
    assign_to_key_group(&key, MAX_PARALLELISM)
}

/// A 100-byte value that depends on `key` and `version`.
pub fn value(key: u64, version: u64) -> Vec<u8> {
    let mut v = format!("{key}:{version}:").into_bytes();
    v.resize(100, b'x');
    v
}

pub fn put(store: &mut RocksDbStateStore, state: &str, key: u64, version: u64) {
    store
        .put(state, group_of(key), &key_bytes(key), &value(key, version))
        .expect("put");
}

pub fn contents(store: &RocksDbStateStore) -> Contents {
    let mut all = Contents::new();
    let states: Vec<String> = store.states().map(str::to_owned).collect();
    for state in states {
        for entry in store
            .scan_key_group_range(&state, 0..=MAX_KEY_GROUP)
            .expect("scan")
        {
            let entry = entry.expect("entry");
            all.insert((state.clone(), entry.key_group, entry.key), entry.value);
        }
    }
    all
}

/// A store in `dir` with states "counts" and "totals" holding keys `0..keys`.
pub fn filled_store(dir: &Path, keys: u64) -> RocksDbStateStore {
    let mut store = RocksDbStateStore::open(dir, RocksDbOptions::default()).expect("open");
    store.register_state("counts").expect("register");
    store.register_state("totals").expect("register");
    for key in 0..keys {
        put(&mut store, "counts", key, 0);
        if key % 3 == 0 {
            put(&mut store, "totals", key, 1);
        }
    }
    store
}

pub fn file_size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
