//! NATS JetStream (feature `nats`), on the `async-nats` client, each reader and sink running it
//! on a small tokio runtime on a thread of its own:
//! - [`JetStreamSource`]: a stream, or some of its subjects, as a split source — one split per
//!   (stream, filter subject), each at its next stream sequence, kept in weir's checkpoint;
//!   bounded or unbounded; exactly-once with an exactly-once sink;
//! - [`JetStreamSink`]: publishes records and awaits every acknowledgement at each barrier
//!   (at-least-once), or sets `Nats-Msg-Id` from the record so JetStream drops replays within
//!   its duplicate window (idempotent).
//!
//! ```no_run
//! use std::time::Duration;
//! use weir::StreamEnvironment;
//! use weir_connectors::nats::{JetStreamSink, JetStreamSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut env = StreamEnvironment::new();
//! env.enable_checkpointing(Duration::from_secs(1));
//! // Every message of stream ORDERS on orders.eu and orders.us, as (subject, payload).
//! let source = JetStreamSource::builder("ORDERS", |m| {
//!     Ok((m.subject.to_string(), String::from_utf8(m.payload.to_vec())?))
//! })
//! .subjects(["orders.eu", "orders.us"])
//! .bounded()
//! .build();
//! let sink = JetStreamSink::builder("counts", |r: &(String, u64)| {
//!     Ok(format!("{} {}", r.0, r.1).into_bytes())
//! })
//! // Idempotent: a replayed count has the id it had.
//! .message_id(|r| format!("{}-{}", r.0, r.1));
//! env.from_source(source, "Source: orders")
//!     .map(|(subject, _)| (subject, 1u64))
//!     .key_by(|r| r.0.clone())
//!     .reduce(|a, b| (a.0, a.1 + b.1))
//!     .uid("count")
//!     .sink_to(move |_| Ok(sink.build()?))
//!     .uid("counts-sink");
//! env.execute()?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is and is not guaranteed
//! - A source's positions are only weir's checkpoint: a server-side consumer's state is never
//!   read back (with [`ack_on_checkpoint`](JetStreamSourceBuilder::ack_on_checkpoint), durable
//!   consumers are acknowledged for monitoring and retention only).
//! - Ordering holds within a split (stream order), not across splits.
//! - Records fetched but not yet emitted when a reader stops are dropped and fetched again from
//!   the checkpointed sequence; the ephemeral consumers of a stopped reader are removed by the
//!   server after 30 s without pulls.
//! - The sink is at-least-once; idempotent only within the stream's duplicate window.

mod client;
mod error;
mod fetcher;
mod message;
mod reader;
mod sink;
mod source;
mod split;

pub use error::{JetStreamSinkError, JetStreamSourceError};
pub use message::{HeaderMap, JetStreamMessage};
pub use reader::JetStreamReader;
pub use sink::{JetStreamSink, JetStreamSinkBuilder};
pub use source::{JetStreamSource, JetStreamSourceBuilder, JetStreamStart, PurgedSequencePolicy};
pub use split::{JetStreamSplit, SplitPosition};

/// The NATS URL: `WEIR_NATS_URL`, else `nats://127.0.0.1:4222`.
pub fn nats_url() -> String {
    std::env::var("WEIR_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}
