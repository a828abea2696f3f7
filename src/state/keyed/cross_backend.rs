//! Restoring keyed state into another state backend than the one that wrote it.
//!
//! Both backends keep the same value per key and state — `S`, the whole per-key state (a
//! value, a list, a map…) — and the canonical layout of
//! [`key_value_layout`](super::key_value_layout) holds exactly those bytes, so:
//! - **entries → RocksDB**: a state kept as entries (every state of a hashmap snapshot or of a
//!   canonical savepoint) is decoded with its types when the RocksDB state is declared and
//!   written into RocksDB (see `StateMap`'s restore);
//! - **RocksDB files → memory**: the RocksDB instance of a native snapshot is opened in a
//!   temporary directory and each state's rows become its entries, byte for byte (see
//!   [`canonical_states`], also how a RocksDB subtask writes a canonical savepoint); a state
//!   with a time-to-live takes its stamps from `<name>#ttl`.

use crate::error::BoxError;
use crate::state::keyed::key_value_layout::KeyValueWriter;
use crate::state::keyed::snapshot::StateEntries;
use crate::state::keyed::snapshot::StateSnapshot;
use crate::state::rocksdb::keyed_backend::{materialize, RocksFiles, SnapshotDirs};
use crate::state::rocksdb::store::{RocksDbOptions, RocksDbStateStore};
use crate::state::rocksdb::working_dir::WorkingDir;
use crate::state::ttl::TTL_STAMPS_SUFFIX;
use std::ops::RangeInclusive;

/// The states `states` (name, recorded type) of a RocksDB snapshot's `files`, as entries of
/// the key groups in `key_groups`. `dirs` says where the snapshot's files are now.
pub(crate) fn rocks_to_heap(
    states: &[(String, String)],
    files: RocksFiles,
    key_groups: &RangeInclusive<u32>,
    dirs: &SnapshotDirs,
) -> Result<Vec<StateSnapshot>, BoxError> {
    let base = std::env::temp_dir().join("weir-rocksdb");
    let work = WorkingDir::create(&base, "convert").map_err(|e| {
        format!(
            "cannot create a working directory under {}: {e}",
            base.display()
        )
    })?;
    let options = RocksDbOptions::default();
    let (store, _) = materialize(files, work.path().join("db"), options, dirs)?;
    let converted = canonical_states(&store, states, key_groups)?;
    drop(store);
    drop(work);
    Ok(converted)
}

/// The states `states` (name, recorded type) of `store`, with the entries of the key groups in
/// `key_groups`, laid out canonically.
pub(crate) fn canonical_states(
    store: &RocksDbStateStore,
    states: &[(String, String)],
    key_groups: &RangeInclusive<u32>,
) -> Result<Vec<StateSnapshot>, BoxError> {
    let mut out = Vec::with_capacity(states.len());
    for (name, state_type) in states {
        let stamps_name = format!("{name}{TTL_STAMPS_SUFFIX}");
        let stamps = match store.states().any(|s| s == stamps_name) {
            true => Some(rows(store, &stamps_name, key_groups)?),
            false => None,
        };
        out.push(StateSnapshot {
            name: name.clone(),
            state_type: state_type.clone(),
            entries: StateEntries::KeyValue {
                entries: rows(store, name, key_groups)?,
                stamps,
            },
        });
    }
    Ok(out)
}

/// State `state`'s rows of `key_groups` in `store` (none if it has no column family).
fn rows(
    store: &RocksDbStateStore,
    state: &str,
    key_groups: &RangeInclusive<u32>,
) -> Result<Vec<u8>, BoxError> {
    let mut writer = KeyValueWriter::new();
    if store.states().any(|s| s == state) {
        for row in store.scan_key_group_range(state, key_groups.clone())? {
            let row = row?;
            writer.push(row.key_group, &row.key, &row.value);
        }
    }
    Ok(writer.finish())
}
