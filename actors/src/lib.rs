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
//!
//! # Layout
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`graph`] | the job as the runtime sees it: job spec, the task trait, subtask keys, key groups |
//! | [`network`] | records and barriers between subtasks: batches, credit-based input and output channels |
//! | [`checkpoint`] | the pure checkpoint protocol: barrier alignment, pending checkpoints, trigger scheduling, retention, failure counting, the coordinator's core, storage trait, statistics |
//! | [`recovery`] | restart strategies, failover regions, restart history |
//! | [`config`] | Flink-style configuration keys and their typed values |
//! | [`testing`] | fault injection for harnesses |
//! | `actors` | the edge: the subtask, coordinator and supervisor actors and the job client |

mod actors;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod graph;
pub mod metrics;
pub mod network;
pub mod recovery;
mod splitmix64;
pub mod testing;

pub use actors::client::{launch, CtrlCError, JobClient};
pub use actors::job_result::{JobResult, OperatorCount};
pub use actors::job_status::JobStatus;
pub use error::{JobError, SubtaskId, TaskError, TaskErrorKind, TaskFailure};
pub use network::event::{Batch, CheckpointId};
pub use recovery::failure_cause::FailureCause;
