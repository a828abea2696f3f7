//! A keyed operator's snapshot as its state file holds it: the backend that wrote it, the
//! processing time it was taken at, the states kept in memory (entries by key group) and the
//! RocksDB instance's files.

use crate::error::BoxError;
use crate::state::keyed::error::KeyedStateError;
use crate::state::rocksdb::keyed_backend::RocksFiles;
use serde::{Deserialize, Serialize};
use weir_actors::config::configuration::StateBackendKind;

/// One in-memory state's entries as a snapshot stores them.
#[derive(Serialize, Deserialize)]
pub(crate) struct StateSnapshot {
    pub name: String,
    /// The state's kind and stored types, e.g. `ListState<u64>`.
    pub state_type: String,
    /// Postcard of `Vec<(key group, Vec<(K, per-key state)>)>`.
    pub entries: Vec<u8>,
}

/// A keyed operator's snapshot.
#[derive(Serialize, Deserialize)]
pub(crate) struct KeyedSnapshot {
    /// The state backend that wrote it.
    pub backend: StateBackendKind,
    /// Processing time (milliseconds, the job clock) when it was taken: a restore continues the
    /// clock from here, so timers and time-to-live stamps keep their meaning.
    pub clock_ms: u64,
    /// States kept in memory (every state with the hashmap backend; timers with RocksDB).
    pub heap: Vec<StateSnapshot>,
    /// The RocksDB states' names and types, and the instance's files.
    pub rocks: Option<(Vec<(String, String)>, RocksFiles)>,
}

impl KeyedSnapshot {
    /// The snapshot's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, BoxError> {
        Ok(postcard::to_allocvec(self)?)
    }

    /// Decodes the snapshot of operator `operator`.
    pub fn decode(bytes: &[u8], operator: &str) -> Result<KeyedSnapshot, KeyedStateError> {
        postcard::from_bytes(bytes).map_err(|e| KeyedStateError::Restore {
            operator: operator.to_string(),
            state: "*".to_string(),
            reason: format!("the checkpointed keyed state does not decode: {e}"),
        })
    }
}
