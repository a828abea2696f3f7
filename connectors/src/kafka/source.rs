//! [`KafkaSource`]: the partitions of Kafka topics as the splits of a weir source (Flink's
//! `KafkaSource`), built by [`KafkaSourceBuilder`].

use super::connection::{run_blocking, Connection, RetryPolicy};
use super::discovery::discover;
use super::error::KafkaSourceError;
use super::offsets::{OffsetResetPolicy, StartingOffsets};
use super::reader::KafkaSourceReader;
use super::record::{Deserializer, KafkaRecord};
use super::split::KafkaPartitionSplit;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::source::{Boundedness, DiscoveryContext, SplitReaderContext, SplitSource};
use weir::{BoxError, SuppressRestarts};

/// Which topics a source reads.
#[derive(Clone)]
pub(crate) enum Topics {
    /// These; one that does not exist fails the start with
    /// [`KafkaSourceError::TopicNotFound`].
    Named(Vec<String>),
    /// Every topic whose name passes the test, also those created while the job runs (found
    /// at the next partition discovery).
    Matching(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl fmt::Debug for Topics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topics::Named(names) => f.debug_tuple("Named").field(names).finish(),
            Topics::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

/// How the fetcher asks the broker for records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetchSettings {
    /// The most bytes one fetch of one partition returns.
    pub(crate) max_bytes: i32,
    /// How long the broker may hold a fetch while it has no records.
    pub(crate) max_wait: Duration,
    /// How many fetched batches wait for the subtask at most (backpressure beyond).
    pub(crate) queue_batches: usize,
}

/// Everything a source's discovery and readers share.
#[derive(Debug, Clone)]
pub(crate) struct SourceSettings {
    pub(crate) connection: Connection,
    pub(crate) topics: Topics,
    pub(crate) starting: StartingOffsets,
    pub(crate) bounded: bool,
    pub(crate) reset: OffsetResetPolicy,
    pub(crate) fetch: FetchSettings,
    pub(crate) client_id: String,
}

/// Builds a [`KafkaSource`]; see [`KafkaSource::builder`].
#[derive(Debug, Clone)]
pub struct KafkaSourceBuilder {
    settings: SourceSettings,
    discovery_interval: Option<Duration>,
}

impl KafkaSourceBuilder {
    /// The bootstrap servers, comma-separated `host:port`s (by default
    /// [`crate::env::kafka_url`]: `WEIR_KAFKA_URL`, else `127.0.0.1:9092`).
    pub fn bootstrap_servers(mut self, servers: &str) -> Self {
        self.settings.connection.bootstrap = Connection::new(servers).bootstrap;
        self
    }

    /// Reads these topics (replacing any chosen before). One that does not exist when the
    /// source starts fails it with [`KafkaSourceError::TopicNotFound`].
    pub fn topics<I, S>(mut self, topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings.topics = Topics::Named(topics.into_iter().map(Into::into).collect());
        self
    }

    /// Reads every topic whose name passes `test` (Flink's topic pattern), also topics
    /// created while an unbounded job runs, found at the next partition discovery.
    pub fn topics_matching<F>(mut self, test: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.settings.topics = Topics::Matching(Arc::new(test));
        self
    }

    /// Where partitions no checkpoint holds start (by default
    /// [`StartingOffsets::Earliest`]).
    pub fn starting_offsets(mut self, starting: StartingOffsets) -> Self {
        self.settings.starting = starting;
        self
    }

    /// Makes the source bounded: each partition is read up to its end offset as the source
    /// found it at start, then the source finishes (and a job of bounded sources ends).
    pub fn bounded(mut self) -> Self {
        self.settings.bounded = true;
        self
    }

    /// Looks for new partitions (and, with [`topics_matching`](Self::topics_matching), new
    /// topics) this often while an unbounded job runs (by default only at start). Ignored
    /// when bounded.
    pub fn partition_discovery_interval(mut self, every: Duration) -> Self {
        self.discovery_interval = Some(every);
        self
    }

    /// What to do when the offset to read next is no longer held by the broker (by default
    /// [`OffsetResetPolicy::None`]: fail).
    pub fn offset_reset_policy(mut self, policy: OffsetResetPolicy) -> Self {
        self.settings.reset = policy;
        self
    }

    /// How long to keep trying an unreachable broker before failing (by default
    /// [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.settings.connection.retry = retry;
        self
    }

    /// The most bytes one fetch of one partition returns (by default 1 MiB).
    pub fn fetch_max_bytes(mut self, bytes: i32) -> Self {
        self.settings.fetch.max_bytes = bytes.max(1);
        self
    }

    /// How long the broker may hold a fetch while it has no new records (by default 500 ms).
    pub fn fetch_max_wait(mut self, wait: Duration) -> Self {
        self.settings.fetch.max_wait = wait;
        self
    }

    /// The client id the brokers see (by default `weir`).
    pub fn client_id(mut self, id: &str) -> Self {
        self.settings.client_id = id.to_string();
        self
    }

    /// The source, turning each record into a `T` with `deserializer` (see
    /// [`value_only`](super::value_only) for the common case).
    pub fn build<T, F>(self, deserializer: F) -> KafkaSource<T>
    where
        F: Fn(KafkaRecord<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        KafkaSource {
            settings: Arc::new(self.settings),
            discovery_interval: self.discovery_interval,
            deserializer: Arc::new(deserializer),
            resolved: Mutex::new(None),
        }
    }
}

/// A source reading Kafka partitions, one split per partition, each checkpointed with the
/// offset after the last record it emitted; apply it with
/// `env.from_source(source, "Source: Kafka")`.
///
/// # Guarantees
/// - With exactly-once checkpoints, every record of a partition reaches the job's state
///   exactly once across failures: a restore resumes each partition at its checkpointed
///   offset. Offsets live only in weir's checkpoints; nothing is committed to Kafka
///   (rskafka has no consumer-group API), so Kafka's tools show no consumer lag for the job.
/// - Records of one partition are emitted in offset order, by one subtask.
/// - Where a partition starts when no checkpoint holds it is resolved once per source (the
///   first discovery) and reused by every subtask and restart, so a failure before the first
///   checkpoint replays the same records.
/// - Not guaranteed: the order across partitions; reading records of aborted transactions
///   (rskafka reads every record; the brokers weir is tested against refuse transactions).
pub struct KafkaSource<T> {
    settings: Arc<SourceSettings>,
    discovery_interval: Option<Duration>,
    deserializer: Deserializer<T>,
    /// Every split found so far, at the position it starts from; `None` before the first
    /// discovery.
    resolved: Mutex<Option<BTreeMap<String, KafkaPartitionSplit>>>,
}

impl<T> fmt::Debug for KafkaSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSource")
            .field("settings", &self.settings)
            .field("discovery_interval", &self.discovery_interval)
            .finish_non_exhaustive()
    }
}

impl KafkaSource<()> {
    /// A builder of a source at [`crate::env::kafka_url`], reading no topic yet, from the
    /// earliest offsets, unbounded.
    pub fn builder() -> KafkaSourceBuilder {
        KafkaSourceBuilder {
            settings: SourceSettings {
                connection: Connection::new(&crate::env::kafka_url()),
                topics: Topics::Named(Vec::new()),
                starting: StartingOffsets::Earliest,
                bounded: false,
                reset: OffsetResetPolicy::None,
                fetch: FetchSettings {
                    max_bytes: 1 << 20,
                    max_wait: Duration::from_millis(500),
                    queue_batches: 8,
                },
                client_id: "weir".into(),
            },
            discovery_interval: None,
        }
    }
}

impl<T: Send + 'static> SplitSource<T> for KafkaSource<T> {
    type Split = KafkaPartitionSplit;
    type Reader = KafkaSourceReader<T>;

    fn discover_splits(&self, _: &DiscoveryContext) -> Result<Vec<KafkaPartitionSplit>, BoxError> {
        // One discovery at a time: the first one fixes where every partition starts.
        let mut resolved = self.resolved.lock().map_err(|_| "a discovery panicked")?;
        let first = resolved.is_none();
        let known = resolved.clone().unwrap_or_default();
        let settings = self.settings.clone();
        let found = run_blocking("weir-kafka-discovery", async move {
            discover(&settings, known, first).await
        })
        .map_err(|what| KafkaSourceError::Fetcher {
            operator: "discovery".into(),
            what,
        })??;
        let splits = found.values().cloned().collect();
        *resolved = Some(found);
        Ok(splits)
    }

    fn boundedness(&self) -> Boundedness {
        match self.settings.bounded {
            true => Boundedness::Bounded,
            false => Boundedness::ContinuousUnbounded,
        }
    }

    fn discovery_interval(&self) -> Option<Duration> {
        self.discovery_interval
    }

    fn create_reader(&self, context: SplitReaderContext) -> Result<KafkaSourceReader<T>, BoxError> {
        if context.deterministic {
            // No restart cures it: fail the job at once.
            return Err(SuppressRestarts::new(KafkaSourceError::Deterministic {
                operator: context.operator,
            })
            .into());
        }
        Ok(KafkaSourceReader::start(
            self.settings.clone(),
            self.deserializer.clone(),
            context,
        )?)
    }
}
