//! How a task's output records are spread over the channels of each output edge: forward,
//! rebalance (round-robin), broadcast, or by key group (`hash(key) mod max_parallelism`, then the
//! key group's owning subtask, as Flink's `KeyGroupStreamPartitioner`).

use crate::error::{TaskError, TaskErrorKind};
use std::any::Any;
use std::sync::Arc;
use weir_actors::graph::key_group::KeyGroupAssigner;
use weir_actors::network::channel::Outputs;
use weir_actors::Batch;

/// The stable hash of a record's key, as a key-group partitioner needs it.
pub type KeyHashFn<T> = Arc<dyn Fn(&T) -> u64 + Send + Sync>;

/// How records go from one operator to the next.
#[derive(Clone)]
pub enum Partitioning {
    /// Forward when both sides have the same parallelism, rebalance otherwise (Flink's default).
    Default,
    /// Subtask `i` to subtask `i`.
    Forward,
    /// Round-robin over every downstream subtask.
    Rebalance,
    /// Every record to every downstream subtask.
    Broadcast,
    /// By key group; holds a [`KeyHashFn`] of the stream's record type.
    KeyGroups(Arc<dyn Any + Send + Sync>),
}

impl std::fmt::Debug for Partitioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Partitioning::Default => "Default",
            Partitioning::Forward => "Forward",
            Partitioning::Rebalance => "Rebalance",
            Partitioning::Broadcast => "Broadcast",
            Partitioning::KeyGroups(_) => "KeyGroups",
        })
    }
}

/// Routes a task's output batches to its output edges.
pub trait ErasedRouter: Send {
    /// Splits `batch` over every output edge's channels and sends it.
    fn route(&mut self, batch: Batch, out: &mut Outputs) -> Result<(), TaskError>;
}

/// Builds the router of a task whose last operator emits `T`, one partitioning per output edge.
pub type RouterFactory =
    Arc<dyn Fn(&[Partitioning], u32) -> Result<Box<dyn ErasedRouter>, TaskError> + Send + Sync>;

enum EdgeRoute<T> {
    Single,
    Rebalance { next: usize },
    Broadcast,
    Keyed(KeyHashFn<T>),
}

struct TypedRouter<T> {
    edges: Vec<EdgeRoute<T>>,
    /// Key group and owning subtask of a key hash (the one assigner state uses too).
    assigner: KeyGroupAssigner,
}

/// A [`RouterFactory`] for records of type `T`.
pub fn router_factory<T: Clone + Send + 'static>() -> RouterFactory {
    Arc::new(|partitionings: &[Partitioning], max_parallelism: u32| {
        let mut edges = Vec::with_capacity(partitionings.len());
        for p in partitionings {
            edges.push(match p {
                Partitioning::Default | Partitioning::Forward => EdgeRoute::Single,
                Partitioning::Rebalance => EdgeRoute::Rebalance { next: 0 },
                Partitioning::Broadcast => EdgeRoute::Broadcast,
                Partitioning::KeyGroups(f) => match f.downcast_ref::<KeyHashFn<T>>() {
                    Some(f) => EdgeRoute::Keyed(f.clone()),
                    None => {
                        return Err(TaskError::new(
                            TaskErrorKind::Internal,
                            "key selector of an unexpected record type",
                        ))
                    }
                },
            });
        }
        Ok(Box::new(TypedRouter::<T> {
            edges,
            assigner: KeyGroupAssigner::new(max_parallelism),
        }) as Box<dyn ErasedRouter>)
    })
}

impl<T: Clone + Send + 'static> TypedRouter<T> {
    fn route_edge(&mut self, edge: usize, records: Vec<T>, out: &mut Outputs) {
        let channels = out.channel_count(edge);
        if channels == 0 || records.is_empty() {
            return;
        }
        let assigner = self.assigner;
        match &mut self.edges[edge] {
            EdgeRoute::Single => out.send(edge, 0, Batch::new(records)),
            EdgeRoute::Broadcast => {
                for channel in 1..channels {
                    out.send(edge, channel, Batch::new(records.clone()));
                }
                out.send(edge, 0, Batch::new(records));
            }
            EdgeRoute::Rebalance { next } => {
                let mut parts = split_vecs(channels, records.len());
                for r in records {
                    parts[*next].push(r);
                    *next = (*next + 1) % channels;
                }
                send_parts(edge, parts, out);
            }
            EdgeRoute::Keyed(key_hash) => {
                let mut parts = split_vecs(channels, records.len());
                let p = channels as u32;
                for r in records {
                    let group = assigner.key_group_of_hash(key_hash(&r));
                    parts[assigner.operator_index(group, p) as usize].push(r);
                }
                send_parts(edge, parts, out);
            }
        }
    }
}

fn split_vecs<T>(channels: usize, total: usize) -> Vec<Vec<T>> {
    (0..channels)
        .map(|_| Vec::with_capacity(total / channels + 16))
        .collect()
}

fn send_parts<T: Send + 'static>(edge: usize, parts: Vec<Vec<T>>, out: &mut Outputs) {
    for (channel, part) in parts.into_iter().enumerate() {
        out.send(edge, channel, Batch::new(part));
    }
}

impl<T: Clone + Send + 'static> ErasedRouter for TypedRouter<T> {
    fn route(&mut self, batch: Batch, out: &mut Outputs) -> Result<(), TaskError> {
        if self.edges.is_empty() {
            return Ok(());
        }
        let records = batch.downcast::<T>().map_err(|_| {
            TaskError::new(
                TaskErrorKind::Internal,
                "output batch of an unexpected type",
            )
        })?;
        let last = self.edges.len() - 1;
        for edge in 0..last {
            self.route_edge(edge, records.clone(), out);
        }
        self.route_edge(last, records, out);
        Ok(())
    }
}
