//! Restoring keyed state into another state backend than the one that wrote it.
//!
//! Both backends keep the same value per key and state — `S`, the whole per-key state (a
//! value, a list, a map…) — so a snapshot converts without knowing the types:
//! - **HashMap → RocksDB**: the in-memory snapshot's entries, postcard of
//!   `Vec<(key group, Vec<(K, S)>)>`, are decoded by the RocksDB state when it is declared and
//!   written into RocksDB (see `StateMap`'s restore).
//! - **RocksDB → HashMap**: the RocksDB instance is opened in a temporary directory and each
//!   state's rows, `[key group][postcard(K)] → postcard(S)`, are laid out as the in-memory
//!   snapshot's entries, byte for byte: postcard writes a tuple as its fields one after the
//!   other and a length or a `u32` as a LEB128 varint. A state with a time-to-live carries its
//!   stamps' rows (`<name>#ttl`) alongside, as the in-memory snapshot does.

use crate::error::BoxError;
use crate::state::keyed::snapshot::StateSnapshot;
use crate::state::rocksdb::keyed_backend::{materialize, RocksFiles};
use crate::state::rocksdb::store::{RocksDbOptions, RocksDbStateStore};
use crate::state::rocksdb::working_dir::WorkingDir;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use weir_actors::CheckpointId;

/// The states `states` (name, recorded type) of a RocksDB snapshot's `files`, as in-memory
/// snapshots holding the key groups in `key_groups`. `restored_from` says where the files of
/// the checkpoint the job starts from are now.
pub(crate) fn rocks_to_heap(
    states: &[(String, String)],
    files: RocksFiles,
    key_groups: &RangeInclusive<u32>,
    restored_from: Option<&(CheckpointId, PathBuf)>,
) -> Result<Vec<StateSnapshot>, BoxError> {
    let base = std::env::temp_dir().join("weir-rocksdb");
    let work = WorkingDir::create(&base, "convert").map_err(|e| {
        format!(
            "cannot create a working directory under {}: {e}",
            base.display()
        )
    })?;
    let options = RocksDbOptions::default();
    let (store, _) = materialize(files, work.path().join("db"), options, restored_from)?;
    let mut converted = Vec::with_capacity(states.len());
    for (name, state_type) in states {
        let entries = heap_entries(&store, name, key_groups)?;
        let stamps = format!("{name}#ttl");
        let entries = match store.states().any(|s| s == stamps) {
            true => postcard::to_allocvec(&(entries, heap_entries(&store, &stamps, key_groups)?))?,
            false => entries,
        };
        converted.push(StateSnapshot {
            name: name.clone(),
            state_type: state_type.clone(),
            entries,
        });
    }
    drop(store);
    drop(work);
    Ok(converted)
}

/// State `state`'s rows of `key_groups` in `store` as an in-memory snapshot's entries:
/// postcard of `Vec<(key group, Vec<(K, S)>)>`, from the rows' own bytes.
fn heap_entries(
    store: &RocksDbStateStore,
    state: &str,
    key_groups: &RangeInclusive<u32>,
) -> Result<Vec<u8>, BoxError> {
    let mut groups: Vec<(u32, u64, Vec<u8>)> = Vec::new();
    if store.states().any(|s| s == state) {
        for row in store.scan_key_group_range(state, key_groups.clone())? {
            let row = row?;
            match groups.last_mut() {
                Some((group, _, _)) if *group == row.key_group => {}
                _ => groups.push((row.key_group, 0, Vec::new())),
            }
            if let Some((_, count, pairs)) = groups.last_mut() {
                *count += 1;
                pairs.extend_from_slice(&row.key);
                pairs.extend_from_slice(&row.value);
            }
        }
    }
    let mut out = Vec::new();
    varint(&mut out, groups.len() as u64);
    for (group, count, pairs) in groups {
        varint(&mut out, u64::from(group));
        varint(&mut out, count);
        out.extend_from_slice(&pairs);
    }
    Ok(out)
}

/// Appends `n` as postcard writes lengths and integers: LEB128, seven bits a byte.
fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_postcards() {
        for n in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut ours = Vec::new();
            varint(&mut ours, n);
            assert_eq!(ours, postcard::to_allocvec(&n).expect("encodes"), "{n}");
        }
    }

    #[test]
    fn entries_laid_out_from_rows_decode_as_the_in_memory_snapshot() {
        type Group = (u32, Vec<(String, Vec<u64>)>);
        let groups: Vec<Group> = vec![
            (3, vec![("a".into(), vec![1, 2]), ("bb".into(), vec![])]),
            (200, vec![("c".repeat(200), vec![u64::MAX; 3])]),
        ];
        let mut ours = Vec::new();
        varint(&mut ours, groups.len() as u64);
        for (group, pairs) in &groups {
            varint(&mut ours, u64::from(*group));
            varint(&mut ours, pairs.len() as u64);
            for (k, s) in pairs {
                ours.extend(postcard::to_allocvec(k).expect("encodes"));
                ours.extend(postcard::to_allocvec(s).expect("encodes"));
            }
        }
        assert_eq!(ours, postcard::to_allocvec(&groups).expect("encodes"));
    }
}
