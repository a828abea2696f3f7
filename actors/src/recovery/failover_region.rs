//! Pipelined regions: the vertices a failure restarts under `restart-pipelined-region` failover.
//! In a streaming job every edge is pipelined, so a region is a connected component of the job
//! graph (edges taken as undirected).

use crate::graph::job_spec::EdgeSpec;

/// The region of each vertex: `regions[v]` is the id of `v`'s region (the smallest vertex index
/// in it), for `vertices` vertices connected by `edges`.
pub fn pipelined_regions(vertices: usize, edges: &[EdgeSpec]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..vertices).collect();
    fn find(parent: &mut [usize], mut v: usize) -> usize {
        while parent[v] != v {
            parent[v] = parent[parent[v]];
            v = parent[v];
        }
        v
    }
    for e in edges {
        if e.source >= vertices || e.target >= vertices {
            continue;
        }
        let (a, b) = (find(&mut parent, e.source), find(&mut parent, e.target));
        if a != b {
            let (low, high) = if a < b { (a, b) } else { (b, a) };
            parent[high] = low;
        }
    }
    (0..vertices).map(|v| find(&mut parent, v)).collect()
}

/// The vertices in the same region as `vertex`.
pub fn region_of(regions: &[usize], vertex: usize) -> Vec<usize> {
    let Some(&region) = regions.get(vertex) else {
        return Vec::new();
    };
    (0..regions.len())
        .filter(|&v| regions[v] == region)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::job_spec::ChannelPattern;

    fn edge(source: usize, target: usize) -> EdgeSpec {
        EdgeSpec {
            source,
            target,
            target_gate: 0,
            pattern: ChannelPattern::AllToAll,
        }
    }

    #[test]
    fn two_disconnected_pipelines_are_two_regions() {
        let regions = pipelined_regions(4, &[edge(0, 1), edge(2, 3)]);
        assert_eq!(regions, vec![0, 0, 2, 2]);
        assert_eq!(region_of(&regions, 3), vec![2, 3]);
    }

    #[test]
    fn a_union_joins_its_inputs_into_one_region() {
        let regions = pipelined_regions(3, &[edge(0, 2), edge(1, 2)]);
        assert_eq!(regions, vec![0, 0, 0]);
    }

    #[test]
    fn a_vertex_without_edges_is_its_own_region() {
        let regions = pipelined_regions(3, &[edge(1, 2)]);
        assert_eq!(region_of(&regions, 0), vec![0]);
        assert_eq!(region_of(&regions, 2), vec![1, 2]);
    }
}
