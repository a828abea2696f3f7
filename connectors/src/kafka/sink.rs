//! [`KafkaSink`]: a [`SinkWriter`] producing a stream's records to a Kafka topic (Flink's
//! `KafkaSink` without its exactly-once mode), built by [`KafkaSinkBuilder`].

use super::connection::{Connection, RetryPolicy};
use super::error::KafkaSinkError;
use super::producer::{Command, Producer};
use super::producer_record::ProducerRecord;
use rskafka::client::partition::Compression;
use rskafka::record::Record;
use std::collections::BTreeMap;
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};
use weir::runtime::graph::key_group::stable_hash;
use weir::{BoxError, SinkWriter};

/// What the sink promises about the records it was given when a checkpoint completes
/// (Flink's `DeliveryGuarantee`, without `EXACTLY_ONCE`: that needs Kafka transactions,
/// which rskafka does not speak).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryGuarantee {
    /// Every record written before a checkpoint's barrier is acknowledged by the broker
    /// before the checkpoint's snapshot is taken: none is lost, a replay after a failure may
    /// produce some twice.
    #[default]
    AtLeastOnce,
    /// Records are sent as batches fill and at each barrier, without waiting for the broker:
    /// a failure may lose some.
    None,
}

/// The serializer of a sink: a stream record to what is produced.
type Serializer<T> = Arc<dyn Fn(&T) -> Result<ProducerRecord, BoxError> + Send + Sync>;

/// Builds [`KafkaSink`]s, one per subtask; see [`KafkaSink::builder`].
pub struct KafkaSinkBuilder<T> {
    connection: Connection,
    topic: String,
    client_id: String,
    batch_size: usize,
    guarantee: DeliveryGuarantee,
    serializer: Serializer<T>,
}

impl<T> Clone for KafkaSinkBuilder<T> {
    fn clone(&self) -> Self {
        KafkaSinkBuilder {
            connection: self.connection.clone(),
            topic: self.topic.clone(),
            client_id: self.client_id.clone(),
            batch_size: self.batch_size,
            guarantee: self.guarantee,
            serializer: self.serializer.clone(),
        }
    }
}

impl<T> KafkaSinkBuilder<T> {
    /// The bootstrap servers, comma-separated (by default [`crate::env::kafka_url`]).
    pub fn bootstrap_servers(mut self, servers: &str) -> Self {
        self.connection.bootstrap = Connection::new(servers).bootstrap;
        self
    }

    /// How long to keep trying an unreachable broker before failing (by default
    /// [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.connection.retry = retry;
        self
    }

    /// How many records are gathered before they are sent (by default 1000); a barrier sends
    /// what is gathered whatever the count.
    pub fn batch_size(mut self, records: usize) -> Self {
        self.batch_size = records.max(1);
        self
    }

    /// The delivery guarantee (by default [`DeliveryGuarantee::AtLeastOnce`]).
    pub fn delivery_guarantee(mut self, guarantee: DeliveryGuarantee) -> Self {
        self.guarantee = guarantee;
        self
    }

    /// The client id the brokers see (by default `weir`).
    pub fn client_id(mut self, id: &str) -> Self {
        self.client_id = id.to_string();
        self
    }

    /// The sink of one subtask: starts its producer thread, which connects and reads the
    /// topic's partitions (an error names the brokers and says how to start one).
    pub fn build(&self) -> Result<KafkaSink<T>, KafkaSinkError> {
        let (commands, received) = mpsc::sync_channel::<Command>(2);
        let (ready, started) = mpsc::channel::<Result<Vec<i32>, KafkaSinkError>>();
        let (connection, topic, id) = (
            self.connection.clone(),
            self.topic.clone(),
            self.client_id.clone(),
        );
        let thread_error = |what: String| KafkaSinkError::Producer {
            topic: self.topic.clone(),
            what,
        };
        let thread = std::thread::Builder::new()
            .name(format!("weir-kafka-produce-{}", self.topic))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready.send(Err(KafkaSinkError::Producer {
                            topic,
                            what: format!("cannot build its runtime: {e}"),
                        }));
                        return;
                    }
                };
                let producer = runtime.block_on(Producer::connect(
                    connection,
                    topic,
                    id,
                    Compression::NoCompression,
                ));
                match producer {
                    Ok(p) => {
                        let _ = ready.send(Ok(p.partitions.keys().copied().collect()));
                        p.serve(&runtime, received);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|e| thread_error(format!("cannot start: {e}")))?;
        let partitions = match started.recv() {
            Ok(Ok(partitions)) => partitions,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(thread_error("ended while connecting".into())),
        };
        Ok(KafkaSink {
            topic: self.topic.clone(),
            serializer: self.serializer.clone(),
            batch_size: self.batch_size,
            guarantee: self.guarantee,
            partitions,
            gathered: BTreeMap::new(),
            count: 0,
            next: 0,
            commands: Some(commands),
            thread: Some(thread),
        })
    }
}

/// Produces a stream's records to one topic; apply it with
/// `stream.sink_to(move |_| Ok(builder.build()?))`.
///
/// # Guarantees
/// - [`DeliveryGuarantee::AtLeastOnce`] (the default): at every checkpoint barrier the sink
///   sends what it gathered and waits until the broker acknowledged every record written so
///   far; a failure to produce (after the retry policy) fails the snapshot, so no checkpoint
///   completes over an unacknowledged record. After a failover the records since the last
///   completed checkpoint are produced again: duplicates, never loss.
/// - Records of one partition are produced in the order they were written.
/// - Not built: exactly-once (Kafka transactions; rskafka has no transactional producer, and
///   the brokers weir is tested against refuse transactions) and the idempotent producer
///   (rskafka sends no producer id or sequence numbers, so the broker cannot drop a retried
///   batch it already wrote).
pub struct KafkaSink<T> {
    topic: String,
    serializer: Serializer<T>,
    batch_size: usize,
    guarantee: DeliveryGuarantee,
    partitions: Vec<i32>,
    gathered: BTreeMap<i32, Vec<Record>>,
    count: usize,
    /// Spreads records without key or partition over the partitions.
    next: usize,
    commands: Option<SyncSender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl<T> KafkaSink<T> {
    /// A builder of sinks producing to `topic` at [`crate::env::kafka_url`], each record
    /// turned into a [`ProducerRecord`] by `serializer`.
    pub fn builder<F>(topic: &str, serializer: F) -> KafkaSinkBuilder<T>
    where
        F: Fn(&T) -> Result<ProducerRecord, BoxError> + Send + Sync + 'static,
    {
        KafkaSinkBuilder {
            connection: Connection::new(&crate::env::kafka_url()),
            topic: topic.to_string(),
            client_id: "weir".into(),
            batch_size: 1000,
            guarantee: DeliveryGuarantee::AtLeastOnce,
            serializer: Arc::new(serializer),
        }
    }

    fn partition_of(&mut self, record: &ProducerRecord) -> Result<i32, KafkaSinkError> {
        let n = self.partitions.len();
        if n == 0 {
            return Err(KafkaSinkError::NoSuchPartition {
                topic: self.topic.clone(),
                partition: record.partition.unwrap_or(0),
                partitions: 0,
            });
        }
        let index = match (record.partition, &record.key) {
            (Some(p), _) => {
                return match self.partitions.contains(&p) {
                    true => Ok(p),
                    false => Err(KafkaSinkError::NoSuchPartition {
                        topic: self.topic.clone(),
                        partition: p,
                        partitions: n,
                    }),
                }
            }
            (None, Some(key)) => (stable_hash(key.as_slice()) % n as u64) as usize,
            (None, None) => {
                self.next = (self.next + 1) % n;
                self.next
            }
        };
        Ok(self.partitions[index])
    }

    fn send(&mut self, command: Command) -> Result<(), KafkaSinkError> {
        let sent = self.commands.as_ref().map(|c| c.send(command));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(KafkaSinkError::Producer {
                topic: self.topic.clone(),
                what: "is gone".into(),
            }),
        }
    }

    fn send_gathered(&mut self) -> Result<(), KafkaSinkError> {
        if self.count == 0 {
            return Ok(());
        }
        self.count = 0;
        let batches = std::mem::take(&mut self.gathered);
        self.send(Command::Produce(batches))
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl<T: Send + 'static> SinkWriter<T> for KafkaSink<T> {
    fn write(&mut self, record: T) -> Result<(), BoxError> {
        let produced = (self.serializer)(&record).map_err(|source| KafkaSinkError::Serialize {
            topic: self.topic.clone(),
            source,
        })?;
        let partition = self.partition_of(&produced)?;
        let ms = produced.timestamp.unwrap_or_else(now_ms);
        let record = Record {
            key: produced.key,
            value: produced.value,
            headers: produced.headers,
            timestamp: rskafka::chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default(),
        };
        self.gathered.entry(partition).or_default().push(record);
        self.count += 1;
        if self.count >= self.batch_size {
            self.send_gathered()?;
        }
        Ok(())
    }

    /// Sends what is gathered; with [`DeliveryGuarantee::AtLeastOnce`] also waits until the
    /// broker acknowledged every record written so far (an error fails the snapshot).
    fn flush(&mut self, _: bool) -> Result<(), BoxError> {
        self.send_gathered()?;
        if self.guarantee == DeliveryGuarantee::None {
            return Ok(());
        }
        let (answer, answered) = mpsc::channel();
        self.send(Command::Flush(answer))?;
        match answered.recv() {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(KafkaSinkError::Producer {
                topic: self.topic.clone(),
                what: "ended before the flush was answered".into(),
            }
            .into()),
        }
    }
}

impl<T> Drop for KafkaSink<T> {
    fn drop(&mut self) {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!(topic = %self.topic, "Kafka sink: the producer thread panicked");
            }
        }
    }
}
