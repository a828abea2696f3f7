//! What [`inspect`](super::inspect) finds in a savepoint or checkpoint: plain data, serializable
//! as a stable JSON document (field names are part of the `weir` command line's interface).

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::PathBuf;

/// Whether a snapshot is a savepoint (its directory is named `savepoint-…`) or a checkpoint of
/// a job's checkpoint directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SnapshotKind {
    /// A savepoint's `chk-<n>`.
    Savepoint,
    /// A `chk-<n>` of a job's checkpoint directory.
    Checkpoint,
}

/// One savepoint or checkpoint, every file of it read and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotReport {
    /// Its `chk-<n>` directory.
    pub path: PathBuf,
    /// Savepoint or checkpoint.
    pub kind: SnapshotKind,
    /// The job's id, as its metadata records it.
    pub job_id: String,
    /// The checkpoint's id.
    pub checkpoint_id: u64,
    /// When it was triggered, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The job's max parallelism (the number of key groups).
    pub max_parallelism: u32,
    /// Bytes the checkpoint wrote (the sum of its subtasks' `state_bytes`).
    pub state_bytes: u64,
    /// Bytes of the whole state, shared files of earlier checkpoints included.
    pub full_state_bytes: u64,
    /// Every vertex (chain of operators) of the job, in the metadata's order.
    pub vertices: Vec<VertexReport>,
    /// Every operator of the job, by chain order within each vertex.
    pub operators: Vec<OperatorReport>,
}

/// A vertex: a chain of operators that runs as one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VertexReport {
    /// The vertex's uid (its first operator's).
    pub uid: String,
    /// Its parallelism when the snapshot was taken.
    pub parallelism: u32,
    /// The uids of its operators, in chain order.
    pub operator_uids: Vec<String>,
    /// Each subtask's state as the metadata records it, by subtask index.
    pub subtasks: Vec<VertexSubtask>,
}

/// One subtask of a vertex, as the metadata records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VertexSubtask {
    /// Its index.
    pub index: u32,
    /// The key groups it owned.
    pub key_groups: KeyGroupRange,
    /// Bytes the checkpoint wrote for it (its state file and the shared files it uploaded).
    pub state_bytes: u64,
    /// Bytes of its whole state (shared files of earlier checkpoints included).
    pub full_state_bytes: u64,
    /// Its state file, relative to the `chk-<n>` directory (`None`: kept in the metadata).
    pub file: Option<PathBuf>,
    /// How many shared files its state refers to.
    pub shared_files: usize,
}

/// An inclusive range of key groups, `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroupRange {
    /// The first key group.
    pub first: u32,
    /// The last key group (inclusive).
    pub last: u32,
}

impl From<RangeInclusive<u32>> for KeyGroupRange {
    fn from(range: RangeInclusive<u32>) -> Self {
        KeyGroupRange {
            first: *range.start(),
            last: *range.end(),
        }
    }
}

/// Which state backend wrote a keyed operator's state, from the snapshot's own tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackendOrigin {
    /// The HashMap (heap) backend.
    Heap,
    /// RocksDB, every file of the instance in the checkpoint's own directory or its state
    /// file (a full checkpoint, or an incremental one holding no SST file).
    RocksdbFull,
    /// RocksDB, an incremental checkpoint (SST files in `shared/`).
    RocksdbIncremental,
    /// RocksDB with no instance files recorded.
    Rocksdb,
}

/// How an operator's state bytes in a subtask were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StateFormat {
    /// The subtask holds no state of the operator.
    None,
    /// Keyed state (a keyed process function, `reduce`), HashMap or RocksDB.
    Keyed,
    /// Keyed state in the canonical savepoint format (entries by key group, whichever
    /// backend wrote it).
    KeyedCanonical,
    /// Operator state (list, union list, broadcast).
    Operator,
    /// Bytes in a format only the operator reads (a sink's transactions, a user operator):
    /// only their size is known.
    Opaque,
}

/// One operator of the job and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperatorReport {
    /// The operator's uid.
    pub uid: String,
    /// The uid of the vertex it runs in.
    pub vertex_uid: String,
    /// Its parallelism (its vertex's).
    pub parallelism: u32,
    /// The backend that wrote its keyed state, if it has keyed state.
    pub backend: Option<BackendOrigin>,
    /// The indexes of the subtasks holding state of it (a source position included).
    pub subtasks_with_state: Vec<u32>,
    /// Bytes of its state over all subtasks (source positions included).
    pub state_bytes: u64,
    /// Every subtask, by index, holding state or not.
    pub subtasks: Vec<OperatorSubtask>,
    /// Its states, by name, gathered over the subtasks.
    pub states: Vec<StateReport>,
    /// Whether it is a source whose position (or splits) the snapshot holds.
    pub source_position: bool,
}

/// One subtask of an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperatorSubtask {
    /// Its index.
    pub index: u32,
    /// The key groups it owned.
    pub key_groups: KeyGroupRange,
    /// How its bytes were read.
    pub format: StateFormat,
    /// Bytes of the operator's state in the subtask's state file (0 when it has none).
    pub state_bytes: u64,
    /// The backend of its keyed state.
    pub backend: Option<BackendOrigin>,
    /// The RocksDB instance's files, for RocksDB keyed state.
    pub rocksdb: Option<RocksDbFiles>,
    /// The source's position, for the source at the head of a chain.
    pub source: Option<SourcePosition>,
}

/// A RocksDB instance's files as a keyed snapshot records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RocksDbFiles {
    /// Files kept in the state file itself (full) or in the `chk-<n>` directory (incremental).
    pub own_files: usize,
    /// Their bytes.
    pub own_bytes: u64,
    /// SST files in `shared/` (incremental only).
    pub shared_files: usize,
    /// Their bytes.
    pub shared_bytes: u64,
}

/// A source's recorded position in one subtask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourcePosition {
    /// Bytes of the position.
    pub bytes: u64,
    /// The ids of the splits it holds, for a split source (`None`: a reader's own position,
    /// which only it decodes).
    pub splits: Option<Vec<String>>,
}

/// One named state of an operator, gathered over its subtasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StateReport {
    /// The state's declared name.
    pub name: String,
    /// Its kind: `ValueState`, `ListState`, `MapState`, `ReducingState`, `AggregatingState`,
    /// `ProcessingTimeTimers` (keyed), `OperatorListState`, `UnionListState`, `BroadcastState`
    /// (operator state): the recorded type up to its first `<`.
    pub kind: String,
    /// The type it was recorded with, as the snapshot holds it.
    pub type_name: String,
    /// Where its entries are: `heap`, `rocksdb` or `operator`.
    pub storage: String,
    /// Bytes of its entries over all subtasks; `None` when they are inside RocksDB's files.
    pub bytes: Option<u64>,
    /// The subtasks holding it.
    pub subtasks: Vec<u32>,
}
