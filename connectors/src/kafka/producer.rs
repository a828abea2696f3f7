//! The sink's producer: a thread of its own with a small tokio runtime that produces the
//! batches the sink hands it, one request per partition at a time (so a partition keeps the
//! sink's order), and answers a flush once everything before it is acknowledged.

use super::connection::{Connection, RetryError, TryError};
use super::error::KafkaSinkError;
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::Client;
use rskafka::record::Record;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use tokio::task::JoinSet;

/// What the sink asks of its producer thread.
pub(crate) enum Command {
    /// Produce these records, by partition.
    Produce(BTreeMap<i32, Vec<Record>>),
    /// Answer once every batch before is acknowledged, with the first failure since the last
    /// flush.
    Flush(Sender<Result<(), KafkaSinkError>>),
}

/// The producer's view of the topic.
pub(crate) struct Producer {
    pub(crate) connection: Connection,
    pub(crate) topic: String,
    pub(crate) compression: Compression,
    pub(crate) partitions: BTreeMap<i32, Arc<PartitionClient>>,
}

impl Producer {
    /// Connects, and opens every partition of the topic.
    pub(crate) async fn connect(
        connection: Connection,
        topic: String,
        client_id: String,
        compression: Compression,
    ) -> Result<Producer, KafkaSinkError> {
        let lost = |what: &str, e: super::connection::Exhausted| KafkaSinkError::Unreachable {
            brokers: connection.brokers(),
            what: what.to_string(),
            waited_ms: e.waited.as_millis(),
            message: e.message,
        };
        let client: Client = connection
            .client(&client_id)
            .await
            .map_err(|e| lost("connect", e))?;
        let what = format!("metadata of {topic}");
        let topics = connection
            .retry(&what, || async {
                client
                    .list_topics()
                    .await
                    .map_err(|e| TryError::<Infallible>::Retry(e.to_string()))
            })
            .await;
        let topics = match topics {
            Ok(t) => t,
            Err(RetryError::Exhausted(e)) => return Err(lost(&what, e)),
            Err(RetryError::Fatal(never)) => match never {},
        };
        let Some(found) = topics.into_iter().find(|t| t.name == topic) else {
            return Err(KafkaSinkError::TopicNotFound {
                topic,
                brokers: connection.brokers(),
            });
        };
        let mut partitions = BTreeMap::new();
        for p in found.partitions {
            let what = format!("open {topic}-{p}");
            let opened = connection
                .retry(&what, || async {
                    (client
                        .partition_client(topic.as_str(), p, UnknownTopicHandling::Retry)
                        .await)
                        .map_err(|e| TryError::<Infallible>::Retry(e.to_string()))
                })
                .await;
            match opened {
                Ok(c) => partitions.insert(p, Arc::new(c)),
                Err(RetryError::Exhausted(e)) => return Err(lost(&what, e)),
                Err(RetryError::Fatal(never)) => match never {},
            };
        }
        Ok(Producer {
            connection,
            topic,
            compression,
            partitions,
        })
    }

    /// Serves `commands` on `runtime` until the sink goes away.
    pub(crate) fn serve(self, runtime: &tokio::runtime::Runtime, commands: Receiver<Command>) {
        let me = Arc::new(self);
        let mut failure: Option<KafkaSinkError> = None;
        for command in commands {
            match command {
                Command::Produce(batches) => {
                    if failure.is_none() {
                        failure = runtime.block_on(me.clone().produce(batches)).err();
                    }
                }
                Command::Flush(answer) => {
                    let _ = answer.send(failure.take().map_or(Ok(()), Err));
                }
            }
        }
    }

    /// Produces each partition's records at once, one request per partition.
    async fn produce(
        self: Arc<Self>,
        batches: BTreeMap<i32, Vec<Record>>,
    ) -> Result<(), KafkaSinkError> {
        let mut requests = JoinSet::new();
        for (partition, records) in batches {
            let me = self.clone();
            requests.spawn(async move { me.produce_partition(partition, records).await });
        }
        let mut first = Ok(());
        while let Some(done) = requests.join_next().await {
            let outcome = done.unwrap_or_else(|e| {
                Err(KafkaSinkError::Producer {
                    topic: self.topic.clone(),
                    what: format!("lost a request: {e}"),
                })
            });
            if first.is_ok() {
                first = outcome;
            }
        }
        first
    }

    async fn produce_partition(
        &self,
        partition: i32,
        records: Vec<Record>,
    ) -> Result<(), KafkaSinkError> {
        let count = records.len();
        let failed = |message: String| KafkaSinkError::Produce {
            topic: self.topic.clone(),
            partition,
            records: count,
            message,
        };
        let Some(client) = self.partitions.get(&partition) else {
            return Err(failed("no such partition".into()));
        };
        let what = format!("produce {count} records to {}-{partition}", self.topic);
        let records = &records;
        self.connection
            .retry(&what, || async {
                (client.produce(records.clone(), self.compression).await)
                    .map(drop)
                    .map_err(|e| TryError::<Infallible>::Retry(e.to_string()))
            })
            .await
            .map_err(|e| match e {
                RetryError::Exhausted(e) => failed(format!(
                    "{} (after {} attempts over {} ms)",
                    e.message,
                    e.attempts,
                    e.waited.as_millis()
                )),
                RetryError::Fatal(never) => match never {},
            })
    }
}
