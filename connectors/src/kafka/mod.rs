//! Kafka (feature `kafka`): [`KafkaSource`], the partitions of topics as the splits of a
//! source, with offsets kept in weir's checkpoints (exactly-once into the job's state), and
//! [`KafkaSink`], an at-least-once producer.
//!
//! The client is [rskafka](https://docs.rs/rskafka), a pure-Rust implementation of the Kafka
//! protocol, rather than rdkafka: rdkafka wraps librdkafka, a C library built from source by
//! its `-sys` crate (with CMake, and OpenSSL, zlib and zstd for its usual features), minutes
//! of C build and a toolchain weir's users would otherwise not need. What rskafka leaves out,
//! weir does not fake:
//! - no consumer groups: the source commits no offsets back to Kafka (weir never reads them
//!   anyway; its positions are in its checkpoints), so Kafka's tools show no lag for a job;
//! - no idempotent or transactional producer: the sink is at-least-once (see
//!   [`DeliveryGuarantee`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use weir::StreamEnvironment;
//! use weir_connectors::kafka::{value_only, KafkaSink, KafkaSource, ProducerRecord};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut env = StreamEnvironment::new();
//! env.enable_checkpointing(Duration::from_secs(1));
//! let source = KafkaSource::builder()
//!     .topics(["words"])
//!     .bounded()
//!     .build(value_only(|v| Ok(String::from_utf8(v.to_vec())?)));
//! let sink = KafkaSink::builder("counts", |c: &(String, u64)| {
//!     Ok(ProducerRecord::value(c.1.to_string()).with_key(c.0.clone()))
//! });
//! env.from_source(source, "Source: Kafka")
//!     .uid("words")
//!     .map(|w| (w, 1u64))
//!     .key_by(|c| c.0.clone())
//!     .reduce(|a, b| (a.0, a.1 + b.1))
//!     .uid("count")
//!     .sink_to(move |_| Ok(sink.build()?))
//!     .uid("counts");
//! env.execute()?;
//! # Ok(())
//! # }
//! ```
//!
//! | file | what |
//! | --- | --- |
//! | `source` | [`KafkaSource`] and its builder |
//! | `split` | [`KafkaPartitionSplit`]: a partition and its next offset |
//! | `offsets` | [`StartingOffsets`], [`OffsetResetPolicy`] |
//! | `discovery` | the partitions of the selected topics, resolved to their starting offsets |
//! | `reader` | [`KafkaSourceReader`]: a subtask's partitions, positions of emitted records |
//! | `fetcher` | the fetcher thread: one task per partition into the reader's queue |
//! | `partition` | a partition's leader: opening it, looking up offsets |
//! | `record` | [`KafkaRecord`] and the `value_*` deserializers |
//! | `sink` | [`KafkaSink`] and its builder |
//! | `producer` | the sink's producer thread |
//! | `producer_record` | [`ProducerRecord`] |
//! | `connection` | bootstrap servers, [`RetryPolicy`] |
//! | `error` | [`KafkaSourceError`], [`KafkaSinkError`] |

mod connection;
mod discovery;
mod error;
mod fetcher;
mod offsets;
mod partition;
mod producer;
mod producer_record;
mod reader;
mod record;
mod sink;
mod source;
mod split;

pub use connection::RetryPolicy;
pub use error::{KafkaSinkError, KafkaSourceError};
pub use offsets::{OffsetResetPolicy, StartingOffsets};
pub use producer_record::ProducerRecord;
pub use reader::KafkaSourceReader;
pub use record::{value_bytes, value_only, value_string, Deserializer, KafkaRecord};
pub use sink::{DeliveryGuarantee, KafkaSink, KafkaSinkBuilder};
pub use source::{KafkaSource, KafkaSourceBuilder};
pub use split::KafkaPartitionSplit;
