//! [`JetStreamSource`]: a JetStream stream, or some of its subjects, as a weir split source —
//! one split per (stream, filter subject), each at its next stream sequence, kept in weir's
//! checkpoint.

use super::client::{self, block_on_own_thread};
use super::error::JetStreamSourceError;
use super::message::{Deserializer, JetStreamMessage};
use super::reader::JetStreamReader;
use super::split::{JetStreamSplit, SplitPosition};
use futures_util::TryStreamExt;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use weir::source::{Boundedness, DiscoveryContext, SplitReaderContext, SplitSource};
use weir::BoxError;

/// Where a split that no checkpoint holds starts (a restored split resumes at its
/// checkpointed sequence whatever this says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JetStreamStart {
    /// At the first message the stream holds.
    #[default]
    Earliest,
    /// After the last message the stream held when the job first looked (messages published
    /// since are read).
    Latest,
    /// At the first message stored at or after this time.
    ByStartTime(SystemTime),
    /// At this stream sequence.
    BySequence(u64),
}

/// What a split does when the sequence it is to resume at is no longer in the stream (below
/// its first sequence: retention or a purge removed messages it had not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PurgedSequencePolicy {
    /// Fail with [`JetStreamSourceError::SequencePurged`] (the job's restart strategy then
    /// decides; it fails again until an operator intervenes).
    #[default]
    Fail,
    /// Resume at the stream's first sequence, logging the skipped range at `warn` as data loss.
    ResumeAtFirst,
}

/// What the source's subtasks share: its settings and what the first discovery saw.
pub(crate) struct SourceConfig<T> {
    pub(crate) url: String,
    pub(crate) stream: String,
    pub(crate) subjects: Vec<String>,
    pub(crate) start: JetStreamStart,
    pub(crate) bounded: bool,
    pub(crate) per_subject: Option<Duration>,
    pub(crate) purged: PurgedSequencePolicy,
    pub(crate) durable: Option<String>,
    pub(crate) retry_timeout: Duration,
    pub(crate) fetch_batch: usize,
    pub(crate) deserializer: Arc<Deserializer<T>>,
    /// The stream's last sequence at the first discovery in this process: where `Latest` starts
    /// and a bounded split ends, the same for every subtask and every discovery.
    pub(crate) last_at_start: OnceLock<u64>,
}

/// Builds a [`JetStreamSource`]; see [`JetStreamSource::builder`].
pub struct JetStreamSourceBuilder<T> {
    config: SourceConfig<T>,
}

impl<T> JetStreamSourceBuilder<T> {
    /// The server's URL (by default [`nats_url`](super::nats_url)).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.config.url = url.into();
        self
    }

    /// Reads only these subjects of the stream (wildcards allowed), one split each; by default
    /// the whole stream is one split. The subjects should not overlap: a message matching two
    /// is read twice.
    pub fn subjects<S: Into<String>>(mut self, subjects: impl IntoIterator<Item = S>) -> Self {
        self.config.subjects = subjects.into_iter().map(Into::into).collect();
        self
    }

    /// Where splits that no checkpoint holds start (default [`JetStreamStart::Earliest`]).
    pub fn start(mut self, start: JetStreamStart) -> Self {
        self.config.start = start;
        self
    }

    /// Makes the source bounded: each split stops after the stream's last sequence when the
    /// job first looked, so the job ends once it read what the stream held then.
    pub fn bounded(mut self) -> Self {
        self.config.bounded = true;
        self
    }

    /// One split per concrete subject the stream holds messages on (matching the
    /// [`subjects`](Self::subjects) filters, or all), listed again every `interval` while an
    /// unbounded job runs: a subject that appears later becomes a new split, read from its
    /// first message. For streams with a modest number of subjects (each split is one
    /// consumer).
    pub fn split_per_subject(mut self, interval: Duration) -> Self {
        self.config.per_subject = Some(interval);
        self
    }

    /// What a split does when its sequence was removed from the stream (default
    /// [`PurgedSequencePolicy::Fail`]).
    pub fn on_purged_sequence(mut self, policy: PurgedSequencePolicy) -> Self {
        self.config.purged = policy;
        self
    }

    /// Reads through durable consumers named after `durable_name` (`durable_name` for the
    /// whole stream, `durable_name-<subject>` per split, with `.`, `*`, `>` as `_`) instead of
    /// ephemeral ones, and acknowledges (ack-all) what each completed checkpoint covers, so
    /// monitoring sees the job's progress and interest or work-queue retention may drop what
    /// is committed. weir does not rely on these acknowledgements: a split resumes at its
    /// checkpointed sequence, and a durable consumer is recreated there when a reader starts.
    /// Off by default.
    pub fn ack_on_checkpoint(mut self, durable_name: impl Into<String>) -> Self {
        self.config.durable = Some(durable_name.into());
        self
    }

    /// How long a reader keeps retrying an unreachable server (with backoff from 50 ms to 2 s)
    /// before `read` fails, so the job fails over (default 30 s).
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.config.retry_timeout = timeout;
        self
    }

    /// At most this many messages per pull request (default 256).
    pub fn fetch_batch(mut self, messages: usize) -> Self {
        self.config.fetch_batch = messages.max(1);
        self
    }

    /// The source.
    pub fn build(self) -> JetStreamSource<T> {
        JetStreamSource {
            config: Arc::new(self.config),
        }
    }
}

/// A JetStream stream as a split source (`env.from_source(source, "Source: orders")`).
///
/// Each split is the stream, or one of the [`subjects`](JetStreamSourceBuilder::subjects), and
/// its position is the next stream sequence, recorded in weir's checkpoints (never a
/// server-side consumer's ack floor). A reader reads its splits through ephemeral pull
/// consumers starting at the split's sequence, on a tokio runtime on a thread of its own, and
/// hands the messages to its subtask through a bounded [`FetchQueue`](weir::source::FetchQueue).
///
/// # Guarantees
/// - With a job checkpointing exactly-once and an exactly-once sink, every message of a split
///   is emitted once in the committed output, in stream order within the split.
/// - A checkpointed sequence the stream no longer holds fails the reader
///   ([`JetStreamSourceError::SequencePurged`]) unless
///   [`PurgedSequencePolicy::ResumeAtFirst`] says otherwise; a stream that does not exist fails
///   the subtask at start ([`JetStreamSourceError::StreamNotFound`]).
/// - A server unreachable for longer than the retry timeout fails the reader; the job then
///   fails over and resumes at the checkpointed sequences.
/// - A network source: it refuses deterministic mode ([`JetStreamSourceError::Deterministic`]).
pub struct JetStreamSource<T> {
    pub(crate) config: Arc<SourceConfig<T>>,
}

impl<T> JetStreamSource<T> {
    /// A builder of the source reading `stream` with `deserializer` at
    /// [`nats_url`](super::nats_url): the whole stream, from its first message, unbounded.
    pub fn builder(
        stream: impl Into<String>,
        deserializer: impl Fn(JetStreamMessage<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> JetStreamSourceBuilder<T> {
        JetStreamSourceBuilder {
            config: SourceConfig {
                url: super::nats_url(),
                stream: stream.into(),
                subjects: Vec::new(),
                start: JetStreamStart::Earliest,
                bounded: false,
                per_subject: None,
                purged: PurgedSequencePolicy::Fail,
                durable: None,
                retry_timeout: Duration::from_secs(30),
                fetch_batch: 256,
                deserializer: Arc::new(deserializer),
                last_at_start: OnceLock::new(),
            },
        }
    }
}

impl<T> SourceConfig<T> {
    /// The error of a JetStream request at discovery.
    fn failed(&self, operation: &'static str, cause: impl ToString) -> JetStreamSourceError {
        JetStreamSourceError::JetStream {
            operator: "-".into(),
            operation,
            url: self.url.clone(),
            stream: self.stream.clone(),
            cause: cause.to_string(),
        }
    }

    /// The filter subjects of the splits that exist now.
    async fn discover(&self) -> Result<(Vec<Option<String>>, u64), JetStreamSourceError> {
        let timeout = self.retry_timeout.min(Duration::from_secs(5));
        let nats = client::connect(&self.url, timeout).await.map_err(|cause| {
            JetStreamSourceError::Unreachable {
                operator: "-".into(),
                url: self.url.clone(),
                stream: self.stream.clone(),
                subject: self.subjects.join(","),
                waited_ms: timeout.as_millis(),
                cause,
            }
        })?;
        let js = client::jetstream(nats);
        let mut stream = js.get_stream(&self.stream).await.map_err(|e| {
            match client::is_stream_not_found(&e) {
                true => JetStreamSourceError::StreamNotFound {
                    operator: "-".into(),
                    url: self.url.clone(),
                    stream: self.stream.clone(),
                },
                false => self.failed("get stream", e),
            }
        })?;
        let last = (stream.info().await)
            .map_err(|e| self.failed("stream info", e))?
            .state
            .last_sequence;
        if self.per_subject.is_none() {
            return Ok(match self.subjects.is_empty() {
                true => (vec![None], last),
                false => (self.subjects.iter().cloned().map(Some).collect(), last),
            });
        }
        let filters = match self.subjects.is_empty() {
            true => vec![">".to_string()],
            false => self.subjects.clone(),
        };
        let mut found = BTreeSet::new();
        for filter in &filters {
            let subjects = (stream.info_with_subjects(filter).await)
                .map_err(|e| self.failed("stream info with subjects", e))?;
            let subjects: Vec<(String, usize)> = (subjects.try_collect().await)
                .map_err(|e| self.failed("stream info with subjects", e))?;
            found.extend(subjects.into_iter().map(|(s, _)| s));
        }
        Ok((found.into_iter().map(Some).collect(), last))
    }

    /// A new split of `subject`, at the configured start.
    fn new_split(&self, subject: Option<String>, last_at_start: u64) -> JetStreamSplit {
        let position = match self.start {
            JetStreamStart::Earliest => SplitPosition::Earliest,
            JetStreamStart::Latest => SplitPosition::Sequence(last_at_start + 1),
            JetStreamStart::BySequence(n) => SplitPosition::Sequence(n.max(1)),
            JetStreamStart::ByStartTime(t) => SplitPosition::StartTime(unix_nanos(t)),
        };
        JetStreamSplit {
            stream: self.stream.clone(),
            subject,
            position,
            end: self.bounded.then_some(last_at_start),
            finished: false,
        }
    }
}

/// Nanoseconds since the Unix epoch (negative before it).
fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

impl<T: Send + 'static> SplitSource<T> for JetStreamSource<T> {
    type Split = JetStreamSplit;
    type Reader = JetStreamReader<T>;

    fn discover_splits(&self, _: &DiscoveryContext) -> Result<Vec<JetStreamSplit>, BoxError> {
        let config = &self.config;
        let (subjects, last) = match block_on_own_thread(config.discover())
            .map_err(|what| config.failed("split discovery", what))?
        {
            // No restart makes the stream appear: the job fails at once.
            Err(e @ JetStreamSourceError::StreamNotFound { .. }) => {
                return Err(weir::SuppressRestarts::new(e).into())
            }
            found => found?,
        };
        let last_at_start = *config.last_at_start.get_or_init(|| last);
        Ok((subjects.into_iter())
            .map(|s| config.new_split(s, last_at_start))
            .collect())
    }

    fn boundedness(&self) -> Boundedness {
        match self.config.bounded {
            true => Boundedness::Bounded,
            false => Boundedness::ContinuousUnbounded,
        }
    }

    fn discovery_interval(&self) -> Option<Duration> {
        self.config.per_subject
    }

    fn create_reader(&self, context: SplitReaderContext) -> Result<JetStreamReader<T>, BoxError> {
        if context.deterministic {
            return Err(JetStreamSourceError::Deterministic {
                operator: context.operator,
            }
            .into());
        }
        Ok(JetStreamReader::new(self.config.clone(), context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir::runtime::graph::task_waker::TaskWaker;
    use weir::runtime::metrics::MetricsRegistry;

    fn context(deterministic: bool) -> SplitReaderContext {
        SplitReaderContext {
            operator: "Source: orders [orders]".into(),
            uid: "orders".into(),
            job_id: "j".into(),
            index: 0,
            parallelism: 1,
            deterministic,
            waker: TaskWaker::noop(),
            metrics: Arc::new(MetricsRegistry::default()),
        }
    }

    #[test]
    fn a_reader_refuses_deterministic_mode_naming_the_operator() {
        let source = JetStreamSource::builder("S", |m| Ok(m.stream_sequence)).build();
        let Err(error) = source.create_reader(context(true)) else {
            panic!("a network reader in deterministic mode");
        };
        assert!(matches!(
            error.downcast_ref::<JetStreamSourceError>(),
            Some(JetStreamSourceError::Deterministic { operator }) if operator == "Source: orders [orders]"
        ));
        assert!(source.create_reader(context(false)).is_ok());
    }

    #[test]
    fn new_splits_start_where_the_builder_says_and_a_bounded_one_ends_at_the_first_look() {
        let source = JetStreamSource::builder("S", |m| Ok(m.stream_sequence))
            .start(JetStreamStart::Latest)
            .bounded()
            .build();
        let split = source.config.new_split(Some("a.b".into()), 41);
        assert_eq!(split.position, SplitPosition::Sequence(42));
        assert_eq!(split.end, Some(41));
        let from = SystemTime::UNIX_EPOCH + Duration::from_secs(5);
        let source = JetStreamSource::builder("S", |m| Ok(m.stream_sequence))
            .start(JetStreamStart::ByStartTime(from))
            .build();
        let split = source.config.new_split(None, 41);
        assert_eq!(split.position, SplitPosition::StartTime(5_000_000_000));
        assert_eq!(split.end, None);
    }
}
