//! A RocksDB instance's states in the canonical layout of
//! [`key_value_layout`](crate::state::keyed::key_value_layout): each row
//! `[key group][postcard(K)] → postcard(S)` is an entry as it is, so no state's types are
//! needed. A state with a time-to-live keeps its stamps in a column family of its own,
//! `<name>#ttl`, which become the state's stamps.
//!
//! Used for canonical savepoints (the async part reads a RocksDB checkpoint of the instance,
//! so processing goes on) and to restore a RocksDB snapshot into memory.

use crate::error::BoxError;
use crate::state::keyed::key_value_layout::KeyValueWriter;
use crate::state::keyed::snapshot::{StateEntries, StateSnapshot};
use crate::state::rocksdb::store::RocksDbStateStore;
use std::ops::RangeInclusive;

/// The column family suffix of a state's time-to-live stamps.
pub(crate) const TTL_STAMPS_SUFFIX: &str = "#ttl";

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
