//! The fetcher: a thread of its own running a small tokio runtime, one task per partition,
//! each fetching records into the reader's [`FetchQueue`](weir::source::FetchQueue) (which
//! wakes the subtask and holds the task back while it is full).

use super::connection::{RetryError, TryError};
use super::error::KafkaSourceError;
use super::offsets::OffsetResetPolicy;
use super::partition::{end_offset, is_out_of_range, offset_at, open, unreachable};
use super::source::SourceSettings;
use super::split::KafkaPartitionSplit;
use rskafka::client::partition::{OffsetAt, PartitionClient};
use rskafka::client::Client;
use rskafka::record::RecordAndOffset;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, OnceCell};
use weir::source::{FetchSender, SourceSplit};

/// What the fetcher hands the reader, in order per partition.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// Records of split `split`, in offset order, none at or past its stopping offset.
    Records {
        split: String,
        records: Vec<RecordAndOffset>,
    },
    /// Split `split` is read up to its stopping offset.
    End { split: String },
    /// Reading failed for good: the reader fails its subtask with this.
    Failed(KafkaSourceError),
}

/// Runs the fetcher until `commands` closes (the reader went away): each split received is
/// fetched by a task of its own from its `next_offset` on.
pub(crate) fn run(
    settings: Arc<SourceSettings>,
    mut commands: mpsc::UnboundedReceiver<KafkaPartitionSplit>,
    queue: FetchSender<Fetched>,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build its runtime: {e}"))?;
    let client = Arc::new(OnceCell::<Arc<Client>>::new());
    runtime.block_on(async move {
        while let Some(split) = commands.recv().await {
            let task = PartitionFetch {
                settings: settings.clone(),
                client: client.clone(),
                queue: queue.clone(),
            };
            tokio::spawn(task.run(split));
        }
    });
    // Dropping the runtime here cancels every partition's task.
    Ok(())
}

/// One partition's fetch loop.
struct PartitionFetch {
    settings: Arc<SourceSettings>,
    client: Arc<OnceCell<Arc<Client>>>,
    queue: FetchSender<Fetched>,
}

impl PartitionFetch {
    async fn run(self, split: KafkaPartitionSplit) {
        if let Err(e) = self.fetch(split).await {
            let _ = self.queue.send(Fetched::Failed(e)).await;
        }
    }

    async fn leader(
        &self,
        split: &KafkaPartitionSplit,
    ) -> Result<PartitionClient, KafkaSourceError> {
        let connection = &self.settings.connection;
        let client = self
            .client
            .get_or_try_init(|| async {
                (connection.client(&self.settings.client_id).await)
                    .map(Arc::new)
                    .map_err(|e| unreachable(connection, "connect", e))
            })
            .await?;
        open(connection, client, &split.topic, split.partition).await
    }

    /// Fetches until the stopping offset, the reader goes away, or a failure.
    async fn fetch(&self, split: KafkaPartitionSplit) -> Result<(), KafkaSourceError> {
        let connection = &self.settings.connection;
        let fetch = self.settings.fetch;
        let leader = self.leader(&split).await?;
        let id = split.split_id();
        let mut offset = split.next_offset;
        let mut stopping = split.stopping_offset;
        let max_wait_ms = i32::try_from(fetch.max_wait.as_millis()).unwrap_or(i32::MAX);
        loop {
            if stopping.is_some_and(|end| offset >= end) {
                let _ = self.queue.send(Fetched::End { split: id }).await;
                return Ok(());
            }
            let what = format!("fetch {id} at {offset}");
            let started = Instant::now();
            let fetched = connection
                .retry(&what, || async {
                    match leader
                        .fetch_records(offset, 1..fetch.max_bytes, max_wait_ms)
                        .await
                    {
                        Ok(got) => Ok(got),
                        Err(e) if is_out_of_range(&e) => Err(TryError::Fatal(())),
                        Err(e) => Err(TryError::Retry(e.to_string())),
                    }
                })
                .await;
            let (mut records, high_watermark) = match fetched {
                Ok(got) => got,
                Err(RetryError::Fatal(())) => {
                    (offset, stopping) = self.out_of_range(&leader, offset, stopping).await?;
                    continue;
                }
                Err(RetryError::Exhausted(e)) => return Err(unreachable(connection, &what, e)),
            };
            records.retain(|r| r.offset >= offset);
            if let Some(end) = stopping {
                records.retain(|r| r.offset < end);
            }
            let Some(last) = records.last().map(|r| r.offset) else {
                if offset > high_watermark {
                    // Past the end the broker holds: some brokers answer so rather than with
                    // OFFSET_OUT_OF_RANGE.
                    (offset, stopping) = self.out_of_range(&leader, offset, stopping).await?;
                } else if started.elapsed() < fetch.max_wait / 2 {
                    // The broker answered at once without records: wait as long as it was
                    // allowed to hold the fetch, rather than ask again right away.
                    tokio::time::sleep(fetch.max_wait.saturating_sub(started.elapsed())).await;
                }
                continue;
            };
            offset = last + 1;
            let sent = self.queue.send(Fetched::Records {
                split: id.clone(),
                records,
            });
            if sent.await.is_err() {
                return Ok(());
            }
        }
    }

    /// `offset` is not held by the broker: where to go on (and where a bounded split now
    /// stops: the records up to its old end are gone), or the typed error, as the reset
    /// policy says.
    async fn out_of_range(
        &self,
        leader: &PartitionClient,
        offset: i64,
        stopping: Option<i64>,
    ) -> Result<(i64, Option<i64>), KafkaSourceError> {
        let connection = &self.settings.connection;
        let earliest = offset_at(connection, leader, OffsetAt::Earliest).await?;
        let latest = end_offset(connection, leader).await?;
        let (topic, partition) = (leader.topic().to_string(), leader.partition());
        if (earliest..=latest).contains(&offset) {
            // Held again by now (a leader moved): read on.
            return Ok((offset, stopping));
        }
        match self.settings.reset {
            OffsetResetPolicy::None => Err(KafkaSourceError::OffsetOutOfRange {
                topic,
                partition,
                offset,
                earliest,
                latest,
            }),
            OffsetResetPolicy::Earliest => {
                tracing::warn!(
                    "Kafka source: offset {offset} of {topic}-{partition} is out of range (the \
                     broker holds {earliest}..{latest}): resuming at {earliest}, DATA LOSS of \
                     every record between"
                );
                Ok((earliest, stopping.map(|end| end.min(latest))))
            }
        }
    }
}
