//! Where keyed state lives, chosen per job (Flink's `state.backend.type`): in memory
//! ([`StateBackend::HashMap`], the default) or in an embedded RocksDB per operator subtask
//! ([`StateBackend::RocksDb`]), for state larger than memory.
//!
//! Both backends run the same state API (`ValueState`, `ListState`, `MapState`, `ReducingState`,
//! `AggregatingState`, timers) with the same results. They differ in cost and in snapshots:
//!
//! | | hashmap | rocksdb |
//! | --- | --- | --- |
//! | state is kept | as objects, by key group | serialized, one column family per state, keys prefixed by key group |
//! | synchronous part of a snapshot | one step per key group (copy-on-write) | a memtable flush and a hard-linked RocksDB checkpoint |
//! | a checkpoint holds | every entry | every file (full), or only the SST files new since the last checkpoint (incremental, `execution.checkpointing.incremental`) |
//!
//! Processing-time timers stay in memory with either backend (as Flink's heap timer service), and
//! are checkpointed with the state.
//!
//! A checkpoint is restored only by the backend that wrote it: giving a RocksDB checkpoint to a
//! hashmap job (or the reverse) is an error naming the operator (savepoints, which are
//! backend-independent, are the way to switch).

use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::state::rocksdb::store::RocksDbOptions;
use crate::time::job_clock::ClockBase;
use std::path::PathBuf;
use std::sync::Arc;

/// The state backend of a job. `Default` is [`StateBackend::HashMap`], as in Flink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateBackend {
    /// State as objects in memory (Flink's `HashMapStateBackend`): the fastest, bounded by memory.
    #[default]
    HashMap,
    /// State in one embedded RocksDB instance per operator subtask (Flink's
    /// `EmbeddedRocksDBStateBackend`): bounded by local disk, with incremental checkpoints.
    RocksDb(RocksDbStateBackend),
}

impl StateBackend {
    /// The RocksDB backend with default settings (a working directory under the system's
    /// temporary directory, [`RocksDbOptions::default`] memory limits).
    pub fn rocksdb() -> StateBackend {
        StateBackend::RocksDb(RocksDbStateBackend::default())
    }

    /// `hashmap` or `rocksdb`, as Flink's `state.backend.type` names them.
    pub fn name(&self) -> &'static str {
        match self {
            StateBackend::HashMap => "hashmap",
            StateBackend::RocksDb(_) => "rocksdb",
        }
    }
}

impl From<RocksDbStateBackend> for StateBackend {
    fn from(backend: RocksDbStateBackend) -> Self {
        StateBackend::RocksDb(backend)
    }
}

/// Settings of the RocksDB backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RocksDbStateBackend {
    /// Where subtasks keep their RocksDB instances (Flink's `state.backend.rocksdb.localdir`);
    /// by default `<system temp dir>/weir-rocksdb`. Each instance gets its own directory there,
    /// removed when the subtask ends; directories left by a process that died are removed when
    /// the next instance opens there (see `state::rocksdb::working_dir`).
    pub local_dir: Option<PathBuf>,
    /// Memory limits of each instance.
    pub options: RocksDbOptions,
    /// Entries each state keeps deserialized in front of RocksDB, per subtask (default 8 192):
    /// hot keys are read and written there, and changes reach RocksDB in write batches when the
    /// cache fills up and at every snapshot. 1 reads and writes RocksDB for every key change.
    pub cache_entries: usize,
}

impl Default for RocksDbStateBackend {
    fn default() -> Self {
        RocksDbStateBackend {
            local_dir: None,
            options: RocksDbOptions::default(),
            cache_entries: 8192,
        }
    }
}

impl RocksDbStateBackend {
    /// Keeps the instances under `dir`.
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }

    /// Sets how many entries each state caches deserialized (at least 1).
    pub fn cache_entries(mut self, entries: usize) -> Self {
        self.cache_entries = entries.max(1);
        self
    }

    /// Sets each instance's memory limits.
    pub fn memory(mut self, options: RocksDbOptions) -> Self {
        self.options = options;
        self
    }
}

/// What keyed operators of a job need to know of its state backend when they open.
#[derive(Debug, Clone, Default)]
pub(crate) struct BackendSettings {
    /// The backend.
    pub backend: StateBackend,
    /// Incremental checkpoints (RocksDB only).
    pub incremental: bool,
    /// The job's checkpoint directory, when checkpoints go to a filesystem: where incremental
    /// checkpoints upload their shared files.
    pub storage: Option<FileSystemCheckpointStorage>,
    /// The run's processing-time clock (wall clock, or virtual in deterministic mode), shared
    /// by every keyed subtask and restart of the run.
    pub clock: Arc<ClockBase>,
    /// The checkpoint the job starts from and the storage its files are read through (a
    /// savepoint's directory, or the job directory of a checkpoint named by path): a RocksDB
    /// state of that checkpoint reads its files from there, wherever it was written.
    pub restored_from: Option<(weir_actors::CheckpointId, FileSystemCheckpointStorage)>,
}
