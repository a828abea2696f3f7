//! The reference job's input: produced into a Kafka topic (3 partitions) or a JetStream stream
//! (3 subjects) by a weir job of its own, and read back by the matching split source, bounded
//! at what the topic or stream held when the job started.

use weir::{DataStream, StreamEnvironment};
use weir_connectors::kafka::{value_only, KafkaSink, KafkaSource, ProducerRecord};
use weir_connectors::nats::{JetStreamSink, JetStreamSource};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Kafka topic (`WEIR_KAFKA_URL`).
    Kafka,
    /// A NATS JetStream stream (`WEIR_NATS_URL`).
    JetStream,
}

impl Source {
    /// `kafka` or `jetstream`.
    pub fn parse(name: &str) -> Result<Source, BoxError> {
        match name {
            "kafka" => Ok(Source::Kafka),
            "jetstream" | "nats" => Ok(Source::JetStream),
            other => Err(format!("--source {other}: kafka or jetstream").into()),
        }
    }
}

const PARTITIONS: i32 = 3;

fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn decode(bytes: &[u8]) -> Result<u64, BoxError> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("a record of {} bytes, not 8", bytes.len()))?;
    Ok(u64::from_be_bytes(bytes))
}

/// (Re)creates the topic or stream `name` and writes the ids `0..records` into it.
pub fn produce(source: Source, name: &str, records: u64) -> Result<(), BoxError> {
    delete(source, name)?;
    let rt = runtime()?;
    let mut env = StreamEnvironment::new();
    env.set_parallelism(1);
    let ids = env
        .generate_sequence(0, records.saturating_sub(1))
        .uid("ids");
    match source {
        Source::Kafka => {
            rt.block_on(async {
                let client =
                    rskafka::client::ClientBuilder::new(vec![weir_connectors::env::kafka_url()])
                        .build()
                        .await?;
                client
                    .controller_client()?
                    .create_topic(name, PARTITIONS, 1, 5_000)
                    .await?;
                Ok::<_, BoxError>(())
            })?;
            let sink = KafkaSink::builder(name, |id: &u64| {
                Ok(ProducerRecord::value(id.to_be_bytes().to_vec())
                    .with_partition((id % PARTITIONS as u64) as i32))
            });
            ids.sink_to(move |_| Ok(sink.build()?)).uid("produce");
        }
        Source::JetStream => {
            rt.block_on(async {
                let client = async_nats::connect(weir_connectors::nats::nats_url()).await?;
                let js = async_nats::jetstream::new(client);
                js.create_stream(async_nats::jetstream::stream::Config {
                    name: name.to_string(),
                    subjects: vec![format!("{name}.>")],
                    ..Default::default()
                })
                .await?;
                Ok::<_, BoxError>(())
            })?;
            let prefix = name.to_string();
            let sink = JetStreamSink::builder(format!("{name}.0"), |id: &u64| {
                Ok(id.to_be_bytes().to_vec())
            })
            .subject_by(move |id| format!("{prefix}.{}", id % PARTITIONS as u64));
            ids.sink_to(move |_| Ok(sink.build()?)).uid("produce");
        }
    }
    env.execute()?;
    Ok(())
}

/// Deletes the topic or stream `name`, if it is there.
pub fn delete(source: Source, name: &str) -> Result<(), BoxError> {
    let rt = runtime()?;
    rt.block_on(async {
        match source {
            Source::Kafka => {
                let client =
                    rskafka::client::ClientBuilder::new(vec![weir_connectors::env::kafka_url()])
                        .build()
                        .await?;
                let exists = client.list_topics().await?.iter().any(|t| t.name == name);
                if exists {
                    client
                        .controller_client()?
                        .delete_topic(name, 5_000)
                        .await?;
                }
            }
            Source::JetStream => {
                let client = async_nats::connect(weir_connectors::nats::nats_url()).await?;
                let js = async_nats::jetstream::new(client);
                let _ = js.delete_stream(name).await;
            }
        }
        Ok::<_, BoxError>(())
    })?;
    Ok(())
}

/// The ids, read from the topic or stream `name` up to its end at the job's start.
pub fn ids(
    env: &StreamEnvironment,
    source: Source,
    name: &str,
) -> Result<DataStream<u64>, BoxError> {
    Ok(match source {
        Source::Kafka => {
            let source = KafkaSource::builder()
                .topics([name])
                .bounded()
                .build(value_only(decode));
            env.from_source(source, "Source: Kafka").uid("input")
        }
        Source::JetStream => {
            let source = JetStreamSource::builder(name, |m| decode(m.payload))
                .bounded()
                .build();
            env.from_source(source, "Source: JetStream").uid("input")
        }
    })
}
