//! [`KafkaSourceError`] and [`KafkaSinkError`]: what can go wrong talking to Kafka, naming the
//! brokers, the topic, the partition and the offset involved.

/// The command that starts the local test broker, for errors saying the broker is down.
pub(crate) const START_HINT: &str = "start a broker, e.g. `nisshi --listener-url \
     tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 \
     --storage-engine memory://nisshi/` (or run .ci/services)";

/// An error of the Kafka source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaSourceError {
    /// The brokers could not be reached (or kept failing) through every retry.
    #[error(
        "Kafka source: the brokers {brokers} are unreachable ({what}) after {attempts} attempts \
         over {waited_ms} ms: {message}; is a broker running? ({START_HINT})"
    )]
    Unreachable {
        /// The bootstrap servers.
        brokers: String,
        /// What was tried: `connect`, `list topics`, `fetch orders-1 at 42`…
        what: String,
        /// How many attempts were made.
        attempts: u32,
        /// How long the attempts took.
        waited_ms: u128,
        /// The last error the client reported.
        message: String,
    },
    /// A topic the source was told to read does not exist.
    #[error("Kafka source: topic {topic:?} does not exist (brokers {brokers})")]
    TopicNotFound {
        /// The topic.
        topic: String,
        /// The bootstrap servers.
        brokers: String,
    },
    /// The offset to read from is not held by the broker any more (deleted by retention, or the
    /// topic was recreated), and the reset policy is [`OffsetResetPolicy::None`](super::OffsetResetPolicy::None).
    /// The reader returns it inside [`weir::SuppressRestarts`]: a restore would resume at the
    /// same offset, so the job fails at once.
    #[error(
        "Kafka source: offset {offset} of {topic}-{partition} is out of range (the broker \
         holds {earliest}..{latest}); set OffsetResetPolicy::Earliest to resume at the earliest \
         offset, losing what lay between"
    )]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset that was to be read next.
        offset: i64,
        /// The earliest offset the broker holds.
        earliest: i64,
        /// The offset after the last record the broker holds.
        latest: i64,
    },
    /// The broker refused a request for a reason retrying does not cure.
    #[error("Kafka source: {what} failed: {message}")]
    Request {
        /// What was asked: `fetch orders-1 at 42`, `list offsets of orders-1`…
        what: String,
        /// What the client reported.
        message: String,
    },
    /// The deserializer refused a record.
    #[error("Kafka source: the record at offset {offset} of {topic}-{partition} does not deserialize: {source}")]
    Deserialize {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The record's offset.
        offset: i64,
        /// The deserializer's error.
        source: weir::BoxError,
    },
    /// The job runs in deterministic mode, where no thread may read from the network (inside
    /// [`weir::SuppressRestarts`]: the job fails at once).
    #[error(
        "Kafka source {operator}: cannot run in deterministic mode (it reads on a thread of its \
         own); run the job in real time"
    )]
    Deterministic {
        /// The source operator.
        operator: String,
    },
    /// The fetcher's thread could not be started or went away.
    #[error("Kafka source {operator}: the fetcher thread {what}")]
    Fetcher {
        /// The source operator.
        operator: String,
        /// What happened to it.
        what: String,
    },
}

/// An error of the Kafka sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaSinkError {
    /// The brokers could not be reached (or kept failing) through every retry.
    #[error(
        "Kafka sink: the brokers {brokers} are unreachable ({what}) after {waited_ms} ms: \
         {message}; is a broker running? ({START_HINT})"
    )]
    Unreachable {
        /// The bootstrap servers.
        brokers: String,
        /// What was tried: `connect`, `metadata of orders`…
        what: String,
        /// How long the attempts took.
        waited_ms: u128,
        /// The last error the client reported.
        message: String,
    },
    /// The topic to write to does not exist.
    #[error("Kafka sink: topic {topic:?} does not exist (brokers {brokers})")]
    TopicNotFound {
        /// The topic.
        topic: String,
        /// The bootstrap servers.
        brokers: String,
    },
    /// Producing records failed (after the client's retries): they are not acknowledged, so the
    /// checkpoint they belong to must not complete.
    #[error("Kafka sink: producing {records} records to {topic}-{partition} failed: {message}")]
    Produce {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// How many records the request had.
        records: usize,
        /// What the client reported.
        message: String,
    },
    /// The serializer refused a record.
    #[error("Kafka sink: a record for topic {topic} does not serialize: {source}")]
    Serialize {
        /// The topic.
        topic: String,
        /// The serializer's error.
        source: weir::BoxError,
    },
    /// The serializer chose a partition the topic does not have.
    #[error("Kafka sink: partition {partition} does not exist in topic {topic} ({partitions} partitions)")]
    NoSuchPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
        /// How many partitions the topic has.
        partitions: usize,
    },
    /// The producer's thread could not be started or went away.
    #[error("Kafka sink for topic {topic}: the producer thread {what}")]
    Producer {
        /// The topic.
        topic: String,
        /// What happened to it.
        what: String,
    },
}
