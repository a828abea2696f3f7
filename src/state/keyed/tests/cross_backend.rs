// Included by `src/state/keyed/tests.rs` (module `cross_backend`): a snapshot of either
// backend — a checkpoint, or a canonical savepoint — restored into either backend, and a
// snapshot of an earlier weir's format restored, on a subtask owning all key groups or some.

use crate::state::backend::{BackendSettings, RocksDbStateBackend};
use crate::state::keyed::error::KeyedStateError;
use crate::state::keyed::key_value_layout::for_each_entry;
use crate::state::keyed::snapshot::{KeyedSnapshot, StateEntries, FORMAT_VERSION};
use crate::state::ttl::StateTtlConfig;
use crate::state::ValueState;
use std::ops::RangeInclusive;
use std::time::Duration;

fn heap(key_groups: RangeInclusive<u32>) -> KeyedStateBackend<u64> {
    KeyedStateBackend::new(MAX_PARALLELISM, key_groups, OPERATOR)
}

fn rocks(key_groups: RangeInclusive<u32>) -> KeyedStateBackend<u64> {
    let mut backend = heap(key_groups);
    let config = RocksDbStateBackend::default().cache_entries(3);
    backend
        .use_rocksdb(&BackendSettings::default(), &config, "counter-uid", 0)
        .expect("RocksDB opens");
    backend
}

fn with_ttl_state(b: &mut KeyedStateBackend<u64>) -> ValueState<u64> {
    let ttl = StateTtlConfig::new(Duration::from_secs(3600));
    declare(b, |ctx| ctx.with_ttl(ttl).value_state::<u64>("seen")).expect("declared")
}

type Make = fn(RangeInclusive<u32>) -> KeyedStateBackend<u64>;

const CANONICAL: SnapshotKind = SnapshotKind::Savepoint(SavepointFormat::Canonical);
const NATIVE: SnapshotKind = SnapshotKind::Savepoint(SavepointFormat::Native);

/// A backend made by `from` with every kind of state (and one with a time-to-live) over 300
/// keys, and its snapshot of `kind`.
fn written(from: Make, kind: SnapshotKind) -> (KeyedStateBackend<u64>, States, Vec<u8>) {
    let mut written = from(0..=127);
    let s = declare_all(&mut written).expect("declared");
    let seen = with_ttl_state(&mut written);
    fill(&mut written, &s, 300);
    for key in 0..300 {
        with_key(&mut written, key, |ctx| seen.update(ctx, key + 1));
    }
    let bytes = snapshot_as(&mut written, kind);
    (written, s, bytes)
}

/// Restores `bytes` into backends made by `to`, owning all key groups or some, and checks
/// every key they own reads as in `written`.
fn check_restores(what: &str, written: &mut KeyedStateBackend<u64>, s: &States, bytes: &[u8], to: Make) {
    for range in [0..=127, 40..=90] {
        let mut restored = to(range.clone());
        let t = declare_all(&mut restored).expect("declared");
        let seen_again = with_ttl_state(&mut restored);
        restored.restore(bytes).expect("restores");
        for key in (0..300).filter(|k| range.contains(&assign_to_key_group(k, 128))) {
            let expected = view(written, s, key);
            assert_eq!(view(&mut restored, &t, key), expected, "{what}: key {key}");
            let ttl_value = with_key(&mut restored, key, |ctx| seen_again.value(ctx));
            assert_eq!(ttl_value, Some(key + 1), "{what}: key {key}");
        }
        assert!(restored.take_error().is_none(), "{what}");
    }
}

#[test]
fn every_state_reads_the_same_after_a_restore_into_either_backend() {
    let backends: [(&str, Make); 2] = [("heap", heap), ("rocks", rocks)];
    for (from_name, from) in backends {
        for kind in [SnapshotKind::Checkpoint, CANONICAL, NATIVE] {
            let (mut w, s, bytes) = written(from, kind);
            for (to_name, to) in backends {
                let what = format!("{from_name} {kind:?} → {to_name}");
                check_restores(&what, &mut w, &s, &bytes, to);
            }
        }
    }
}

#[test]
fn a_canonical_savepoint_holds_entries_only_and_the_same_from_either_backend() {
    let (_, _, from_heap) = written(heap, CANONICAL);
    let (_, _, from_rocks) = written(rocks, CANONICAL);
    let (_, _, rocks_checkpoint) = written(rocks, SnapshotKind::Checkpoint);
    let decode = |b: &[u8]| KeyedSnapshot::decode(b, OPERATOR).expect("decodes");
    let (h, r) = (decode(&from_heap), decode(&from_rocks));
    assert!(h.is_canonical() && r.is_canonical());
    assert!(!decode(&rocks_checkpoint).is_canonical(), "a RocksDB checkpoint keeps its files");
    // Every state's entries, as sorted (key group, key bytes, value bytes): the order of the
    // entries within a key group is the backend's.
    let by_name = |k: &KeyedSnapshot| {
        let mut states: Vec<_> = (k.states.iter())
            .map(|s| {
                let StateEntries::KeyValue { entries, stamps } = &s.entries else {
                    panic!("{}: not canonical", s.name)
                };
                let sorted = |bytes: &[u8]| {
                    let mut all = Vec::new();
                    for_each_entry(bytes, |g, k, v| {
                        all.push((g, k.to_vec(), v.to_vec()));
                        Ok(())
                    })
                    .expect("canonical entries read");
                    all.sort();
                    all
                };
                let stamps = stamps.as_deref().map(sorted).map(|s| s.len());
                (s.name.clone(), s.state_type.clone(), sorted(entries), stamps)
            })
            .collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        states
    };
    assert_eq!(by_name(&h), by_name(&r), "the same entries, byte for byte");
}

#[test]
fn a_snapshot_of_a_newer_format_is_refused_with_both_versions() {
    let (_, _, mut bytes) = written(heap, CANONICAL);
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let mut restored = heap(0..=127);
    let error = restored.restore(&bytes).expect_err("a newer format");
    let error = error.downcast_ref::<KeyedStateError>().expect("typed");
    assert!(
        matches!(error, KeyedStateError::UnsupportedFormat { version, supported, .. }
            if *version == FORMAT_VERSION + 1 && *supported == FORMAT_VERSION),
        "{error}"
    );
    assert!(error.to_string().contains("counter-uid"), "{error}");
}

/// The in-memory snapshot format of weir before version 2 (no magic, typed entries).
#[derive(serde::Serialize)]
struct LegacySnapshot {
    backend: weir_actors::config::configuration::StateBackendKind,
    clock_ms: u64,
    heap: Vec<(String, String, Vec<u8>)>,
    rocks: Option<()>,
}

#[test]
fn a_snapshot_of_an_earlier_weir_still_restores_into_either_backend() {
    type Groups = Vec<(u32, Vec<(u64, u64)>)>;
    let mut groups: Groups = Vec::new();
    let mut keys: Vec<u64> = (0..200).collect();
    keys.sort_by_key(|k| assign_to_key_group(k, 128));
    for key in keys {
        let group = assign_to_key_group(&key, 128);
        match groups.last_mut() {
            Some((g, pairs)) if *g == group => pairs.push((key, key * 3)),
            _ => groups.push((group, vec![(key, key * 3)])),
        }
    }
    let entries = postcard::to_allocvec(&groups).expect("encodes");
    let legacy = LegacySnapshot {
        backend: weir_actors::config::configuration::StateBackendKind::HashMap,
        clock_ms: 5,
        heap: vec![("value".into(), "ValueState<u64>".into(), entries)],
        rocks: None,
    };
    let bytes = postcard::to_allocvec(&legacy).expect("encodes");
    for to in [heap as Make, rocks] {
        let mut restored = to(40..=90);
        let value = declare(&mut restored, |ctx| ctx.value_state::<u64>("value")).expect("declared");
        restored.restore(&bytes).expect("an earlier weir's snapshot restores");
        for key in 0..200 {
            let owned = (40..=90).contains(&assign_to_key_group(&key, 128));
            let read = with_key(&mut restored, key, |ctx| value.value(ctx));
            assert_eq!(read, owned.then_some(key * 3), "key {key}");
        }
        // Taken again, it is in the current format.
        let again = snapshot(&mut restored);
        assert_eq!(KeyedSnapshot::version_of(&again), FORMAT_VERSION);
    }
}
