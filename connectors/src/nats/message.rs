//! [`JetStreamMessage`]: what a [`JetStreamSource`](super::JetStreamSource)'s deserializer sees
//! of one stored message.

use std::time::SystemTime;

pub use async_nats::HeaderMap;

/// One message of a stream, borrowed for the deserializer
/// (`Fn(JetStreamMessage<'_>) -> Result<T, BoxError>`): its subject, its place in the stream,
/// when the server stored it, its headers and its payload.
#[derive(Debug, Clone, Copy)]
pub struct JetStreamMessage<'a> {
    /// The stream it was read from.
    pub stream: &'a str,
    /// The subject it was published to.
    pub subject: &'a str,
    /// Its sequence in the stream (unique and increasing within the stream).
    pub stream_sequence: u64,
    /// When the server stored it.
    pub timestamp: SystemTime,
    /// Its headers, if it had any.
    pub headers: Option<&'a HeaderMap>,
    /// Its payload.
    pub payload: &'a [u8],
}

/// The deserializer a source applies to every message.
pub(crate) type Deserializer<T> =
    dyn Fn(JetStreamMessage<'_>) -> Result<T, weir::BoxError> + Send + Sync + 'static;
