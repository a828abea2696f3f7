//! A job as the runtime sees it: tasks (vertices) with a factory each, and the edges between them.

use crate::checkpoint::storage::CheckpointStorage;
use crate::config::checkpoint_config::CheckpointConfig;
use crate::error::SubtaskId;
pub use crate::graph::restored_checkpoint::RestoredCheckpoint;
use crate::graph::task::TaskFactory;
use std::sync::Arc;

/// How the subtasks of an edge's two ends are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelPattern {
    /// Every upstream subtask has a channel to every downstream subtask.
    AllToAll,
    /// Upstream subtask `i` feeds downstream subtask `i` only (equal parallelism).
    Pointwise,
}

/// One task of the job: `parallelism` subtasks built by `factory`.
#[derive(Clone)]
pub struct VertexSpec {
    /// Name shown in errors and metrics (chained operators' names joined by ` -> `).
    pub name: String,
    /// Uid of the task's first operator.
    pub uid: String,
    /// Number of subtasks.
    pub parallelism: u32,
    /// Uids of the task's chained operators, in chain order.
    pub operator_uids: Vec<String>,
    /// Builds one subtask's task.
    pub factory: TaskFactory,
}

/// A data edge between two tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeSpec {
    /// Upstream vertex index.
    pub source: usize,
    /// Downstream vertex index.
    pub target: usize,
    /// Which input gate of the downstream task it feeds.
    pub target_gate: usize,
    /// How subtasks connect.
    pub pattern: ChannelPattern,
}

/// How the runtime runs a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Arbiter threads the subtasks are spread over; 0 means one per core.
    pub arbiters: usize,
    /// Batch credits each input channel grants its sender.
    pub credits_per_channel: u32,
    /// Deterministic mode: every actor on one arbiter, tokio's clock paused and auto-advancing,
    /// all randomness from this seed.
    pub deterministic_seed: Option<u64>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            arbiters: 0,
            credits_per_channel: 4,
            deterministic_seed: None,
        }
    }
}

/// How a job checkpoints.
#[derive(Clone)]
pub struct CheckpointingSpec {
    /// Interval, mode, timeouts, retention…
    pub config: CheckpointConfig,
    /// Where checkpoints go.
    pub storage: Arc<dyn CheckpointStorage>,
    /// The job's id (its directory under the checkpoint directory).
    pub job_id: String,
    /// The id the run's first checkpoint takes: above every id the storage holds and the
    /// restored checkpoint's, so no checkpoint of an earlier run is overwritten. Found before
    /// the job launches, where a storage that cannot be listed stops it.
    pub first_checkpoint_id: crate::network::event::CheckpointId,
    /// What copies a checkpoint into a savepoint; `None` refuses every savepoint.
    pub savepoint_writer: Option<Arc<dyn crate::checkpoint::savepoint::SavepointWriter>>,
    /// Where a savepoint goes when none is named (`execution.checkpointing.savepoint-dir`).
    pub default_savepoint_dir: Option<std::path::PathBuf>,
    /// The snapshot the job restored from, when it claimed it (`CLAIM`): retained as the job's
    /// oldest checkpoint and disposed of once subsumed. `None` in `NO_CLAIM` mode.
    pub claimed: Option<crate::checkpoint::savepoint::ClaimedSnapshot>,
}

/// Everything the runtime needs to run a job.
#[derive(Clone)]
pub struct JobSpec {
    /// The job's name.
    pub name: String,
    /// Its tasks, in topological order (every edge goes from a lower to a higher index).
    pub vertices: Vec<VertexSpec>,
    /// Its edges.
    pub edges: Vec<EdgeSpec>,
    /// Number of key groups.
    pub max_parallelism: u32,
    /// Runtime settings.
    pub runtime: RuntimeConfig,
    /// Checkpointing, when enabled.
    pub checkpointing: Option<CheckpointingSpec>,
    /// The checkpoint the job starts from, if any; new checkpoints continue after its id.
    pub restore: Option<Arc<RestoredCheckpoint>>,
    /// Faults to inject (test harnesses).
    pub faults: Option<Arc<crate::testing::fault_injection::FaultInjector>>,
    /// Restart strategy; `None` means Flink's default (exponential-delay with checkpointing, no
    /// restart without).
    pub restart_strategy: Option<crate::recovery::restart_strategy::RestartStrategyConfig>,
    /// What a failure restarts.
    pub failover: crate::config::configuration::FailoverStrategyKind,
}

impl JobSpec {
    /// The output edges of `vertex`, in the order the task's output edge indices refer to them.
    pub fn output_edges(&self, vertex: usize) -> Vec<&EdgeSpec> {
        self.edges.iter().filter(|e| e.source == vertex).collect()
    }

    /// The channel count of each output edge of `vertex`.
    pub fn output_channel_counts(&self, vertex: usize) -> Vec<usize> {
        self.output_edges(vertex)
            .iter()
            .map(|e| match e.pattern {
                ChannelPattern::AllToAll => self.vertices[e.target].parallelism as usize,
                ChannelPattern::Pointwise => 1,
            })
            .collect()
    }

    /// Whether `vertex` is a source (no input edge).
    pub fn is_source(&self, vertex: usize) -> bool {
        !self.edges.iter().any(|e| e.target == vertex)
    }

    /// How `vertex`'s subtask `index` is named in errors.
    pub fn subtask_id(&self, vertex: usize, index: u32) -> SubtaskId {
        let v = &self.vertices[vertex];
        SubtaskId {
            task: v.name.clone(),
            uid: v.uid.clone(),
            index,
            parallelism: v.parallelism,
        }
    }
}
