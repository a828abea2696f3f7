//! [`StreamEnvironment`]: where a job is built and from where it runs.

use crate::checkpoint::restore::{check_compatible, default_job_id};
use crate::checkpoint::startup::{self, JobStorage};
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::datastream::{DataStream, Record};
use crate::error::Error;
use crate::error::GraphError;
use crate::graph::{Node, NodeKind, StreamGraph, TranslateOptions};
use crate::savepoint::uid_matching::warn_generated_uids;
use crate::source::split_driver::drive_split_source;
use crate::source::{
    erase_reader, FileSource, IterReader, NumberSequenceSource, SharedIter, SourceFactory,
    SourceReader, SplitSource, VecReader,
};
use crate::state::backend::{BackendSettings, StateBackend};
use crate::task::operator::OperatorInfo;
use crate::task::partitioner::router_factory;
use crate::time::job_clock::ClockBase;
use crate::TaskError;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir_actors::checkpoint::storage::CheckpointStorage;
use weir_actors::config::checkpoint_config::{CheckpointConfig, CheckpointStorageConfig};
use weir_actors::config::configuration::{FailoverStrategyKind, RecoveryClaimMode};
use weir_actors::graph::job_spec::{CheckpointingSpec, RestoredCheckpoint, RuntimeConfig};
use weir_actors::recovery::restart_strategy::RestartStrategyConfig;
use weir_actors::testing::fault_injection::FaultInjector;
use weir_actors::{JobClient, JobResult};

mod configure;
mod savepoint;

/// How a job runs; every setting has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// The job's name.
    pub job_name: String,
    /// Parallelism of operators that do not set their own; default: the number of cores.
    pub parallelism: u32,
    /// Number of key groups; default: derived from the largest parallelism as Flink derives it.
    pub max_parallelism: Option<u32>,
    /// Arbiter threads subtasks are spread over; 0 = one per core.
    pub arbiters: usize,
    /// Records a source reads per batch.
    pub batch_size: usize,
    /// Batch credits per channel: at most this many batches are in flight on any channel.
    pub credits_per_channel: u32,
    /// Deterministic mode's seed (one arbiter, paused clock), or none.
    pub deterministic_seed: Option<u64>,
}

impl Default for EnvironmentConfig {
    fn default() -> Self {
        EnvironmentConfig {
            job_name: "weir job".to_string(),
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            max_parallelism: None,
            arbiters: 0,
            batch_size: 1024,
            credits_per_channel: 4,
            deterministic_seed: None,
        }
    }
}

/// Builds a job's graph with sources and, through the streams they return, its operators and
/// sinks; then runs it with [`StreamEnvironment::execute`] or [`StreamEnvironment::spawn`].
pub struct StreamEnvironment {
    graph: Arc<Mutex<StreamGraph>>,
    config: EnvironmentConfig,
    checkpoint_config: CheckpointConfig,
    checkpoint_storage: Option<Arc<dyn CheckpointStorage>>,
    job_id: Option<String>,
    restore: Option<Arc<RestoredCheckpoint>>,
    allow_non_restored_state: bool,
    faults: Option<Arc<FaultInjector>>,
    restart_strategy: Option<RestartStrategyConfig>,
    failover: FailoverStrategyKind,
    state_backend: StateBackend,
    savepoint_dir: Option<std::path::PathBuf>,
    /// The checkpoint the job starts from, and the storage its files are read through.
    restored_from: Option<(weir_actors::CheckpointId, FileSystemCheckpointStorage)>,
    /// Whether `restored_from` was named by `restore_from_savepoint` (what `CLAIM` claims).
    restored_by_name: bool,
    claim_mode: RecoveryClaimMode,
}

impl Default for StreamEnvironment {
    fn default() -> Self {
        StreamEnvironment::new()
    }
}

impl StreamEnvironment {
    /// An environment with the default configuration.
    pub fn new() -> StreamEnvironment {
        StreamEnvironment::with_config(EnvironmentConfig::default())
    }

    /// An environment with `config`.
    pub fn with_config(config: EnvironmentConfig) -> StreamEnvironment {
        StreamEnvironment {
            graph: Arc::new(Mutex::new(StreamGraph::default())),
            config,
            checkpoint_config: CheckpointConfig::default(),
            checkpoint_storage: None,
            job_id: None,
            restore: None,
            allow_non_restored_state: false,
            faults: None,
            restart_strategy: None,
            failover: FailoverStrategyKind::Region,
            state_backend: StateBackend::HashMap,
            savepoint_dir: None,
            restored_from: None,
            restored_by_name: false,
            claim_mode: RecoveryClaimMode::NoClaim,
        }
    }

    /// Sets the restart strategy (Flink's `restart-strategy.type` and its parameters). Unset, a
    /// job restarts with exponential-delay when it checkpoints and never restarts otherwise.
    pub fn set_restart_strategy(&mut self, strategy: RestartStrategyConfig) -> &mut Self {
        self.restart_strategy = Some(strategy);
        self
    }

    /// Sets what a failure restarts: the failed subtask's pipelined region (the default) or every
    /// task (Flink's `jobmanager.execution.failover-strategy`: `region` or `full`).
    pub fn set_failover_strategy(&mut self, failover: FailoverStrategyKind) -> &mut Self {
        self.failover = failover;
        self
    }

    /// Injects the planned `faults` into the job (for test harnesses).
    pub fn set_fault_injector(&mut self, faults: FaultInjector) -> &mut Self {
        self.faults = Some(Arc::new(faults));
        self
    }

    /// Sets where keyed state lives (Flink's `state.backend.type`): [`StateBackend::HashMap`]
    /// (the default) or [`StateBackend::rocksdb()`]. Incremental checkpoints, for RocksDB, are
    /// a checkpoint setting (`checkpoint_config_mut().incremental`, Flink's
    /// `execution.checkpointing.incremental`) and need a checkpoint directory.
    pub fn set_state_backend(&mut self, backend: impl Into<StateBackend>) -> &mut Self {
        self.state_backend = backend.into();
        self
    }

    /// The job's state backend.
    pub fn state_backend(&self) -> &StateBackend {
        &self.state_backend
    }

    /// Turns on periodic checkpoints every `interval` (Flink's `enableCheckpointing`).
    pub fn enable_checkpointing(&mut self, interval: Duration) -> &mut Self {
        self.checkpoint_config.interval = Some(interval);
        self
    }

    /// The checkpoint settings, to change any of them.
    pub fn checkpoint_config_mut(&mut self) -> &mut CheckpointConfig {
        &mut self.checkpoint_config
    }

    /// The checkpoint settings.
    pub fn checkpoint_config(&self) -> &CheckpointConfig {
        &self.checkpoint_config
    }

    /// Replaces the checkpoint settings.
    pub fn set_checkpoint_config(&mut self, config: CheckpointConfig) -> &mut Self {
        self.checkpoint_config = config;
        self
    }

    /// Writes checkpoints under `dir` (as `<dir>/<job id>/chk-<n>/`).
    pub fn set_checkpoint_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.checkpoint_config.storage = Some(CheckpointStorageConfig::FileSystem(dir.into()));
        self
    }

    /// Writes checkpoints to `storage` instead of the configured one (e.g. one in-memory store
    /// shared by several runs in a test).
    pub fn set_checkpoint_storage(&mut self, storage: Arc<dyn CheckpointStorage>) -> &mut Self {
        self.checkpoint_storage = Some(storage);
        self
    }

    /// Sets the job id, the name of the job's checkpoint directory (default: from the job name).
    pub fn set_job_id(&mut self, job_id: &str) -> &mut Self {
        self.job_id = Some(job_id.to_string());
        self
    }

    /// The job id checkpoints are written under.
    pub fn job_id(&self) -> String {
        self.job_id
            .clone()
            .unwrap_or_else(|| default_job_id(&self.config.job_name))
    }

    /// Lets a restore skip checkpointed state whose operator uid the job no longer has.
    pub fn set_allow_non_restored_state(&mut self, allow: bool) -> &mut Self {
        self.allow_non_restored_state = allow;
        self
    }

    /// Whether a restore may skip state of operator uids the job no longer has.
    pub fn allow_non_restored_state(&self) -> bool {
        self.allow_non_restored_state
    }

    /// The restart strategy set in code or by configuration; `None` leaves Flink's default.
    pub fn restart_strategy(&self) -> Option<&RestartStrategyConfig> {
        self.restart_strategy.as_ref()
    }

    /// What a failure restarts.
    pub fn failover_strategy(&self) -> FailoverStrategyKind {
        self.failover
    }

    /// The configuration.
    pub fn config(&self) -> &EnvironmentConfig {
        &self.config
    }

    /// Sets the job's name.
    pub fn set_job_name(&mut self, name: &str) -> &mut Self {
        self.config.job_name = name.to_string();
        self
    }

    /// Sets the default parallelism.
    pub fn set_parallelism(&mut self, parallelism: u32) -> &mut Self {
        self.config.parallelism = parallelism;
        self
    }

    /// Sets the max parallelism (number of key groups), fixed for the job's whole life.
    pub fn set_max_parallelism(&mut self, max_parallelism: u32) -> &mut Self {
        self.config.max_parallelism = Some(max_parallelism);
        self
    }

    /// Sets the number of arbiter threads (0 = one per core).
    pub fn set_arbiters(&mut self, arbiters: usize) -> &mut Self {
        self.config.arbiters = arbiters;
        self
    }

    /// Sets the records per source batch (at least 1).
    pub fn set_batch_size(&mut self, batch_size: usize) -> &mut Self {
        self.config.batch_size = batch_size.max(1);
        self
    }

    /// Sets the batch credits per channel (at least 1).
    pub fn set_credits_per_channel(&mut self, credits: u32) -> &mut Self {
        self.config.credits_per_channel = credits.max(1);
        self
    }

    /// Runs in deterministic mode: one arbiter, tokio's clock paused and auto-advancing, and all
    /// randomness drawn from `seed`, so a run replays identically.
    pub fn set_deterministic(&mut self, seed: u64) -> &mut Self {
        self.config.deterministic_seed = Some(seed);
        self
    }

    fn add_source<T: Record>(
        &self,
        name: &str,
        single: bool,
        factory: SourceFactory,
    ) -> DataStream<T> {
        let node = self.graph.lock().add(Node {
            name: name.to_string(),
            uid: None,
            parallelism: None,
            kind: NodeKind::Source { factory, single },
            inputs: Vec::new(),
            router: router_factory::<T>(),
        });
        DataStream::from_node(self.graph.clone(), node)
    }

    /// A source from any [`SourceReader`], one built per subtask by `make`.
    pub fn add_source_reader<T: Record, R, F>(&self, name: &str, make: F) -> DataStream<T>
    where
        R: SourceReader<T>,
        F: Fn(&OperatorInfo) -> Result<R, TaskError> + Send + Sync + 'static,
    {
        self.add_source(
            name,
            false,
            Arc::new(move |info: &OperatorInfo| Ok(erase_reader(make(info)?, info))),
        )
    }

    /// The numbers `from..=to` (Flink's `fromSequence`): a [`NumberSequenceSource`], one
    /// contiguous run per subtask, each checkpointed with its next value and its end.
    pub fn generate_sequence(&self, from: u64, to: u64) -> DataStream<u64> {
        self.from_source(NumberSequenceSource::new(from, to), "Source: Sequence")
    }

    /// A stream from a [`SplitSource`] (Flink's `fromSource`): each subtask reads the splits it
    /// owns; their positions are checkpointed, and a restore hands every split to exactly one
    /// subtask.
    pub fn from_source<T: Record, S: SplitSource<T>>(
        &self,
        source: S,
        name: &str,
    ) -> DataStream<T> {
        let source = Arc::new(source);
        self.add_source(
            name,
            false,
            Arc::new(move |info: &OperatorInfo| drive_split_source(source.clone(), info)),
        )
    }

    /// The elements of `data`, in order; each subtask emits a contiguous share.
    pub fn from_vec<T: Record + Sync>(&self, data: Vec<T>) -> DataStream<T> {
        let data = Arc::new(data);
        self.add_source_reader("Source: Collection", move |info| {
            Ok(VecReader::new(
                data.clone(),
                info.subtask.index,
                info.subtask.parallelism,
            ))
        })
    }

    /// The items of `iter`, read by a single subtask, once (it cannot be replayed after a failure).
    pub fn from_iter<T: Record, I>(&self, iter: I) -> DataStream<T>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        let shared: SharedIter<T> = Arc::new(Mutex::new(Some(Box::new(iter.into_iter()))));
        self.add_source(
            "Source: Iterator",
            true,
            Arc::new(move |info: &OperatorInfo| {
                Ok(erase_reader(IterReader::take(&shared, info)?, info))
            }),
        )
    }

    /// The lines of the text file at `path` — each subtask those starting in its byte range —
    /// or of every file of the directory at `path`: a [`FileSource`].
    pub fn read_text_file(&self, path: impl Into<PathBuf>) -> DataStream<String> {
        self.from_source(FileSource::for_lines(path), "Source: Lines")
    }

    fn job_spec(&self) -> Result<weir_actors::graph::job_spec::JobSpec, Error> {
        if self.config.parallelism == 0 {
            return Err(GraphError::ZeroDefaultParallelism.into());
        }
        let graph = self.graph.lock().clone();
        // A restored job keeps the checkpoint's max parallelism unless one is set explicitly.
        let max_parallelism = self
            .config
            .max_parallelism
            .or_else(|| self.restore.as_ref().map(|r| r.metadata.max_parallelism));
        let job_id = self.job_id();
        // One storage instance for every write of the run (state, metadata, uploads).
        let storage = JobStorage::new(
            &self.checkpoint_config,
            &job_id,
            self.checkpoint_storage.clone(),
        );
        let mut spec = graph.translate(TranslateOptions {
            job_name: self.config.job_name.clone(),
            default_parallelism: self.config.parallelism,
            max_parallelism,
            batch_size: self.config.batch_size,
            runtime: RuntimeConfig {
                arbiters: self.config.arbiters,
                credits_per_channel: self.config.credits_per_channel,
                deterministic_seed: self.config.deterministic_seed,
            },
            backend: Arc::new(self.backend_settings(&storage)?),
        })?;
        if let Some(restored) = &self.restore {
            check_compatible(&spec, restored, self.allow_non_restored_state)?;
        }
        if self.checkpoint_config.is_enabled() || self.restore.is_some() {
            warn_generated_uids(&graph.job_operators(self.config.parallelism));
        }
        if let Some(strategy) = &self.restart_strategy {
            strategy.validate().map_err(|source| {
                Error::Config(
                    weir_actors::config::configuration::ConfigError::RestartStrategy {
                        strategy: strategy.flink_name(),
                        source,
                    },
                )
            })?;
        }
        if self.checkpoint_config.is_enabled() {
            self.checkpoint_config.validate().map_err(|e| {
                Error::Config(weir_actors::config::configuration::ConfigError::Checkpoint(
                    e,
                ))
            })?;
            // Last, once everything else is valid: the only step that touches the disk.
            let restored = self.restore.as_ref().map(|r| r.metadata.checkpoint_id);
            let first_checkpoint_id = startup::prepare(storage.storage.as_ref(), restored)?;
            spec.checkpointing = Some(CheckpointingSpec {
                config: self.checkpoint_config.clone(),
                savepoint_writer: Some(self.savepoint_writer(&storage)),
                storage: storage.storage,
                job_id,
                first_checkpoint_id,
                default_savepoint_dir: self.savepoint_dir.clone(),
                claimed: self.claimed_snapshot(),
            });
        }
        spec.restore = self.restore.clone();
        spec.faults = self.faults.clone();
        spec.restart_strategy = self.restart_strategy.clone();
        spec.failover = self.failover;
        Ok(spec)
    }

    /// What keyed operators need of the state backend; incremental RocksDB checkpoints need a
    /// checkpoint directory to upload their shared files to, through the job's `storage`.
    fn backend_settings(&self, storage: &JobStorage) -> Result<BackendSettings, Error> {
        #[cfg(not(feature = "rocksdb"))]
        if matches!(self.state_backend, StateBackend::RocksDb(_)) {
            let needed_by = "the RocksDB state backend".to_string();
            let feature = "rocksdb";
            return Err(GraphError::FeatureNotEnabled { feature, needed_by }.into());
        }
        let incremental = self.checkpoint_config.is_enabled()
            && self.checkpoint_config.incremental
            && matches!(self.state_backend, StateBackend::RocksDb(_));
        if incremental && storage.files.is_none() {
            return Err(GraphError::InvalidSetting {
                setting: "execution.checkpointing.incremental".into(),
                reason: "incremental RocksDB checkpoints need a checkpoint directory \
                         (set_checkpoint_dir or execution.checkpointing.dir)"
                    .into(),
            }
            .into());
        }
        let clock = match self.config.deterministic_seed {
            Some(_) => ClockBase::virtual_time(),
            None => ClockBase::wall(),
        };
        Ok(BackendSettings {
            backend: self.state_backend.clone(),
            incremental,
            storage: storage.files.clone(),
            clock,
            restored_from: self.restored_from.clone(),
        })
    }

    /// Starts the job and returns its client at once. The graph is checked first: an invalid
    /// graph is an error and nothing runs.
    pub fn spawn(&self) -> Result<JobClient, Error> {
        let spec = self.job_spec()?;
        Ok(weir_actors::launch(spec)?)
    }

    /// Runs the job to its end (bounded sources) and returns its per-operator counts. Works from
    /// any thread, inside or outside an actix system or a tokio runtime (it blocks the caller).
    pub fn execute(&self) -> Result<JobResult, Error> {
        Ok(self.spawn()?.wait_blocking()?)
    }
}
