//! [`JetStreamSplit`]: one (stream, filter subject) a [`JetStreamSource`](super::JetStreamSource)
//! reads, with its position — the next stream sequence, kept in weir's checkpoint.

use serde::{Deserialize, Serialize};
use weir::source::SourceSplit;

/// Where a split's reading starts or resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitPosition {
    /// At the first message the stream holds (nothing read yet).
    Earliest,
    /// At the first message stored at or after this time, in nanoseconds since the Unix
    /// epoch (nothing read yet).
    StartTime(i128),
    /// At this stream sequence: the one after the last message read (or skipped as not
    /// matching the filter).
    Sequence(u64),
}

/// One stream, optionally filtered to one subject (which may hold wildcards), as a split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JetStreamSplit {
    /// The stream.
    pub stream: String,
    /// The filter subject; `None` for every message of the stream.
    pub subject: Option<String>,
    /// Where reading resumes.
    pub position: SplitPosition,
    /// For a bounded source: the stream's last sequence when the job started; the split ends
    /// after it.
    pub end: Option<u64>,
    /// Whether the split is read to its end (bounded sources only).
    pub finished: bool,
}

impl JetStreamSplit {
    /// The filter subject, `>` for the whole stream (for messages and consumer filters).
    pub fn subject_or_all(&self) -> &str {
        self.subject.as_deref().unwrap_or(">")
    }
}

impl SourceSplit for JetStreamSplit {
    /// `stream` or `stream/subject`.
    fn split_id(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{}/{subject}", self.stream),
            None => self.stream.clone(),
        }
    }
}
