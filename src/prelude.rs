//! What a job needs, in one import: `use weir::prelude::*;`.
//!
//! The environment and streams, the function traits and state handles, custom sources,
//! operators and sinks (with the runtime types their hooks take: [`SourceStatus`],
//! [`CheckpointId`], [`StateWriter`], [`OperatorInfo`]), the settings a job is configured
//! with, the job's client and result, and the errors. Nothing here needs `weir::runtime`.
//!
//! ```
//! use weir::prelude::*;
//!
//! /// A sink that counts what it receives.
//! struct Count(std::sync::Arc<std::sync::atomic::AtomicU64>);
//!
//! impl SinkWriter<u64> for Count {
//!     fn write(&mut self, _: u64) -> Result<(), BoxError> {
//!         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> Result<(), Error> {
//!     let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
//!     let env = StreamEnvironment::new();
//!     let target = seen.clone();
//!     env.generate_sequence(1, 100)
//!         .sink_to(move |_| Ok(Count(target.clone())))
//!         .name("count");
//!     env.execute()?;
//!     assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 100);
//!     Ok(())
//! }
//! ```

pub use crate::checkpoint::restore::{RestoreError, RestoreReport};
pub use crate::datastream::{CollectSink, DataStream, DataStreamSink, Key, KeyedStream, Record};
pub use crate::environment::{EnvironmentConfig, StreamEnvironment};
pub use crate::error::{
    BoxError, Error, GraphError, JobError, SuppressRestarts, TaskError, TaskErrorKind,
};
pub use crate::operators::keyed_process::KeyedProcessFunction;
pub use crate::sink::committed_collector::CommittedCollector;
pub use crate::sink::two_phase_commit::{
    TransactionId, TransactionStats, TwoPhaseCommitConfig, TwoPhaseCommitSink,
};
pub use crate::sink::upsert::UpsertSink;
pub use crate::sink::write_ahead::{BatchOutcome, WriteAheadSink};
pub use crate::sink::{CollectHandle, SinkWriter};
pub use crate::source::{
    Boundedness, FileSource, SourceReader, SourceSplit, SplitReader, SplitReaderContext,
    SplitSource,
};
pub use crate::state::backend::{RocksDbStateBackend, StateBackend};
pub use crate::state::operator::{
    BroadcastContext, BroadcastProcessFunction, BroadcastState, BroadcastStateDescriptor,
    CheckpointedFunction, ListState as OperatorListState, OperatorStateContext, ReadOnlyContext,
    UnionListState,
};
pub use crate::state::{
    AggregateFunction, AggregatingState, KeyedContext, ListState, MapState, ReducingState,
    RuntimeContext, StateTtlConfig, StateVisibility, TtlUpdateType, TypeIdentity, ValueState,
};
pub use crate::task::operator::{Operator, OperatorInfo, StateWriter};
pub use crate::time::timer_service::TimerService;
pub use weir_actors::config::checkpoint_config::{
    CheckpointConfig, CheckpointingMode, ExternalizedCheckpointRetention,
};
pub use weir_actors::config::configuration::Configuration;
pub use weir_actors::graph::task::{SourceStatus, SubtaskInfo};
pub use weir_actors::recovery::restart_strategy::RestartStrategyConfig;
pub use weir_actors::{CheckpointId, CtrlCError, JobClient, JobResult, JobStatus};
