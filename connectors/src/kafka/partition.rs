//! Talking to one partition's leader: opening its client and looking up offsets, each retried
//! as the source's [`RetryPolicy`](super::RetryPolicy) says.

use super::connection::{Connection, Exhausted, RetryError, TryError};
use super::error::KafkaSourceError;
use super::offsets::Lookup;
use rskafka::client::error::{Error as ClientError, ProtocolError, ServerErrorResponse};
use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::Client;

/// Whether a client error is the broker saying the offset is out of range.
pub(crate) fn is_out_of_range(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::ServerError {
            protocol_error: ProtocolError::OffsetOutOfRange,
            ..
        }
    )
}

/// The source's error for an operation `what` whose tries were used up.
pub(crate) fn unreachable(connection: &Connection, what: &str, e: Exhausted) -> KafkaSourceError {
    KafkaSourceError::Unreachable {
        brokers: connection.brokers(),
        what: what.to_string(),
        attempts: e.attempts,
        waited_ms: e.waited.as_millis(),
        message: e.message,
    }
}

/// The source's error for a retried operation `what` that failed.
pub(crate) fn failed(
    connection: &Connection,
    what: &str,
    e: RetryError<KafkaSourceError>,
) -> KafkaSourceError {
    match e {
        RetryError::Exhausted(e) => unreachable(connection, what, e),
        RetryError::Fatal(e) => e,
    }
}

/// The client of `topic`'s `partition`, connected to its leader.
pub(crate) async fn open(
    connection: &Connection,
    client: &Client,
    topic: &str,
    partition: i32,
) -> Result<PartitionClient, KafkaSourceError> {
    let what = format!("open {topic}-{partition}");
    connection
        .retry(&what, || async {
            client
                .partition_client(topic, partition, UnknownTopicHandling::Error)
                .await
                .map_err(|e| TryError::<KafkaSourceError>::Retry(e.to_string()))
        })
        .await
        .map_err(|e| failed(connection, &what, e))
}

/// The offset `lookup` names in the partition: a timestamp with no record at or after it
/// gives the partition's end.
pub(crate) async fn resolve(
    connection: &Connection,
    partition: &PartitionClient,
    lookup: Lookup,
) -> Result<i64, KafkaSourceError> {
    let at = match lookup {
        Lookup::Exactly(offset) => return Ok(offset),
        Lookup::Earliest => OffsetAt::Earliest,
        Lookup::Latest => return end_offset(connection, partition).await,
        Lookup::Timestamp(ms) => match rskafka::chrono::DateTime::from_timestamp_millis(ms) {
            Some(t) => OffsetAt::Timestamp(t),
            None => {
                return Err(KafkaSourceError::Request {
                    what: format!("starting offsets at timestamp {ms}"),
                    message: "not a valid time".into(),
                })
            }
        },
    };
    let offset = offset_at(connection, partition, at).await?;
    match (lookup, offset) {
        (Lookup::Timestamp(_), o) if o < 0 => end_offset(connection, partition).await,
        (_, o) => Ok(o),
    }
}

/// The partition's offset `at` (earliest, latest, by timestamp) as the broker lists it.
pub(crate) async fn offset_at(
    connection: &Connection,
    partition: &PartitionClient,
    at: OffsetAt,
) -> Result<i64, KafkaSourceError> {
    let what = format!(
        "list offsets ({at:?}) of {}-{}",
        partition.topic(),
        partition.partition()
    );
    connection
        .retry(&what, || async {
            partition
                .get_offset(at)
                .await
                .map_err(|e| TryError::<KafkaSourceError>::Retry(e.to_string()))
        })
        .await
        .map_err(|e| failed(connection, &what, e))
}

/// The partition's end: the offset after its last record. That is what `ListOffsets` answers
/// for "latest", but nisshi 0.6.0 answers the base offset of the last batch plus one there, so
/// the answer is checked against the high watermark a fetch at it reports (an empty fetch on
/// Kafka, a short one on nisshi), and the larger is taken.
pub(crate) async fn end_offset(
    connection: &Connection,
    partition: &PartitionClient,
) -> Result<i64, KafkaSourceError> {
    let listed = offset_at(connection, partition, OffsetAt::Latest).await?;
    let what = format!(
        "high watermark of {}-{}",
        partition.topic(),
        partition.partition()
    );
    connection
        .retry(&what, || async {
            match partition.fetch_records(listed, 1..65_536, 1).await {
                Ok((_, high_watermark)) => Ok(listed.max(high_watermark)),
                Err(ClientError::ServerError {
                    protocol_error: ProtocolError::OffsetOutOfRange,
                    response: Some(ServerErrorResponse::PartitionFetchState { high_watermark, .. }),
                    ..
                }) => Ok(listed.max(high_watermark)),
                Err(e) => Err(TryError::<KafkaSourceError>::Retry(e.to_string())),
            }
        })
        .await
        .map_err(|e| failed(connection, &what, e))
}
