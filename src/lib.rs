//! # weir — stateful stream processing in one process
//!
//! weir runs a dataflow job as a topology of actix actors, one per operator subtask, with
//! Apache Flink's model: a DataStream API, keyed state, parallel subtasks connected by channels
//! under credit-based flow control (so memory stays bounded whatever the input size).
//!
//! ```
//! use weir::StreamEnvironment;
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

pub mod checkpoint_file;
pub mod checkpoint_storage;
pub mod checkpointing;
pub mod committed_sink;
mod cow_map;
pub mod datastream;
pub mod environment;
pub mod error;
mod graph;
pub mod keyed;
pub mod keyed_state;
pub mod operator;
pub mod operator_state;
pub mod partitioner;
pub mod rocksdb_incremental;
mod rocksdb_keyed;
pub mod rocksdb_store;
pub mod sink;
pub mod source;
pub mod state;
pub mod state_backend;
mod state_map;
pub mod stream_task;

pub use checkpointing::{RestoreError, RestoreReport};
pub use committed_sink::CommittedCollector;
pub use datastream::{CollectSink, DataStream, DataStreamSink, Key, KeyedStream, Record};
pub use environment::{EnvironmentConfig, StreamEnvironment};
pub use error::{BoxError, Error, GraphError, JobError, TaskError, TaskErrorKind, TaskFailure};
pub use keyed::{JobClock, KeyedProcessFunction, TimerService};
pub use keyed_state::{KeyedContext, RuntimeContext, ValueState};
pub use operator_state::{
    BroadcastProcessFunction, BroadcastState, BroadcastStateDescriptor, CheckpointedFunction,
    ListState as OperatorListState, OperatorStateContext, OperatorStateError, UnionListState,
};
pub use rocksdb_store::RocksDbOptions;
pub use sink::CollectHandle;
pub use state::{
    AggregateFunction, AggregatingState, KeyedStateError, ListState, MapState, ReducingState,
    StateTtlConfig, StateVisibility, TtlUpdateType,
};
pub use state_backend::{RocksDbStateBackend, StateBackend};
pub use weir_actors::checkpoint_config::{
    CheckpointConfig, CheckpointStorageConfig, CheckpointingMode, ExternalizedCheckpointRetention,
};
pub use weir_actors::checkpoint_stats::{
    CheckpointFailureReason, CheckpointStats, CheckpointStatus,
};
pub use weir_actors::configuration::{ConfigError, Configuration, FailoverStrategyKind};
pub use weir_actors::fault_injection::{Fault, FaultInjector, Target};

pub use weir_actors::restart_history::RestartRecord;
pub use weir_actors::restart_strategy::RestartStrategyConfig;
pub use weir_actors::{JobClient, JobResult, JobStatus, OperatorCount};

/// The runtime crate, for what the API does not wrap (metrics types, key-group functions).
pub use weir_actors as runtime;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
