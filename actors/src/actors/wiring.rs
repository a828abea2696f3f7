//! Wiring a job's subtasks: every edge's output channels to its consumers and input channels with
//! the way back to its producers for credits.

use crate::actors::messages::Wire;
use crate::actors::subtask::SubtaskActor;
use crate::graph::job_spec::{ChannelPattern, JobSpec};
use crate::metrics::MetricsRegistry;
use crate::network::channel::{InputChannel, OutputChannel, Outputs};
use actix::Addr;

/// Sends each subtask of `vertices` its [`Wire`] message: output channels to its consumers, input
/// channels with the way back to its producers for credits. Only edges with both ends in
/// `vertices` are wired (a region is wired on its own when it restarts).
pub(crate) fn wire(
    spec: &JobSpec,
    actors: &[Vec<Addr<SubtaskActor>>],
    metrics: &MetricsRegistry,
    vertices: &[usize],
) {
    // inputs[vertex][subtask] collects input channels in edge order, then upstream subtask order.
    let mut inputs: Vec<Vec<Vec<InputChannel>>> = spec
        .vertices
        .iter()
        .map(|v| (0..v.parallelism).map(|_| Vec::new()).collect())
        .collect();
    let mut outputs: Vec<Vec<Vec<Vec<OutputChannel>>>> = spec
        .vertices
        .iter()
        .map(|v| (0..v.parallelism).map(|_| Vec::new()).collect())
        .collect();
    let credits = spec.runtime.credits_per_channel.max(1);
    for (vertex, per_vertex) in outputs.iter_mut().enumerate() {
        if !vertices.contains(&vertex) {
            continue;
        }
        for (edge_index, edge) in spec.output_edges(vertex).into_iter().enumerate() {
            if !vertices.contains(&edge.target) {
                continue;
            }
            let up_p = spec.vertices[edge.source].parallelism as usize;
            let down_p = spec.vertices[edge.target].parallelism as usize;
            for (up, channels_of_subtask) in per_vertex.iter_mut().enumerate().take(up_p) {
                let targets: Vec<usize> = match edge.pattern {
                    ChannelPattern::AllToAll => (0..down_p).collect(),
                    ChannelPattern::Pointwise => vec![up.min(down_p.saturating_sub(1))],
                };
                let mut channels = Vec::with_capacity(targets.len());
                for (channel, down) in targets.into_iter().enumerate() {
                    let receiver = &mut inputs[edge.target][down];
                    let input_index = receiver.len();
                    receiver.push(InputChannel::new(
                        edge.target_gate,
                        actors[vertex][up].clone().recipient(),
                        edge_index,
                        channel,
                    ));
                    channels.push(OutputChannel::new(
                        actors[edge.target][down].clone().recipient(),
                        input_index,
                        credits,
                    ));
                }
                channels_of_subtask.push(channels);
            }
        }
    }
    for (vertex, (outs, ins)) in outputs.into_iter().zip(inputs).enumerate() {
        if !vertices.contains(&vertex) {
            continue;
        }
        for (index, (out, input)) in outs.into_iter().zip(ins).enumerate() {
            let counters = metrics.subtask(&spec.vertices[vertex].name, index as u32);
            actors[vertex][index].do_send(Wire {
                outputs: Outputs::new(out, counters),
                inputs: input,
            });
        }
    }
}
