//! How an in-memory state's entries are written to a snapshot and read back: the canonical
//! layout of [`key_value_layout`](crate::state::keyed::key_value_layout) (by key group, each
//! key's and value's postcard bytes length-prefixed), so a restore at another parallelism
//! takes whole key groups and any backend reads them. An earlier weir's layout (postcard of
//! `Vec<(key group, Vec<(K, S)>)>`) is still read.

use crate::error::BoxError;
use crate::state::heap::cow_map::CowMap;
use crate::state::keyed::key_value_layout::{for_each_entry, push_varint, KeyValueWriter};
use crate::state::state_key::StateKey;
use crate::task::operator::StateWriter;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ops::RangeInclusive;

/// Takes `map`'s snapshot view (the synchronous part: one `Arc` per key group) and returns the
/// writer that lays it out canonically.
pub(crate) fn snapshot_entries<K, S>(map: &mut CowMap<K, S>) -> StateWriter
where
    K: StateKey,
    S: Clone + Serialize + Send + Sync + 'static,
{
    let view = map.view();
    Box::new(move || {
        let mut writer = KeyValueWriter::new();
        let mut scratch = Vec::new();
        for (group, entries) in view.iter() {
            let mut bytes = Vec::new();
            let mut count = 0u64;
            for (key, value) in entries.iter() {
                scratch = append_field(&mut bytes, key, scratch)?;
                scratch = append_field(&mut bytes, value, scratch)?;
                count += 1;
            }
            writer.push_group(*group, count, bytes);
        }
        Ok(writer.finish())
    })
}

/// Appends `value`'s postcard bytes to `out`, length-prefixed, using `scratch` (returned
/// emptied for the next field).
fn append_field<T: Serialize>(
    out: &mut Vec<u8>,
    value: &T,
    scratch: Vec<u8>,
) -> Result<Vec<u8>, BoxError> {
    let mut scratch = postcard::to_extend(value, scratch)?;
    push_varint(out, scratch.len() as u64);
    out.extend_from_slice(&scratch);
    scratch.clear();
    Ok(scratch)
}

/// Calls `insert(key, value)` for every entry of canonical `entries` whose key group is in
/// `key_groups`, decoded as `K` and `S`.
pub(crate) fn decode_entries<K, S>(
    entries: &[u8],
    key_groups: &RangeInclusive<u32>,
    mut insert: impl FnMut(K, S),
) -> Result<(), BoxError>
where
    K: DeserializeOwned,
    S: DeserializeOwned,
{
    for_each_entry(entries, |group, key, value| {
        if key_groups.contains(&group) {
            let key: K = postcard::from_bytes(key)
                .map_err(|e| format!("a key of key group {group} does not decode: {e}"))?;
            let value: S = postcard::from_bytes(value)
                .map_err(|e| format!("a value of key group {group} does not decode: {e}"))?;
            insert(key, value);
        }
        Ok(())
    })
}

/// Adds to `map` the entries [`snapshot_entries`] wrote whose key group is in `key_groups`.
pub(crate) fn restore_entries<K, S>(
    map: &mut CowMap<K, S>,
    entries: &[u8],
    key_groups: &RangeInclusive<u32>,
) -> Result<(), BoxError>
where
    K: StateKey,
    S: DeserializeOwned + Clone,
{
    decode_entries(entries, key_groups, |key, value| {
        map.insert(key, value);
    })
}

/// Calls `insert(key, value)` for every entry of an earlier weir's in-memory layout whose key
/// group is in `key_groups`.
pub(crate) fn decode_legacy_entries<K, S>(
    entries: &[u8],
    key_groups: &RangeInclusive<u32>,
    mut insert: impl FnMut(K, S),
) -> Result<(), BoxError>
where
    K: DeserializeOwned,
    S: DeserializeOwned,
{
    let groups: Vec<(u32, Vec<(K, S)>)> = postcard::from_bytes(entries)?;
    for (group, pairs) in groups {
        if key_groups.contains(&group) {
            for (key, value) in pairs {
                insert(key, value);
            }
        }
    }
    Ok(())
}
