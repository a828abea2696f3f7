//! The fetch loop of one split, on its reader's client runtime: an ephemeral (or, with
//! `ack_on_checkpoint`, durable) pull consumer starting at the split's sequence, recreated at
//! the next unread sequence after any error or gap, for up to the retry timeout without
//! progress; what it reads goes into the reader's [`FetchQueue`](weir::source::FetchQueue).

use super::client::{Backoff, REQUEST_TIMEOUT};
use super::error::JetStreamSourceError;
use super::message::{Deserializer, JetStreamMessage};
use super::source::PurgedSequencePolicy;
use super::split::{JetStreamSplit, SplitPosition};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer, ReplayPolicy};
use async_nats::jetstream::{self, stream::Stream};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use weir::source::FetchSender;

/// How long an idle split's pull request waits on the server for a message.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How long the server keeps an ephemeral consumer nobody pulls from.
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(30);

/// What a fetcher sends its reader, in stream order per split.
pub(crate) enum Entry<T> {
    /// Records of split `split`, each with its stream sequence; `ack` is the acknowledgement
    /// subject of the last one (durable consumers only).
    Records {
        split: usize,
        records: Vec<(T, u64)>,
        ack: Option<String>,
    },
    /// No message of split `split` exists before sequence `next` (caught up with the stream, or
    /// resumed at its first sequence after a purge).
    Advanced { split: usize, next: u64 },
    /// Split `split` is read to its end (bounded sources).
    Finished { split: usize },
    /// The reader must fail.
    Failed(JetStreamSourceError),
}

/// What every fetcher of one reader shares.
pub(crate) struct FetchContext<T> {
    pub(crate) operator: String,
    pub(crate) url: String,
    pub(crate) js: jetstream::Context,
    pub(crate) sender: FetchSender<Entry<T>>,
    pub(crate) deserializer: Arc<Deserializer<T>>,
    pub(crate) purged: PurgedSequencePolicy,
    pub(crate) durable: Option<String>,
    pub(crate) retry_timeout: Duration,
    pub(crate) batch: usize,
}

/// Why one consumer's run ended.
enum Stop {
    /// The split is read to its end.
    Finished,
    /// The reader is gone.
    ReaderGone,
    /// The reader must fail with this.
    Fatal(JetStreamSourceError),
    /// Try again with a new consumer.
    Retry(String),
}

/// One split being fetched.
struct SplitFetch<'a, T> {
    cx: &'a FetchContext<T>,
    index: usize,
    split: JetStreamSplit,
    /// Whether the consumer's run sent something (resets the retry clock).
    progressed: bool,
}

/// Fetches split `index` until it ends, the reader goes away, or it must fail.
pub(crate) async fn fetch_split<T: Send + 'static>(
    cx: Arc<FetchContext<T>>,
    index: usize,
    split: JetStreamSplit,
) {
    let mut fetch = SplitFetch {
        cx: &cx,
        index,
        split,
        progressed: false,
    };
    let mut backoff = Backoff::new();
    let mut failing_since: Option<Instant> = None;
    loop {
        fetch.progressed = false;
        let entry = match fetch.run_consumer().await {
            Stop::Finished => Entry::Finished { split: index },
            Stop::ReaderGone => return,
            Stop::Fatal(e) => Entry::Failed(e),
            Stop::Retry(cause) => {
                if fetch.progressed {
                    failing_since = None;
                    backoff.reset();
                }
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() < cx.retry_timeout {
                    let delay = backoff.next_delay();
                    tracing::warn!(operator = %cx.operator, stream = %fetch.split.stream,
                        subject = fetch.split.subject_or_all(),
                        "JetStream read failed, trying again in {delay:?}: {cause}");
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Entry::Failed(JetStreamSourceError::Unreachable {
                    operator: cx.operator.clone(),
                    url: cx.url.clone(),
                    stream: fetch.split.stream.clone(),
                    subject: fetch.split.subject_or_all().to_string(),
                    waited_ms: since.elapsed().as_millis(),
                    cause,
                })
            }
        };
        let _ = cx.sender.send(entry).await;
        return;
    }
}

/// The durable consumer name of a split: `durable` or `durable-<subject>`, with characters a
/// consumer name may not hold as `_`.
pub(crate) fn durable_name(durable: &str, split: &JetStreamSplit) -> String {
    let Some(subject) = &split.subject else {
        return durable.to_string();
    };
    let clean: String = (subject.chars())
        .map(|c| match c {
            '.' | '*' | '>' | ' ' | '\t' | '/' | '\\' => '_',
            c => c,
        })
        .collect();
    format!("{durable}-{clean}")
}

impl<T: Send + 'static> SplitFetch<'_, T> {
    fn next_sequence(&self) -> Option<u64> {
        match self.split.position {
            SplitPosition::Sequence(s) => Some(s),
            _ => None,
        }
    }

    async fn send(&mut self, entry: Entry<T>) -> Result<(), Stop> {
        self.progressed = true;
        self.cx
            .sender
            .send(entry)
            .await
            .map_err(|_| Stop::ReaderGone)
    }

    /// Checks the split's sequence against the stream's first one (purged?) and its end.
    async fn check_position(&mut self, stream: &Stream) -> Result<(), Stop> {
        let info =
            (stream.get_info().await).map_err(|e| Stop::Retry(format!("stream info: {e}")))?;
        let first = info.state.first_sequence;
        let Some(next) = self.next_sequence() else {
            return Ok(());
        };
        if next >= first || next > info.state.last_sequence {
            return Ok(());
        }
        let subject = self.split.subject_or_all().to_string();
        if self.cx.purged == PurgedSequencePolicy::Fail {
            return Err(Stop::Fatal(JetStreamSourceError::SequencePurged {
                operator: self.cx.operator.clone(),
                stream: self.split.stream.clone(),
                subject,
                sequence: next,
                first_sequence: first,
            }));
        }
        tracing::warn!(operator = %self.cx.operator, stream = %self.split.stream, %subject,
            "data loss: sequences {next}..{} are no longer in the stream (retention or a \
             purge removed them before they were read); resuming at its first sequence {first}",
            first - 1);
        self.split.position = SplitPosition::Sequence(first);
        self.send(Entry::Advanced {
            split: self.index,
            next: first,
        })
        .await
    }

    /// The consumer's configuration, starting at the split's position.
    fn consumer_config(&self) -> pull::Config {
        let deliver_policy = match self.split.position {
            SplitPosition::Earliest => DeliverPolicy::All,
            SplitPosition::Sequence(s) => DeliverPolicy::ByStartSequence { start_sequence: s },
            SplitPosition::StartTime(nanos) => DeliverPolicy::ByStartTime {
                start_time: system_time(nanos).into(),
            },
        };
        let durable = (self.cx.durable.as_deref()).map(|d| durable_name(d, &self.split));
        pull::Config {
            ack_policy: match durable {
                Some(_) => AckPolicy::All,
                None => AckPolicy::None,
            },
            ack_wait: Duration::from_secs(600),
            max_ack_pending: if durable.is_some() { -1 } else { 0 },
            inactive_threshold: match durable {
                Some(_) => Duration::ZERO,
                None => INACTIVE_THRESHOLD,
            },
            durable_name: durable,
            deliver_policy,
            filter_subject: self.split.subject.clone().unwrap_or_default(),
            replay_policy: ReplayPolicy::Instant,
            memory_storage: self.cx.durable.is_none(),
            ..Default::default()
        }
    }

    /// Creates a consumer at the split's position and reads through it until it ends.
    async fn run_consumer(&mut self) -> Stop {
        let stream = match self.cx.js.get_stream(&self.split.stream).await {
            Ok(stream) => stream,
            Err(e) if super::client::is_stream_not_found(&e) => {
                return Stop::Fatal(JetStreamSourceError::StreamNotFound {
                    operator: self.cx.operator.clone(),
                    url: self.cx.url.clone(),
                    stream: self.split.stream.clone(),
                })
            }
            Err(e) => return Stop::Retry(format!("get stream: {e}")),
        };
        if let Err(stop) = self.check_position(&stream).await {
            return stop;
        }
        if let (Some(end), Some(next)) = (self.split.end, self.next_sequence()) {
            if next > end {
                return Stop::Finished;
            }
        }
        let config = self.consumer_config();
        if let Some(name) = &config.durable_name {
            // A durable's start cannot change: it is recreated at the checkpointed sequence.
            let _ = stream.delete_consumer(name).await;
        }
        let consumer = match stream.create_consumer(config).await {
            Ok(consumer) => consumer,
            Err(e) => return Stop::Retry(format!("create consumer: {e}")),
        };
        let stop = match self.read(&stream, &consumer).await {
            Ok(()) => Stop::Finished,
            Err(stop) => stop,
        };
        if self.cx.durable.is_none() && !matches!(stop, Stop::ReaderGone) {
            let name = consumer.cached_info().name.clone();
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, stream.delete_consumer(&name)).await;
        }
        stop
    }

    /// Reads through `consumer`: pulls without waiting while messages are there, then waits on
    /// the server for the next one; `Ok` once a bounded split is read to its end.
    async fn read(&mut self, stream: &Stream, consumer: &PullConsumer) -> Result<(), Stop> {
        let mut idle = true;
        let mut consumer_sequence = 0u64;
        loop {
            // The stream's last sequence before a pull that finds nothing: nothing of the split
            // lies up to it.
            let last = match idle {
                true => Some(
                    (stream.get_info().await)
                        .map_err(|e| Stop::Retry(format!("stream info: {e}")))?
                        .state
                        .last_sequence,
                ),
                false => None,
            };
            let pull = consumer
                .fetch()
                .max_messages(self.cx.batch)
                .expires(REQUEST_TIMEOUT);
            let messages = collect(pull.messages(), REQUEST_TIMEOUT * 2).await?;
            if !messages.is_empty() {
                idle = false;
                if self.emit(messages, &mut consumer_sequence).await? {
                    return Ok(());
                }
                continue;
            }
            if self.split.end.is_some() {
                return Ok(());
            }
            if let (Some(last), Some(next)) = (last, self.next_sequence()) {
                if last >= next {
                    self.split.position = SplitPosition::Sequence(last + 1);
                    self.send(Entry::Advanced {
                        split: self.index,
                        next: last + 1,
                    })
                    .await?;
                }
            }
            let wait = consumer.batch().max_messages(1).expires(IDLE_WAIT);
            let messages = collect(wait.messages(), IDLE_WAIT + REQUEST_TIMEOUT).await?;
            idle = messages.is_empty();
            if !idle && self.emit(messages, &mut consumer_sequence).await? {
                return Ok(());
            }
        }
    }

    /// Deserializes `messages` and sends them; whether the split reached its end. A gap in the
    /// consumer's sequence (a lost pull) asks for a new consumer after what was sent.
    async fn emit(
        &mut self,
        messages: Vec<jetstream::Message>,
        consumer_sequence: &mut u64,
    ) -> Result<bool, Stop> {
        let mut records = Vec::with_capacity(messages.len());
        let mut ack = None;
        let mut stop = None;
        let mut end_reached = false;
        for message in &messages {
            let info = match message.info() {
                Ok(info) => info,
                Err(e) => {
                    stop = Some(Stop::Retry(format!("a message without metadata: {e}")));
                    break;
                }
            };
            if *consumer_sequence != 0 && info.consumer_sequence != *consumer_sequence + 1 {
                stop = Some(Stop::Retry(format!(
                    "consumer sequence gap ({} after {consumer_sequence})",
                    info.consumer_sequence
                )));
                break;
            }
            *consumer_sequence = info.consumer_sequence;
            let sequence = info.stream_sequence;
            if self.next_sequence().is_some_and(|next| sequence < next) {
                continue; // a redelivery
            }
            if self.split.end.is_some_and(|end| sequence > end) {
                end_reached = true;
                break;
            }
            let record = (self.cx.deserializer)(JetStreamMessage {
                stream: &self.split.stream,
                subject: message.subject.as_str(),
                stream_sequence: sequence,
                timestamp: SystemTime::from(info.published),
                headers: message.headers.as_ref(),
                payload: &message.payload,
            });
            match record {
                Ok(record) => records.push((record, sequence)),
                Err(source) => {
                    stop = Some(Stop::Fatal(JetStreamSourceError::Deserialize {
                        operator: self.cx.operator.clone(),
                        stream: self.split.stream.clone(),
                        subject: message.subject.to_string(),
                        sequence,
                        source,
                    }));
                    break;
                }
            }
            self.split.position = SplitPosition::Sequence(sequence + 1);
            ack = message.reply.as_ref().map(|r| r.to_string());
            let pending_none = info.pending == 0;
            if self.split.end.is_some() && (pending_none || self.split.end == Some(sequence)) {
                end_reached = true;
                break;
            }
        }
        if !records.is_empty() {
            let ack = ack.filter(|_| self.cx.durable.is_some());
            self.send(Entry::Records {
                split: self.index,
                records,
                ack,
            })
            .await?;
        }
        match stop {
            Some(stop) => Err(stop),
            None => Ok(end_reached),
        }
    }
}

/// Every message of one pull request, or a retry when it fails or outlasts `limit`.
async fn collect<F, S>(pull: F, limit: Duration) -> Result<Vec<jetstream::Message>, Stop>
where
    F: std::future::Future<Output = Result<S, pull::BatchError>>,
    S: futures_util::Stream<Item = Result<jetstream::Message, async_nats::Error>> + Unpin,
{
    let run = async {
        let mut batch = pull.await.map_err(|e| format!("pull request: {e}"))?;
        let mut messages = Vec::new();
        while let Some(message) = batch.next().await {
            messages.push(message.map_err(|e| format!("pull: {e}"))?);
        }
        Ok::<_, String>(messages)
    };
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(messages)) => Ok(messages),
        Ok(Err(cause)) => Err(Stop::Retry(cause)),
        Err(_) => Err(Stop::Retry(format!(
            "no answer to a pull request in {limit:?}"
        ))),
    }
}

/// The time `nanos` nanoseconds after (before, when negative) the Unix epoch.
fn system_time(nanos: i128) -> SystemTime {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs().min(u128::from(u64::MAX)) as u64);
    match nanos >= 0 {
        true => SystemTime::UNIX_EPOCH + magnitude,
        false => SystemTime::UNIX_EPOCH - magnitude,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_durable_name_per_split_replaces_what_a_consumer_name_may_not_hold() {
        let mut split = JetStreamSplit {
            stream: "S".into(),
            subject: None,
            position: SplitPosition::Earliest,
            end: None,
            finished: false,
        };
        assert_eq!(durable_name("weir", &split), "weir");
        split.subject = Some("orders.*.eu.>".into());
        assert_eq!(durable_name("weir", &split), "weir-orders___eu__");
    }

    #[test]
    fn a_start_time_survives_its_nanosecond_encoding() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let nanos = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as i128;
        assert_eq!(system_time(nanos), t);
        assert_eq!(
            system_time(-5),
            SystemTime::UNIX_EPOCH - Duration::from_nanos(5)
        );
    }
}
