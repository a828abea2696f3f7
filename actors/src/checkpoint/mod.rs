//! The checkpoint protocol as plain structs that return decisions: barrier alignment, pending
//! checkpoints, trigger gating, retention, failure counting, the coordinator's protocol behind
//! a context trait, the storage trait and checkpoint statistics.
//!
//! Public: what a task, a storage or a harness sees ([`barrier_aligner`], [`pending_checkpoint`],
//! [`failure_reason`], [`stats`], [`storage`], [`savepoint`], [`snapshot_kind`]). Crate-private: the coordinator's cores
//! (`scheduler`, `completed_checkpoint_store`, `failure_manager`, `checkpoint_plan`,
//! `late_message`, `coordinator_context`, `checkpoint_coordinator`), which only the coordinator
//! actor drives.

pub mod barrier_aligner;
pub(crate) mod checkpoint_coordinator;
pub(crate) mod checkpoint_plan;
pub(crate) mod completed_checkpoint_store;
pub(crate) mod coordinator_context;
pub(crate) mod failure_manager;
pub mod failure_reason;
pub(crate) mod late_message;
pub mod pending_checkpoint;
pub mod savepoint;
pub(crate) mod scheduler;
pub mod snapshot_kind;
pub mod stats;
pub mod storage;
