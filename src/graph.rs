//! The stream graph the API builds, its validation, and its translation into the runtime's job
//! spec: forward edges between operators of equal parallelism are chained into one task (as Flink
//! chains them), so their records pass as batches in one subtask without crossing a channel.

mod chaining;
pub(crate) mod uid;

use crate::error::GraphError;
use crate::savepoint::uid_matching::JobOperator;
use crate::source::SourceFactory;
use crate::state::backend::BackendSettings;
use crate::task::operator::{OperatorFactory, OperatorInfo};
use crate::task::partitioner::{Partitioning, RouterFactory};
use crate::task::stream_task::StreamTask;
use std::collections::HashMap;
use std::sync::Arc;
use weir_actors::graph::job_spec::{JobSpec, RuntimeConfig, VertexSpec};
use weir_actors::graph::key_group::{default_max_parallelism, UPPER_BOUND_MAX_PARALLELISM};
use weir_actors::graph::task::{SubtaskInfo, Task, TaskFactory};
use weir_actors::TaskError;

/// What a node does.
#[derive(Clone)]
pub(crate) enum NodeKind {
    /// A source; `single` when it cannot run with more than one subtask.
    Source {
        factory: SourceFactory,
        single: bool,
    },
    /// An operator with inputs and an output.
    Operator(OperatorFactory),
    /// A sink: inputs, no output.
    Sink(OperatorFactory),
}

/// One input of a node: the producing node and how records are partitioned to it.
#[derive(Clone, Debug)]
pub(crate) struct Input {
    pub node: usize,
    pub partitioning: Partitioning,
}

/// One operator of the graph.
#[derive(Clone)]
pub(crate) struct Node {
    pub name: String,
    pub uid: Option<String>,
    pub parallelism: Option<u32>,
    pub kind: NodeKind,
    pub inputs: Vec<Input>,
    pub router: RouterFactory,
}

/// The graph built by the API, in creation order (which is a topological order).
#[derive(Clone, Default)]
pub(crate) struct StreamGraph {
    pub nodes: Vec<Node>,
}

/// Settings the translation needs.
pub(crate) struct TranslateOptions {
    pub job_name: String,
    pub default_parallelism: u32,
    pub max_parallelism: Option<u32>,
    pub batch_size: usize,
    pub runtime: RuntimeConfig,
    pub backend: Arc<BackendSettings>,
}

impl StreamGraph {
    pub fn add(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn uid(&self, i: usize) -> String {
        let n = &self.nodes[i];
        n.uid
            .clone()
            .unwrap_or_else(|| uid::generated_uid(i, &n.name))
    }

    /// Every operator of the graph as a restore matches it (uid, name, parallelism), in the
    /// graph's order.
    pub fn job_operators(&self, default_parallelism: u32) -> Vec<JobOperator> {
        (0..self.nodes.len())
            .map(|i| {
                let p = self.parallelism(i, default_parallelism);
                JobOperator::new(&self.uid(i), &self.nodes[i].name, p)
            })
            .collect()
    }

    fn parallelism(&self, i: usize, default: u32) -> u32 {
        let n = &self.nodes[i];
        match (&n.kind, n.parallelism) {
            (_, Some(p)) => p,
            (NodeKind::Source { single: true, .. }, None) => 1,
            _ => default,
        }
    }

    fn consumers(&self) -> Vec<usize> {
        let mut count = vec![0; self.nodes.len()];
        for n in &self.nodes {
            for input in &n.inputs {
                count[input.node] += 1;
            }
        }
        count
    }

    /// Checks the graph; returns each node's parallelism and the job's max parallelism.
    fn validate(&self, opts: &TranslateOptions) -> Result<(Vec<u32>, u32), GraphError> {
        if !self
            .nodes
            .iter()
            .any(|n| matches!(n.kind, NodeKind::Sink(_)))
        {
            return Err(GraphError::NoSink);
        }
        let parallelism: Vec<u32> = (0..self.nodes.len())
            .map(|i| self.parallelism(i, opts.default_parallelism))
            .collect();
        let max_parallelism = match opts.max_parallelism {
            Some(m) if m == 0 || m > UPPER_BOUND_MAX_PARALLELISM => {
                return Err(GraphError::MaxParallelismOutOfRange(m))
            }
            Some(m) => m,
            None => default_max_parallelism(parallelism.iter().copied().max().unwrap_or(1)),
        };
        let mut uids: HashMap<String, String> = HashMap::new();
        let consumers = self.consumers();
        for (i, n) in self.nodes.iter().enumerate() {
            let p = parallelism[i];
            if p == 0 {
                return Err(GraphError::ZeroParallelism {
                    operator: n.name.clone(),
                });
            }
            if p > max_parallelism {
                return Err(GraphError::ParallelismAboveMax {
                    operator: n.name.clone(),
                    parallelism: p,
                    max_parallelism,
                });
            }
            if let NodeKind::Source { single: true, .. } = n.kind {
                if p > 1 {
                    return Err(GraphError::NonParallelSource {
                        operator: n.name.clone(),
                        parallelism: p,
                    });
                }
            }
            if let Some(uid) = &n.uid {
                if let Some(first) = uids.insert(uid.clone(), n.name.clone()) {
                    return Err(GraphError::DuplicateUid {
                        uid: uid.clone(),
                        first,
                        second: n.name.clone(),
                    });
                }
            }
            if consumers[i] == 0 && !matches!(n.kind, NodeKind::Sink(_)) {
                return Err(GraphError::UnconnectedStream {
                    operator: n.name.clone(),
                });
            }
            for input in &n.inputs {
                if matches!(input.partitioning, Partitioning::Forward)
                    && parallelism[input.node] != p
                {
                    return Err(GraphError::InvalidSetting {
                        setting: format!("forward() into {}", n.name),
                        reason: format!(
                            "forward needs equal parallelism, but {} has {} and {} has {p}",
                            self.nodes[input.node].name, parallelism[input.node], n.name
                        ),
                    });
                }
            }
        }
        Ok((parallelism, max_parallelism))
    }

    /// Validates and translates the graph into the runtime's job spec.
    pub fn translate(&self, opts: TranslateOptions) -> Result<JobSpec, GraphError> {
        let (parallelism, max_parallelism) = self.validate(&opts)?;
        let (chain_of, chains) = self.chains(&parallelism);
        let (edges, out_partitionings) = self.chain_edges(&chain_of, &chains, &parallelism);
        let vertices = chains
            .iter()
            .enumerate()
            .map(|(c, chain)| VertexSpec {
                name: chain
                    .iter()
                    .map(|&i| self.nodes[i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> "),
                uid: self.uid(chain[0]),
                operator_uids: chain.iter().map(|&i| self.uid(i)).collect(),
                parallelism: parallelism[chain[0]],
                factory: self.chain_factory(
                    chain,
                    out_partitionings[c].clone(),
                    opts.batch_size,
                    opts.backend.clone(),
                ),
            })
            .collect();
        Ok(JobSpec {
            name: opts.job_name,
            vertices,
            edges,
            max_parallelism,
            runtime: opts.runtime,
            checkpointing: None,
            restore: None,
            faults: None,
            restart_strategy: None,
            failover: weir_actors::config::configuration::FailoverStrategyKind::Region,
        })
    }

    fn chain_factory(
        &self,
        chain: &[usize],
        partitionings: Vec<Partitioning>,
        batch_size: usize,
        backend: Arc<BackendSettings>,
    ) -> TaskFactory {
        let members: Vec<(String, String, NodeKind)> = chain
            .iter()
            .map(|&i| {
                (
                    self.nodes[i].name.clone(),
                    self.uid(i),
                    self.nodes[i].kind.clone(),
                )
            })
            .collect();
        let router = self.nodes[chain[chain.len() - 1]].router.clone();
        Arc::new(
            move |subtask: &SubtaskInfo| -> Result<Box<dyn Task>, TaskError> {
                let mut source = None;
                let mut operators = Vec::new();
                let (mut source_state, mut operator_states) = (Vec::new(), Vec::new());
                for (name, uid, kind) in &members {
                    let info = OperatorInfo {
                        name: name.clone(),
                        uid: uid.clone(),
                        subtask: subtask.clone(),
                        backend: backend.clone(),
                        // By the operator's own uid: its state is found whatever chain held it.
                        restored: (subtask.restored.as_ref())
                            .map(|r| r.operator_chain_states(uid))
                            .unwrap_or_default(),
                    };
                    match kind {
                        NodeKind::Source { factory, .. } => {
                            source = Some(factory(&info)?);
                            source_state = info.restored;
                        }
                        NodeKind::Operator(factory) | NodeKind::Sink(factory) => {
                            operators.push(factory(&info)?);
                            operator_states.push(info.restored);
                        }
                    }
                }
                let mut task = StreamTask {
                    source,
                    operators,
                    router: router(&partitionings, subtask.max_parallelism)?,
                    batch_size,
                };
                if subtask.restored.is_some() {
                    let operator_states: Vec<&[_]> =
                        operator_states.iter().map(Vec::as_slice).collect();
                    task.restore(subtask.index, &source_state, &operator_states)?;
                }
                Ok(Box::new(task))
            },
        )
    }
}
