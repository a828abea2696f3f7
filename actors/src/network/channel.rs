//! Data channels under credit-based flow control.
//!
//! A receiver grants each of its input channels a fixed number of batch credits. The sender side
//! ([`OutputChannel`]) spends one credit per batch and, out of credit, keeps further events in a
//! backlog; the subtask stops reading input (a source stops producing) while any of its output
//! channels has a backlog. The receiver ([`InputChannel`]) returns a credit each time it takes a
//! batch from its queue. So each channel carries at most `credits` batches in flight, and each
//! input queue holds at most `credits` batches, whatever the input rate.

use crate::metrics::SubtaskCounters;
use crate::network::event::{Batch, ChannelEvent};
use actix::{Message, Recipient};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// An event for input channel `channel` of the receiving subtask.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver {
    /// The receiver's input channel index.
    pub channel: usize,
    /// What arrives.
    pub event: ChannelEvent,
}

/// `n` credits returned to the sender's output channel `channel` of output edge `edge`.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Credit {
    /// The sender's output edge.
    pub edge: usize,
    /// The channel within that edge.
    pub channel: usize,
    /// How many batches the receiver consumed.
    pub n: u32,
}

/// The sending end of one channel.
pub struct OutputChannel {
    target: Recipient<Deliver>,
    target_channel: usize,
    credit: u32,
    backlog: VecDeque<ChannelEvent>,
}

impl OutputChannel {
    /// A channel to `target`'s input channel `target_channel`, starting with `credits` credits.
    pub fn new(target: Recipient<Deliver>, target_channel: usize, credits: u32) -> OutputChannel {
        OutputChannel {
            target,
            target_channel,
            credit: credits,
            backlog: VecDeque::new(),
        }
    }

    fn push(&mut self, event: ChannelEvent, counters: &SubtaskCounters) {
        if self.backlog.is_empty() && self.can_send(&event) {
            self.transmit(event, counters);
        } else {
            self.backlog.push_back(event);
            let batches = self
                .backlog
                .iter()
                .filter(|e| matches!(e, ChannelEvent::Records(_)))
                .count();
            counters.observe_backlog(batches);
        }
    }

    fn can_send(&self, event: &ChannelEvent) -> bool {
        !matches!(event, ChannelEvent::Records(_)) || self.credit > 0
    }

    fn transmit(&mut self, event: ChannelEvent, counters: &SubtaskCounters) {
        if matches!(event, ChannelEvent::Records(_)) {
            self.credit -= 1;
            counters.batch_out();
        }
        self.target.do_send(Deliver {
            channel: self.target_channel,
            event,
        });
    }

    fn add_credit(&mut self, n: u32, counters: &SubtaskCounters) {
        self.credit += n;
        while let Some(event) = self.backlog.front() {
            if !self.can_send(event) {
                break;
            }
            if let Some(event) = self.backlog.pop_front() {
                self.transmit(event, counters);
            }
        }
    }
}

/// Every output channel of a subtask, grouped by output edge.
pub struct Outputs {
    edges: Vec<Vec<OutputChannel>>,
    counters: Arc<SubtaskCounters>,
    backpressured_since: Option<Instant>,
}

impl Outputs {
    /// Output channels grouped by edge; `counters` receives the batch and backpressure figures.
    pub fn new(edges: Vec<Vec<OutputChannel>>, counters: Arc<SubtaskCounters>) -> Outputs {
        Outputs {
            edges,
            counters,
            backpressured_since: None,
        }
    }

    /// The number of output edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The number of channels of output edge `edge`.
    pub fn channel_count(&self, edge: usize) -> usize {
        self.edges.get(edge).map_or(0, Vec::len)
    }

    /// Sends `batch` on `channel` of `edge`, or queues it behind the channel's backlog. Empty
    /// batches are dropped. The caller must stop producing while [`Outputs::is_backpressured`].
    pub fn send(&mut self, edge: usize, channel: usize, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        if let Some(ch) = self.edges.get_mut(edge).and_then(|e| e.get_mut(channel)) {
            ch.push(ChannelEvent::Records(batch), &self.counters);
            if !ch.backlog.is_empty() && self.backpressured_since.is_none() {
                self.backpressured_since = Some(Instant::now());
            }
        }
    }

    /// Sends `event` (a barrier or end of input) on every channel, in order behind any backlog.
    pub fn broadcast_event(&mut self, make: impl Fn() -> ChannelEvent) {
        for ch in self.edges.iter_mut().flatten() {
            ch.push(make(), &self.counters);
        }
    }

    /// Returns `n` credits to `channel` of `edge` and sends what its backlog can.
    pub fn add_credit(&mut self, edge: usize, channel: usize, n: u32) {
        if let Some(ch) = self.edges.get_mut(edge).and_then(|e| e.get_mut(channel)) {
            ch.add_credit(n, &self.counters);
        }
        if let Some(since) = self.backpressured_since {
            if !self.is_backpressured() {
                self.counters
                    .backpressured(since.elapsed().as_nanos() as u64);
                self.backpressured_since = None;
            }
        }
    }

    /// Whether some channel holds a backlog: the subtask must not produce more until credit arrives.
    pub fn is_backpressured(&self) -> bool {
        self.edges.iter().flatten().any(|c| !c.backlog.is_empty())
    }
}

/// The receiving end of one channel: a bounded queue and the way back to the sender for credits.
pub struct InputChannel {
    /// The input gate (logical input of the task) this channel belongs to.
    pub gate: usize,
    queue: VecDeque<ChannelEvent>,
    sender: Recipient<Credit>,
    sender_edge: usize,
    sender_channel: usize,
    /// The sender sent its end of input and it has been taken from the queue.
    pub ended: bool,
    /// Held back by barrier alignment: not read until released.
    pub blocked: bool,
}

impl InputChannel {
    /// A channel of `gate` fed by output channel `sender_channel` of `sender`'s edge `sender_edge`.
    pub fn new(
        gate: usize,
        sender: Recipient<Credit>,
        sender_edge: usize,
        sender_channel: usize,
    ) -> InputChannel {
        InputChannel {
            gate,
            queue: VecDeque::new(),
            sender,
            sender_edge,
            sender_channel,
            ended: false,
            blocked: false,
        }
    }

    /// Queues an arriving event; returns how many batches the queue now holds.
    pub fn enqueue(&mut self, event: ChannelEvent) -> usize {
        self.queue.push_back(event);
        self.queue
            .iter()
            .filter(|e| matches!(e, ChannelEvent::Records(_)))
            .count()
    }

    /// Whether an event is waiting and the channel is not blocked.
    pub fn is_ready(&self) -> bool {
        !self.blocked && !self.queue.is_empty()
    }

    /// Takes the next event; a batch taken returns its credit to the sender.
    pub fn take(&mut self) -> Option<ChannelEvent> {
        let event = self.queue.pop_front()?;
        match event {
            ChannelEvent::Records(_) => self.sender.do_send(Credit {
                edge: self.sender_edge,
                channel: self.sender_channel,
                n: 1,
            }),
            ChannelEvent::EndOfInput { .. } => self.ended = true,
            ChannelEvent::Barrier(_) => {}
        }
        Some(event)
    }
}
