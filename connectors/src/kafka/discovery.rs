//! Partition discovery: the splits of every selected topic, each starting where the source's
//! [`StartingOffsets`](super::StartingOffsets) say (the first discovery) or at its earliest
//! offset (a partition found later), and, for a bounded source, stopping at its end.

use super::connection::TryError;
use super::error::KafkaSourceError;
use super::offsets::Lookup;
use super::partition::{failed, open, resolve, unreachable};
use super::source::{SourceSettings, Topics};
use super::split::KafkaPartitionSplit;
use rskafka::client::Client;
use std::collections::BTreeMap;
use weir::source::SourceSplit;

/// Every split of the selected topics: those in `known` as they are, new ones resolved on the
/// brokers (from the starting offsets when `first`, else from the earliest).
pub(crate) async fn discover(
    settings: &SourceSettings,
    mut known: BTreeMap<String, KafkaPartitionSplit>,
    first: bool,
) -> Result<BTreeMap<String, KafkaPartitionSplit>, KafkaSourceError> {
    let connection = &settings.connection;
    let client = (connection.client(&settings.client_id).await)
        .map_err(|e| unreachable(connection, "connect", e))?;
    for (topic, partitions) in selected(settings, &client).await? {
        for partition in partitions {
            let mut split = KafkaPartitionSplit {
                topic: topic.clone(),
                partition,
                next_offset: 0,
                stopping_offset: None,
            };
            let id = split.split_id();
            if known.contains_key(&id) {
                continue;
            }
            let lookup = match first {
                true => settings.starting.lookup(&topic, partition),
                false => Lookup::Earliest,
            };
            let leader = open(connection, &client, &topic, partition).await?;
            split.next_offset = resolve(connection, &leader, lookup).await?;
            if settings.bounded {
                split.stopping_offset = Some(resolve(connection, &leader, Lookup::Latest).await?);
            }
            tracing::info!(
                split = %id,
                "Kafka source: found partition {id}, starting at offset {}{}",
                split.next_offset,
                split.stopping_offset.map(|s| format!(", stopping at {s}")).unwrap_or_default()
            );
            known.insert(id, split);
        }
    }
    Ok(known)
}

/// The selected topics with their partitions, sorted by name.
async fn selected(
    settings: &SourceSettings,
    client: &Client,
) -> Result<Vec<(String, Vec<i32>)>, KafkaSourceError> {
    let connection = &settings.connection;
    let topics = connection
        .retry("list topics", || async {
            client
                .list_topics()
                .await
                .map_err(|e| TryError::<KafkaSourceError>::Retry(e.to_string()))
        })
        .await
        .map_err(|e| failed(connection, "list topics", e))?;
    let mut all: BTreeMap<String, Vec<i32>> = (topics.into_iter())
        .map(|t| (t.name, t.partitions.into_iter().collect()))
        .collect();
    match &settings.topics {
        Topics::Named(names) => names
            .iter()
            .map(|name| match all.remove(name) {
                Some(partitions) => Ok((name.clone(), partitions)),
                None => Err(KafkaSourceError::TopicNotFound {
                    topic: name.clone(),
                    brokers: connection.brokers(),
                }),
            })
            .collect(),
        Topics::Matching(test) => Ok(all.into_iter().filter(|(name, _)| test(name)).collect()),
    }
}
