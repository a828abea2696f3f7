//! What a barrier's snapshot is for — a checkpoint, or a savepoint in one of two formats —
//! carried by every [`CheckpointBarrier`](crate::network::event::CheckpointBarrier) so each
//! subtask writes the snapshot the coordinator asked for (Flink's `SnapshotType` and
//! `SavepointFormatType`).

use serde::{Deserialize, Serialize};

/// How a savepoint's state is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SavepointFormat {
    /// Every state backend writes the same layout (keyed state per state and key group as
    /// length-prefixed key and value bytes): self-contained, readable by every backend, slower
    /// to take for RocksDB. Flink's default, and weir's.
    #[default]
    Canonical,
    /// The state backend's own checkpoint layout (RocksDB: its SST files): faster to take and
    /// to restore into the same backend; still restorable into another one (converted then).
    Native,
}

/// What a barrier's snapshot is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SnapshotKind {
    /// A checkpoint: the state backend's own layout (incremental where configured).
    #[default]
    Checkpoint,
    /// A savepoint in `format`.
    Savepoint(SavepointFormat),
}

impl SnapshotKind {
    /// Whether the state must be written in the canonical format.
    pub fn is_canonical(self) -> bool {
        self == SnapshotKind::Savepoint(SavepointFormat::Canonical)
    }

    /// Whether the snapshot is a savepoint.
    pub fn is_savepoint(self) -> bool {
        matches!(self, SnapshotKind::Savepoint(_))
    }
}
