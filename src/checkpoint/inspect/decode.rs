//! Reading one operator's state bytes without the job: the keyed snapshot
//! ([`KeyedSnapshot`]) and the operator-state snapshot ([`OperatorStateSnapshot`]) describe
//! themselves (state names, kinds, recorded types); anything else is opaque.
//!
//! A keyed snapshot starts with its magic (an earlier weir's did not); the operator-state
//! snapshot carries no tag, so bytes are taken as one only when they decode as it exactly,
//! with nothing left over; bytes that decode as both, or as neither, are reported opaque
//! rather than guessed.

use super::report::{BackendOrigin, RocksDbFiles, SourcePosition, StateFormat};
use crate::state::keyed::snapshot::{KeyedSnapshot, StateEntries};
use crate::state::operator::snapshot::{OperatorStateSnapshot, FORMAT_VERSION};
use crate::state::operator::StateKind;
use crate::state::rocksdb::keyed_backend::RocksFiles;
use weir_actors::config::configuration::StateBackendKind;

/// One state of one subtask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DecodedState {
    pub name: String,
    pub kind: String,
    pub type_name: String,
    pub storage: &'static str,
    pub bytes: Option<u64>,
}

/// One operator's state in one subtask, as far as it can be read offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DecodedOperator {
    pub format: StateFormat,
    pub backend: Option<BackendOrigin>,
    pub rocksdb: Option<RocksDbFiles>,
    pub states: Vec<DecodedState>,
}

/// Reads `bytes`, one operator's entry of a chain snapshot.
pub(super) fn decode_operator(bytes: &[u8]) -> DecodedOperator {
    match (keyed(bytes), operator(bytes)) {
        (Some(keyed), None) => keyed,
        (None, Some(operator)) => operator,
        _ => DecodedOperator {
            format: StateFormat::Opaque,
            backend: None,
            rocksdb: None,
            states: Vec::new(),
        },
    }
}

/// `T` decoded from exactly all of `bytes`.
fn exactly<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

fn keyed(bytes: &[u8]) -> Option<DecodedOperator> {
    let snapshot = KeyedSnapshot::recognize(bytes)?;
    let canonical = snapshot.is_canonical();
    let mut states: Vec<DecodedState> = snapshot
        .states
        .iter()
        .map(|s| DecodedState {
            name: s.name.clone(),
            kind: keyed_kind(&s.state_type),
            type_name: s.state_type.clone(),
            storage: match s.entries {
                StateEntries::KeyValue { .. } => "entries",
                StateEntries::Legacy(_) => "heap",
            },
            bytes: Some(s.entries.len() as u64),
        })
        .collect();
    let (backend, rocksdb) = match (&snapshot.backend, &snapshot.rocks) {
        (StateBackendKind::HashMap, _) => (BackendOrigin::Heap, None),
        (StateBackendKind::RocksDb, None) => (BackendOrigin::Rocksdb, None),
        (StateBackendKind::RocksDb, Some((rocks_states, files))) => {
            states.extend(rocks_states.iter().map(|(name, state_type)| DecodedState {
                name: name.clone(),
                kind: keyed_kind(state_type),
                type_name: state_type.clone(),
                storage: "rocksdb",
                bytes: None,
            }));
            rocks_files(files)
        }
    };
    states.sort_by(|a, b| a.name.cmp(&b.name));
    Some(DecodedOperator {
        format: match canonical {
            true => StateFormat::KeyedCanonical,
            false => StateFormat::Keyed,
        },
        backend: Some(backend),
        rocksdb,
        states,
    })
}

fn rocks_files(files: &RocksFiles) -> (BackendOrigin, Option<RocksDbFiles>) {
    match files {
        RocksFiles::Full(files) => (
            BackendOrigin::RocksdbFull,
            Some(RocksDbFiles {
                own_files: files.len(),
                own_bytes: files.iter().map(|(_, b)| b.len() as u64).sum(),
                shared_files: 0,
                shared_bytes: 0,
            }),
        ),
        RocksFiles::Incremental { handle, .. } | RocksFiles::Files(handle) => (
            match handle.shared.is_empty() {
                true => BackendOrigin::RocksdbFull,
                false => BackendOrigin::RocksdbIncremental,
            },
            Some(RocksDbFiles {
                own_files: handle.private.len(),
                own_bytes: handle.private.iter().map(|f| f.size).sum(),
                shared_files: handle.shared.len(),
                shared_bytes: handle.shared.iter().map(|f| f.size).sum(),
            }),
        ),
    }
}

/// `ValueState<u64> with TTL` → `ValueState`.
fn keyed_kind(recorded: &str) -> String {
    recorded
        .split(['<', ' '])
        .next()
        .unwrap_or(recorded)
        .to_string()
}

fn operator(bytes: &[u8]) -> Option<DecodedOperator> {
    let snapshot: OperatorStateSnapshot = exactly(bytes)?;
    if snapshot.version != FORMAT_VERSION {
        return None;
    }
    let states = snapshot
        .states
        .iter()
        .map(|s| DecodedState {
            name: s.name.clone(),
            kind: match s.kind {
                StateKind::List => "OperatorListState",
                StateKind::UnionList => "UnionListState",
                StateKind::Broadcast => "BroadcastState",
            }
            .to_string(),
            type_name: s.type_name.clone(),
            storage: "operator",
            bytes: Some(s.elements.iter().map(|e| e.len() as u64).sum()),
        })
        .collect();
    Some(DecodedOperator {
        format: StateFormat::Operator,
        backend: None,
        rocksdb: None,
        states,
    })
}

/// A source's position: a split source's split ids when it decodes as one.
pub(super) fn source_position(bytes: &[u8]) -> SourcePosition {
    let splits = crate::source::split_driver::decode_state(bytes)
        .ok()
        .map(|splits| splits.into_iter().map(|(id, _)| id).collect());
    SourcePosition {
        bytes: bytes.len() as u64,
        splits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::keyed::snapshot::StateSnapshot;
    use crate::state::operator::snapshot::StateEntry;

    #[test]
    fn a_heap_keyed_snapshot_is_read_with_its_states() {
        let snapshot = KeyedSnapshot {
            backend: StateBackendKind::HashMap,
            clock_ms: 7,
            states: vec![StateSnapshot {
                name: "count".into(),
                state_type: "ValueState<u64> with TTL".into(),
                entries: StateEntries::KeyValue {
                    entries: vec![1, 2, 3],
                    stamps: None,
                },
            }],
            rocks: None,
        };
        let decoded = decode_operator(&snapshot.encode().expect("a keyed snapshot encodes"));
        assert_eq!(decoded.format, StateFormat::KeyedCanonical);
        assert_eq!(decoded.backend, Some(BackendOrigin::Heap));
        assert_eq!(decoded.states.len(), 1);
        assert_eq!(decoded.states[0].kind, "ValueState");
        assert_eq!(decoded.states[0].bytes, Some(3));
    }

    #[test]
    fn a_rocksdb_full_snapshot_counts_its_files() {
        let snapshot = KeyedSnapshot {
            backend: StateBackendKind::RocksDb,
            clock_ms: 0,
            states: Vec::new(),
            rocks: Some((
                vec![("sum".into(), "ReducingState<u64>".into())],
                RocksFiles::Full(vec![("CURRENT".into(), vec![0; 16])]),
            )),
        };
        let decoded = decode_operator(&snapshot.encode().expect("a keyed snapshot encodes"));
        assert_eq!(decoded.backend, Some(BackendOrigin::RocksdbFull));
        assert_eq!(decoded.rocksdb.as_ref().map(|r| r.own_bytes), Some(16));
        assert_eq!(decoded.states[0].storage, "rocksdb");
        assert_eq!(decoded.states[0].bytes, None);
    }

    #[test]
    fn an_operator_state_snapshot_is_read_with_its_kinds() {
        let snapshot = OperatorStateSnapshot {
            version: FORMAT_VERSION,
            states: vec![StateEntry {
                name: "buffer".into(),
                kind: StateKind::UnionList,
                type_name: "u64".into(),
                elements: vec![vec![1], vec![2, 3]],
            }],
        };
        let decoded = decode_operator(
            &postcard::to_allocvec(&snapshot).expect("an operator snapshot encodes"),
        );
        assert_eq!(decoded.format, StateFormat::Operator);
        assert_eq!(decoded.states[0].kind, "UnionListState");
        assert_eq!(decoded.states[0].bytes, Some(3));
    }

    #[test]
    fn bytes_of_no_known_format_are_opaque() {
        for bytes in [&[][..], &[0xff, 0xff, 0xff][..], b"transaction 17 pending"] {
            assert_eq!(decode_operator(bytes).format, StateFormat::Opaque);
        }
    }
}
