//! # weir — stateful stream processing in one process
//!
//! weir runs a dataflow job as a topology of actix actors, one per operator subtask, with
//! Apache Flink's model: a DataStream API, keyed state, parallel subtasks connected by channels
//! under credit-based flow control (so memory stays bounded whatever the input size).
//!
//! The package is `weir-stream` (`cargo add weir-stream`); its library is `weir`, and
//! [`prelude`] holds what a job needs. The default feature `rocksdb` builds the RocksDB state
//! backend; without it nothing of RocksDB's C++ is built and only
//! [`StateBackend::HashMap`] is available.
//!
//! ```
//! use weir::prelude::*;
//!
//! let mut env = StreamEnvironment::new();
//! env.set_parallelism(2);
//! let evens = env
//!     .generate_sequence(1, 1000)
//!     .filter(|x| x % 2 == 0)
//!     .map(|x| x * 10)
//!     .collect();
//! env.execute().expect("job runs");
//! let mut out = evens.records();
//! out.sort();
//! assert_eq!(out.len(), 500);
//! assert_eq!(out[0], 20);
//! ```
#![deny(missing_docs)]

pub mod checkpoint;
pub mod datastream;
pub mod environment;
pub mod error;
mod graph;
pub mod operators;
pub mod prelude;
pub mod savepoint;
pub mod sink;
pub mod source;
pub mod state;
pub mod task;
pub mod time;

pub use checkpoint::restore::{RestoreError, RestoreReport};
pub use datastream::{CollectSink, DataStream, DataStreamSink, Key, KeyedStream, Record};
pub use environment::{EnvironmentConfig, StreamEnvironment};
pub use error::{
    BoxError, Error, GraphError, JobError, SuppressRestarts, TaskError, TaskErrorKind, TaskFailure,
};
pub use operators::keyed_process::KeyedProcessFunction;
pub use sink::committed_collector::CommittedCollector;
pub use sink::two_phase_commit::{
    TransactionId, TransactionStats, TwoPhaseCommitConfig, TwoPhaseCommitSink,
};
pub use sink::upsert::UpsertSink;
pub use sink::write_ahead::{BatchOutcome, WriteAheadSink};
pub use sink::{CollectHandle, SinkWriter};
pub use state::backend::{RocksDbStateBackend, StateBackend};
pub use state::operator::{
    BroadcastProcessFunction, BroadcastState, BroadcastStateDescriptor, CheckpointedFunction,
    ListState as OperatorListState, OperatorStateContext, OperatorStateError, UnionListState,
};
pub use state::rocksdb::store::RocksDbOptions;
pub use state::{
    AggregateFunction, AggregatingState, KeyedContext, KeyedStateError, ListState, MapState,
    ReducingState, RuntimeContext, StateTtlConfig, StateVisibility, TtlUpdateType, TypeIdentity,
    ValueState,
};
pub use task::operator::{Operator, OperatorInfo, StateWriter};
pub use time::timer_service::{JobClock, TimerService};
pub use weir_actors::checkpoint::stats::{
    CheckpointFailureReason, CheckpointStats, CheckpointStatus, CheckpointSubtask, DeclineCause,
    FailureSource,
};
pub use weir_actors::config::checkpoint_config::{
    CheckpointConfig, CheckpointStorageConfig, CheckpointingMode, ExternalizedCheckpointRetention,
};
pub use weir_actors::config::configuration::{
    ConfigError, Configuration, FailoverStrategyKind, RecoveryClaimMode,
};
pub use weir_actors::graph::task::{SourceStatus, SubtaskInfo};
pub use weir_actors::recovery::failure_cause::FailureCause;
pub use weir_actors::recovery::restart_history::RestartRecord;
pub use weir_actors::recovery::restart_strategy::RestartStrategyConfig;
pub use weir_actors::testing::fault_injection::{Fault, FaultInjector, Target};
pub use weir_actors::{CheckpointId, CtrlCError, JobClient, JobResult, JobStatus, OperatorCount};

/// The runtime crate, for what the API does not wrap (metrics types, key-group functions).
pub use weir_actors as runtime;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
