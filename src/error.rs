//! weir's error types. Every error names the operator, the state or the file involved.

pub use weir_actors::{JobError, SubtaskId, TaskError, TaskErrorKind, TaskFailure};

/// The error user functions may return; it fails the subtask with [`TaskErrorKind::User`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error no restart can cure (Flink's `SuppressRestartsException`): returned by a source,
/// sink or function, it fails the job at once with [`TaskErrorKind::SuppressRestarts`],
/// whatever the restart strategy — a topic that does not exist, a setting the server refuses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SuppressRestarts(pub BoxError);

impl SuppressRestarts {
    /// Wraps `error`.
    pub fn new(error: impl Into<BoxError>) -> SuppressRestarts {
        SuppressRestarts(error.into())
    }

    /// The kind a task error of `error` gets: [`TaskErrorKind::SuppressRestarts`] when it is a
    /// [`SuppressRestarts`], else `otherwise`.
    pub fn kind_of(error: &BoxError, otherwise: TaskErrorKind) -> TaskErrorKind {
        match error.is::<SuppressRestarts>() {
            true => TaskErrorKind::SuppressRestarts,
            false => otherwise,
        }
    }
}

/// A job graph that cannot run, found by `execute` before anything starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// The job has no sink, so it would compute nothing observable.
    #[error("the job has no sink: add one (collect, print, discard, write_lines) before execute")]
    NoSink,
    /// A parallelism of 0.
    #[error("operator {operator} has parallelism 0; it must be at least 1")]
    ZeroParallelism {
        /// The operator's name.
        operator: String,
    },
    /// The environment's default parallelism is 0 (`set_parallelism(0)`,
    /// `EnvironmentConfig::parallelism`).
    #[error("the environment's default parallelism is 0 (StreamEnvironment::set_parallelism or EnvironmentConfig::parallelism); it must be at least 1")]
    ZeroDefaultParallelism,
    /// A parallelism above the job's max parallelism.
    #[error("operator {operator} has parallelism {parallelism}, above the max parallelism {max_parallelism}")]
    ParallelismAboveMax {
        /// The operator's name.
        operator: String,
        /// Its parallelism.
        parallelism: u32,
        /// The job's max parallelism.
        max_parallelism: u32,
    },
    /// A max parallelism out of Flink's range 1..=32768.
    #[error("max parallelism {0} is out of range 1..=32768")]
    MaxParallelismOutOfRange(u32),
    /// Two operators with the same uid.
    #[error("uid {uid:?} is used by both {first} and {second}; uids must be unique")]
    DuplicateUid {
        /// The uid.
        uid: String,
        /// The first operator using it.
        first: String,
        /// The second operator using it.
        second: String,
    },
    /// A stream whose records go nowhere.
    #[error("the output of operator {operator} is not connected to any operator or sink")]
    UnconnectedStream {
        /// The operator whose output is unused.
        operator: String,
    },
    /// A source that can only run as one subtask was given more.
    #[error(
        "source {operator} reads a single iterator and cannot run with parallelism {parallelism}"
    )]
    NonParallelSource {
        /// The source's name.
        operator: String,
        /// The parallelism asked for.
        parallelism: u32,
    },
    /// The job needs a cargo feature of weir this build does not have (`rocksdb` for
    /// [`StateBackend::RocksDb`](crate::StateBackend::RocksDb)).
    #[error("{needed_by} needs weir's `{feature}` cargo feature, which this build does not have")]
    FeatureNotEnabled {
        /// The feature.
        feature: &'static str,
        /// What needs it.
        needed_by: String,
    },
    /// A configuration value the graph cannot use.
    #[error("invalid setting {setting}: {reason}")]
    InvalidSetting {
        /// The setting.
        setting: String,
        /// Why.
        reason: String,
    },
}

/// Every error weir's API returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The job graph is invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The job ran and failed, or was cancelled.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The checkpoint to restore from cannot be used.
    #[error(transparent)]
    Restore(#[from] crate::checkpoint::restore::RestoreError),
    /// A configuration key or value is invalid.
    #[error(transparent)]
    Config(#[from] weir_actors::config::configuration::ConfigError),
    /// The checkpoint storage cannot be used: found as the job starts, before anything runs.
    #[error(transparent)]
    Storage(#[from] crate::checkpoint::startup::StorageStartError),
    /// A savepoint cannot be taken, found or disposed of.
    #[error(transparent)]
    Savepoint(#[from] crate::savepoint::SavepointError),
}
