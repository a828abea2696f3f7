//! A keyed operator's snapshot as its state file holds it: the backend that wrote it, the
//! processing time it was taken at, the states written as entries, and the RocksDB instance's
//! files when the backend's native layout was kept.
//!
//! # Format
//! ```text
//! "WEIRKEYD"  [format version: u32 little-endian]  postcard(KeyedSnapshot)
//! ```
//! Version 2 writes every state kept as entries in the canonical layout of
//! [`key_value_layout`](super::key_value_layout): by key group, length-prefixed key and value
//! bytes, the same from either backend. A checkpoint of the hashmap backend, and every
//! canonical savepoint (either backend), hold nothing else; a RocksDB checkpoint or native
//! savepoint keeps its instance's files instead (and its timers as entries).
//!
//! Snapshots of earlier weirs (no magic: version 1) still restore; their in-memory entries
//! are read with the state's types when it is declared. A snapshot of a newer version is a
//! [`KeyedStateError::UnsupportedFormat`], never a guess.

use crate::error::BoxError;
use crate::state::keyed::error::KeyedStateError;
use crate::state::rocksdb::keyed_backend::RocksFiles;
use serde::{Deserialize, Serialize};
use weir_actors::config::configuration::StateBackendKind;

/// What a keyed snapshot's bytes start with (version 2 on).
const MAGIC: &[u8; 8] = b"WEIRKEYD";

/// The newest format this weir writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// One state's entries in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StateEntries {
    /// The canonical layout: the entries, and for a state with a time-to-live each key's
    /// stamp (a `u64` value, milliseconds of the job clock), both by key group.
    KeyValue {
        /// `key → per-key state`.
        entries: Vec<u8>,
        /// `key → stamp`, for a state with a time-to-live.
        stamps: Option<Vec<u8>>,
    },
    /// An earlier weir's in-memory layout (postcard of `Vec<(key group, Vec<(K, S)>)>`, with
    /// a time-to-live postcard of `(entries, stamps)`): read only with the state's types.
    Legacy(Vec<u8>),
}

impl StateEntries {
    /// The bytes they take.
    pub(crate) fn len(&self) -> usize {
        match self {
            StateEntries::KeyValue { entries, stamps } => {
                entries.len() + stamps.as_ref().map_or(0, Vec::len)
            }
            StateEntries::Legacy(bytes) => bytes.len(),
        }
    }
}

/// One state kept as entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StateSnapshot {
    pub name: String,
    /// The state's kind and stored types, e.g. `ListState<u64>`.
    pub state_type: String,
    /// Its entries.
    pub entries: StateEntries,
}

/// A keyed operator's snapshot.
#[derive(Serialize, Deserialize)]
pub(crate) struct KeyedSnapshot {
    /// The state backend that wrote it.
    pub backend: StateBackendKind,
    /// Processing time (milliseconds, the job clock) when it was taken: a restore continues the
    /// clock from here, so timers and time-to-live stamps keep their meaning.
    pub clock_ms: u64,
    /// States kept as entries: every state, except where `rocks` keeps them.
    pub states: Vec<StateSnapshot>,
    /// The names and types of the states a RocksDB instance's files keep, and those files
    /// (RocksDB's checkpoints and native savepoints).
    pub rocks: Option<(Vec<(String, String)>, RocksFiles)>,
}

/// The snapshot of an earlier weir (format version 1).
#[derive(Deserialize)]
struct LegacySnapshot {
    backend: StateBackendKind,
    clock_ms: u64,
    heap: Vec<LegacyState>,
    rocks: Option<(Vec<(String, String)>, RocksFiles)>,
}

#[derive(Deserialize)]
struct LegacyState {
    name: String,
    state_type: String,
    entries: Vec<u8>,
}

impl KeyedSnapshot {
    /// The snapshot's bytes, in the newest format.
    pub fn encode(&self) -> Result<Vec<u8>, BoxError> {
        let mut out = Vec::with_capacity(self.encoded_len_hint());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        Ok(postcard::to_extend(self, out)?)
    }

    fn encoded_len_hint(&self) -> usize {
        let entries: usize = self.states.iter().map(|s| s.entries.len() + 64).sum();
        entries + 64
    }

    /// Whether the bytes of `bytes` are a keyed snapshot of any version this weir knows of
    /// (the magic, or a version-1 snapshot that decodes exactly).
    pub fn recognize(bytes: &[u8]) -> Option<KeyedSnapshot> {
        match bytes.strip_prefix(MAGIC) {
            Some(_) => Self::decode(bytes, "").ok(),
            None => match postcard::take_from_bytes::<LegacySnapshot>(bytes) {
                Ok((legacy, [])) => Some(legacy.into()),
                _ => None,
            },
        }
    }

    /// The format version of `bytes`: 1 for a snapshot without the magic.
    pub fn version_of(bytes: &[u8]) -> u32 {
        match bytes.strip_prefix(MAGIC) {
            Some(rest) if rest.len() >= 4 => {
                u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]])
            }
            Some(_) => 0,
            None => 1,
        }
    }

    /// Decodes the snapshot of operator `operator`, of any version up to [`FORMAT_VERSION`].
    pub fn decode(bytes: &[u8], operator: &str) -> Result<KeyedSnapshot, KeyedStateError> {
        let corrupt = |e: postcard::Error| KeyedStateError::Restore {
            operator: operator.to_string(),
            state: "*".to_string(),
            reason: format!("the checkpointed keyed state does not decode: {e}"),
        };
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            let legacy: LegacySnapshot = postcard::from_bytes(bytes).map_err(corrupt)?;
            return Ok(legacy.into());
        };
        let version = Self::version_of(bytes);
        if version != FORMAT_VERSION || rest.len() < 4 {
            return Err(KeyedStateError::UnsupportedFormat {
                operator: operator.to_string(),
                version,
                supported: FORMAT_VERSION,
            });
        }
        postcard::from_bytes(&rest[4..]).map_err(corrupt)
    }

    /// Whether every state is kept as canonical entries (no backend-specific files, no
    /// earlier weir's layout): what a canonical savepoint holds.
    pub fn is_canonical(&self) -> bool {
        self.rocks.is_none()
            && (self.states.iter()).all(|s| matches!(s.entries, StateEntries::KeyValue { .. }))
    }
}

impl From<LegacySnapshot> for KeyedSnapshot {
    fn from(legacy: LegacySnapshot) -> Self {
        KeyedSnapshot {
            backend: legacy.backend,
            clock_ms: legacy.clock_ms,
            states: (legacy.heap.into_iter())
                .map(|s| StateSnapshot {
                    name: s.name,
                    state_type: s.state_type,
                    entries: StateEntries::Legacy(s.entries),
                })
                .collect(),
            rocks: legacy.rocks,
        }
    }
}
