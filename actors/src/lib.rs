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

pub mod checkpoint_config;
pub mod configuration;
pub mod restart_strategy;
pub mod channel;
pub mod client;
pub mod error;
pub mod event;
pub mod job;
pub mod key_group;
pub mod metrics;
pub mod subtask;
pub mod supervisor;
pub mod task;

pub use client::{launch, JobClient, JobResult, JobStatus, OperatorCount};
pub use error::{JobError, SubtaskId, TaskError, TaskErrorKind, TaskFailure};
pub use event::{Batch, CheckpointId};
