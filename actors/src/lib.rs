//! # weir-actors — the runtime under weir
//!
//! This crate knows *when* things happen in a job: records flow between subtask actors under
//! credit-based flow control, barriers align, checkpoints complete, tasks fail and restart. It does
//! not know *what* a task computes or how its state is stored: the `weir` crate implements the
//! [`task::Task`] trait and hands the runtime a [`job::JobSpec`].
//!
//! Pure protocol parts (credit accounting, key groups, restart strategies, configuration) are plain
//! structs with dense unit tests; actors only move messages, run timers and do I/O.
#![deny(missing_docs)]

pub mod barrier_aligner;
pub mod channel;
pub mod checkpoint_config;
pub mod checkpoint_stats;
pub mod checkpoint_storage;
pub mod client;
pub mod configuration;
pub mod coordinator;
pub mod deployment;
pub mod error;
pub mod event;
pub mod fault_injection;
pub mod job;
pub mod key_group;
pub mod metrics;
pub mod pending_checkpoint;
pub mod region;
pub mod restart_history;
pub mod restart_strategy;
pub mod subtask;
pub mod subtask_checkpoint;
pub mod supervisor;
pub mod task;

mod config_error;
mod config_keys;
mod config_values;
mod exponential_delay;
mod splitmix64;

pub use client::{launch, JobClient, JobResult, JobStatus, OperatorCount};
pub use error::{JobError, SubtaskId, TaskError, TaskErrorKind, TaskFailure};
pub use event::{Batch, CheckpointId};
