//! Chaining: which operators run in one task (a forward edge between operators of equal
//! parallelism whose upstream has no other consumer, as Flink chains them), and the edges that
//! remain between the chains.

use super::StreamGraph;
use crate::task::partitioner::Partitioning;
use weir_actors::graph::job_spec::{ChannelPattern, EdgeSpec};

impl StreamGraph {
    /// Each node's chain, and the chains as lists of nodes in chain order.
    pub(super) fn chains(&self, parallelism: &[u32]) -> (Vec<usize>, Vec<Vec<usize>>) {
        let consumers = self.consumers();
        // Chain each node onto its single input when the edge is a forward one.
        let mut chain_of = vec![0usize; self.nodes.len()];
        let mut chains: Vec<Vec<usize>> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let chained_to = match n.inputs.as_slice() {
                [input]
                    if consumers[input.node] == 1
                        && parallelism[input.node] == parallelism[i]
                        && matches!(
                            input.partitioning,
                            Partitioning::Default | Partitioning::Forward
                        )
                        && chains[chain_of[input.node]].last() == Some(&input.node) =>
                {
                    Some(chain_of[input.node])
                }
                _ => None,
            };
            match chained_to {
                Some(c) => {
                    chains[c].push(i);
                    chain_of[i] = c;
                }
                None => {
                    chain_of[i] = chains.len();
                    chains.push(vec![i]);
                }
            }
        }
        (chain_of, chains)
    }

    /// The edges between `chains`, in the order of their heads' inputs, and each chain's output
    /// partitionings in the same order.
    pub(super) fn chain_edges(
        &self,
        chain_of: &[usize],
        chains: &[Vec<usize>],
        parallelism: &[u32],
    ) -> (Vec<EdgeSpec>, Vec<Vec<Partitioning>>) {
        // Edges between chains, in the order of their heads' inputs.
        let mut edges = Vec::new();
        let mut out_partitionings: Vec<Vec<Partitioning>> = vec![Vec::new(); chains.len()];
        for chain in chains {
            let head = chain[0];
            for input in &self.nodes[head].inputs {
                if chain_of[input.node] == chain_of[head] {
                    continue;
                }
                let equal = parallelism[input.node] == parallelism[head];
                let resolved = match &input.partitioning {
                    Partitioning::Default if equal => Partitioning::Forward,
                    Partitioning::Default => Partitioning::Rebalance,
                    other => other.clone(),
                };
                let pattern = match resolved {
                    Partitioning::Forward => ChannelPattern::Pointwise,
                    _ => ChannelPattern::AllToAll,
                };
                let source = chain_of[input.node];
                edges.push(EdgeSpec {
                    source,
                    target: chain_of[head],
                    target_gate: 0,
                    pattern,
                });
                out_partitionings[source].push(resolved);
            }
        }
        (edges, out_partitionings)
    }
}
