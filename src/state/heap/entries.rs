//! How an in-memory state's entries are written to a snapshot and read back: postcard of
//! `Vec<(key group, Vec<(K, S)>)>`, so a restore at another parallelism takes whole key groups.

use crate::error::BoxError;
use crate::state::heap::cow_map::CowMap;
use crate::state::state_key::StateKey;
use crate::task::operator::StateWriter;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ops::RangeInclusive;

/// Takes `map`'s snapshot view (the synchronous part: one `Arc` per key group) and returns the
/// writer that serializes it as `Vec<(key group, Vec<(K, S)>)>`.
pub(crate) fn snapshot_entries<K, S>(map: &mut CowMap<K, S>) -> StateWriter
where
    K: StateKey,
    S: Clone + Serialize + Send + Sync + 'static,
{
    let view = map.view();
    Box::new(move || {
        let groups: Vec<(u32, Vec<(&K, &S)>)> =
            view.iter().map(|(g, m)| (*g, m.iter().collect())).collect();
        Ok(postcard::to_allocvec(&groups)?)
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
    let groups: Vec<(u32, Vec<(K, S)>)> = postcard::from_bytes(entries)?;
    for (group, pairs) in groups {
        if key_groups.contains(&group) {
            map.extend(pairs);
        }
    }
    Ok(())
}
