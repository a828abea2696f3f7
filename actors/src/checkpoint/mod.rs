//! The checkpoint protocol as plain structs that return decisions: barrier alignment, pending
//! checkpoints, the storage trait and checkpoint statistics.

pub mod barrier_aligner;
pub mod pending_checkpoint;
pub mod stats;
pub mod storage;
