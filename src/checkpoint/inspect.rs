//! Looking into savepoints and checkpoints without running a job: what the `weir` command line
//! shows, as plain data a Rust program can use too.
//!
//! - [`inspect`]: one savepoint or checkpoint — job, checkpoint id, time, max parallelism; per
//!   vertex its operators and parallelism; per operator uid the subtasks holding state, their
//!   bytes and key-group ranges, each state's name, kind and recorded type, the backend that
//!   wrote it and whether a source position is there.
//! - [`list_checkpoints`]: every `chk-<n>` of a job directory (or of every job directory of a
//!   checkpoint directory), complete or not and why, with sizes and times.
//! - [`diff`]: what differs between two snapshots, by operator uid.
//!
//! # Guarantees
//! - Nothing is written, moved or deleted: these functions only read.
//! - Every file is checked as a restore checks it
//!   ([`load_verified`](crate::checkpoint::restore::load_verified)): a damaged, truncated or
//!   foreign `_metadata` or state file is an [`InspectError`] naming the file.
//! - Sizes are the metadata's: a subtask's `state_bytes` is its handle's recorded size, and
//!   their sum is [`SnapshotReport::state_bytes`].
//! - Key-group ranges are computed as the runtime assigns them
//!   ([`key_group_range`](weir_actors::graph::key_group::key_group_range)): the subtasks of a
//!   vertex cover `0..max_parallelism` exactly once.
//!
//! # What is not guaranteed
//! - An operator's bytes in a format only it reads (a sink's pending transactions, a user
//!   operator's own snapshot, a source reader's own position) are reported opaque, with their
//!   size; a keyed state's entries are counted in bytes, not keys (their key type is not known
//!   offline).
//! - Keyed and operator-state snapshots carry no tag naming their format: bytes are taken as
//!   one only when they decode as it exactly, and as opaque when they decode as both.

mod decode;
mod diff;
mod list;
mod report;

pub use diff::{diff, OperatorDiff, SnapshotDiff, StateChange, StateIdentity, ValueChange};
pub use list::{list_checkpoints, CheckpointEntry, CheckpointListing, JobCheckpoints};
pub use report::{
    BackendOrigin, KeyGroupRange, OperatorReport, OperatorSubtask, RocksDbFiles, SnapshotKind,
    SnapshotReport, SourcePosition, StateFormat, StateReport, VertexReport, VertexSubtask,
};

use crate::checkpoint::restore::load_verified;
use crate::savepoint::{locate, SavepointError};
use crate::task::stream_task::ChainSnapshot;
use decode::{decode_operator, source_position};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use weir_actors::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, StateHandle, StateLocation, StorageError,
};
use weir_actors::graph::job_spec::RestoredCheckpoint;
use weir_actors::graph::key_group::key_group_range;

/// Why a savepoint or checkpoint cannot be inspected; every variant names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The path is not a savepoint directory, a `chk-<n>` directory or a `_metadata` file.
    #[error("{path} is not a weir savepoint or checkpoint: {reason}")]
    NotASnapshot {
        /// The path given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The path holds no `chk-<n>` directory and no job directory holding one.
    #[error("{path} is not a checkpoint directory: {reason}")]
    NotACheckpointDirectory {
        /// The path given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read, or is damaged, truncated, foreign or not what the metadata
    /// recorded; the error names it.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A state file reads and verifies, but its task state does not decode.
    #[error(
        "{path}: the state of vertex {vertex_uid:?} subtask {subtask} does not decode: {reason}"
    )]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// The vertex.
        vertex_uid: String,
        /// The subtask.
        subtask: u32,
        /// The decoder's error.
        reason: String,
    },
}

impl From<SavepointError> for InspectError {
    fn from(error: SavepointError) -> Self {
        match error {
            SavepointError::NotASavepoint { path, reason } => {
                InspectError::NotASnapshot { path, reason }
            }
            SavepointError::Storage(e) => InspectError::Storage(e),
            other => InspectError::NotASnapshot {
                path: PathBuf::new(),
                reason: other.to_string(),
            },
        }
    }
}

/// A snapshot's files, read and checked: the directory holding its `_metadata`, whether it is
/// a savepoint, and its checkpoint.
pub(crate) struct Loaded {
    pub chk: PathBuf,
    pub is_savepoint: bool,
    pub restored: RestoredCheckpoint,
}

/// Reads the snapshot at `path` (a `savepoint-…` directory, a `chk-<n>` directory or its
/// `_metadata`), every file checked.
pub(crate) fn load(path: &Path) -> Result<Loaded, InspectError> {
    let located = locate(path)?;
    let metadata = located.storage.load(located.id)?;
    let restored = load_verified(&located.storage, metadata)?;
    Ok(Loaded {
        chk: located.dir(),
        is_savepoint: located.is_savepoint(),
        restored,
    })
}

/// Inspects the savepoint or checkpoint at `path`: a `savepoint-…` directory, a `chk-<n>`
/// directory (of a savepoint or of a job's checkpoint directory) or its `_metadata`. Every
/// file is read and checked first; see the module docs for what the report holds.
pub fn inspect(path: impl AsRef<Path>) -> Result<SnapshotReport, InspectError> {
    let loaded = load(path.as_ref())?;
    report_of(&loaded)
}

/// The report of a loaded snapshot.
fn report_of(loaded: &Loaded) -> Result<SnapshotReport, InspectError> {
    let meta = &loaded.restored.metadata;
    let is_savepoint = loaded.is_savepoint;
    let mut vertices = Vec::new();
    let mut operators = Vec::new();
    for vertex in &meta.vertices {
        let handles: Vec<Option<&StateHandle>> = (0..vertex.parallelism)
            .map(|i| meta.state_of(&vertex.uid, i))
            .collect();
        let chains = handles
            .iter()
            .map(|h| h.map(|h| decode_chain(loaded, h)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let operator_uids = handles
            .iter()
            .flatten()
            .map(|h| h.operator_uids.clone())
            .find(|uids| !uids.is_empty())
            .unwrap_or_else(|| vec![vertex.uid.clone()]);
        for (position, uid) in operator_uids.iter().enumerate() {
            let ctx = OperatorContext {
                meta,
                vertex_uid: &vertex.uid,
                parallelism: vertex.parallelism,
                is_head: position == 0,
            };
            operators.push(operator_report(&ctx, uid, &chains));
        }
        vertices.push(VertexReport {
            uid: vertex.uid.clone(),
            parallelism: vertex.parallelism,
            operator_uids,
            subtasks: vertex_subtasks(meta, vertex.parallelism, &handles),
        });
    }
    Ok(SnapshotReport {
        path: loaded.chk.clone(),
        kind: if is_savepoint {
            SnapshotKind::Savepoint
        } else {
            SnapshotKind::Checkpoint
        },
        job_id: meta.job_id.clone(),
        checkpoint_id: meta.checkpoint_id,
        timestamp_ms: meta.timestamp_ms,
        max_parallelism: meta.max_parallelism,
        state_bytes: meta.state_size(),
        full_state_bytes: meta.full_state_size(),
        vertices,
        operators,
    })
}

/// The metadata's record of each subtask of a vertex.
fn vertex_subtasks(
    meta: &CheckpointMetadata,
    parallelism: u32,
    handles: &[Option<&StateHandle>],
) -> Vec<VertexSubtask> {
    (0..parallelism)
        .zip(handles)
        .map(|(index, handle)| VertexSubtask {
            index,
            key_groups: key_group_range(meta.max_parallelism, parallelism, index).into(),
            state_bytes: handle.map_or(0, |h| h.size),
            full_state_bytes: handle.map_or(0, |h| h.full_size()),
            file: handle.and_then(|h| match &h.location {
                StateLocation::File(f) => Some(f.path.clone()),
                StateLocation::Inline(_) => None,
            }),
            shared_files: handle.map_or(0, |h| h.shared.len()),
        })
        .collect()
}

/// Decodes a subtask's task state (already read and verified).
fn decode_chain(loaded: &Loaded, handle: &StateHandle) -> Result<ChainSnapshot, InspectError> {
    let key = (handle.vertex_uid.clone(), handle.subtask);
    let bytes = loaded
        .restored
        .states
        .get(&key)
        .map(|b| b.as_slice())
        .unwrap_or_default();
    ChainSnapshot::decode(bytes).map_err(|e| InspectError::CorruptState {
        path: match &handle.location {
            StateLocation::File(f) => loaded.chk.join(&f.path),
            StateLocation::Inline(_) => loaded
                .chk
                .join(crate::checkpoint::paths::METADATA_FILE_NAME),
        },
        vertex_uid: handle.vertex_uid.clone(),
        subtask: handle.subtask,
        reason: e.message,
    })
}

/// What an operator's report needs of its vertex.
struct OperatorContext<'a> {
    meta: &'a CheckpointMetadata,
    vertex_uid: &'a str,
    parallelism: u32,
    /// Whether it is the chain's first operator (the source, for a source chain).
    is_head: bool,
}

/// The report of operator `uid`, from its vertex's decoded subtask states (by index).
fn operator_report(
    ctx: &OperatorContext<'_>,
    uid: &str,
    chains: &[Option<ChainSnapshot>],
) -> OperatorReport {
    let mut subtasks = Vec::new();
    let mut states: BTreeMap<String, StateReport> = BTreeMap::new();
    for (index, chain) in (0..ctx.parallelism).zip(chains) {
        let bytes = chain
            .as_ref()
            .and_then(|c| c.operators.iter().find(|(u, _)| u == uid))
            .map(|(_, b)| b.as_slice());
        let decoded = bytes.map(decode_operator);
        for s in decoded.iter().flat_map(|d| &d.states) {
            let entry = states.entry(s.name.clone()).or_insert_with(|| StateReport {
                name: s.name.clone(),
                kind: s.kind.clone(),
                type_name: s.type_name.clone(),
                storage: s.storage.to_string(),
                bytes: s.bytes.map(|_| 0),
                subtasks: Vec::new(),
            });
            entry.bytes = entry.bytes.zip(s.bytes).map(|(a, b)| a + b);
            entry.subtasks.push(index);
        }
        let source = chain
            .as_ref()
            .filter(|_| ctx.is_head)
            .and_then(|c| c.source.as_deref())
            .map(source_position);
        subtasks.push(OperatorSubtask {
            index,
            key_groups: key_group_range(ctx.meta.max_parallelism, ctx.parallelism, index).into(),
            format: decoded.as_ref().map_or(StateFormat::None, |d| d.format),
            state_bytes: bytes.map_or(0, |b| b.len() as u64),
            backend: decoded.as_ref().and_then(|d| d.backend),
            rocksdb: decoded.and_then(|d| d.rocksdb),
            source,
        });
    }
    let source_bytes = |s: &OperatorSubtask| s.source.as_ref().map_or(0, |p| p.bytes);
    OperatorReport {
        uid: uid.to_string(),
        vertex_uid: ctx.vertex_uid.to_string(),
        parallelism: ctx.parallelism,
        backend: subtasks.iter().find_map(|s| s.backend),
        source_position: subtasks.iter().any(|s| s.source.is_some()),
        subtasks_with_state: subtasks
            .iter()
            .filter(|s| s.format != StateFormat::None || s.source.is_some())
            .map(|s| s.index)
            .collect(),
        state_bytes: subtasks
            .iter()
            .map(|s| s.state_bytes + source_bytes(s))
            .sum(),
        subtasks,
        states: states.into_values().collect(),
    }
}
