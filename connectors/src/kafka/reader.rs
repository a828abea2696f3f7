//! [`KafkaSourceReader`]: one subtask's reader of its partitions. It takes what the fetcher
//! thread put into its queue, deserializes it on the subtask's thread, and keeps each
//! partition's position at the offset after the last record it returned.

use super::error::KafkaSourceError;
use super::fetcher::{self, Fetched};
use super::record::{Deserializer, KafkaRecord};
use super::source::SourceSettings;
use super::split::KafkaPartitionSplit;
use rskafka::record::RecordAndOffset;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc;
use weir::source::{FetchQueue, SourceSplit, SplitReader, SplitReaderContext};
use weir::{BoxError, CheckpointId, SourceStatus, SuppressRestarts};

/// Reads the partitions one subtask owns (see [`KafkaSource`](super::KafkaSource)).
///
/// # What happens when it stops
/// Dropping the reader closes the fetcher's command channel; the fetcher thread then cancels
/// its partitions' fetches and ends, and the drop waits for it. Records fetched but not yet
/// returned by [`read`](SplitReader::read) are dropped: they lie after the positions any
/// checkpoint recorded, so a restore fetches them again.
pub struct KafkaSourceReader<T> {
    operator: String,
    deserializer: Deserializer<T>,
    /// Every split given, at the offset after the last record returned.
    splits: BTreeMap<String, KafkaPartitionSplit>,
    queue: FetchQueue<Fetched>,
    /// Records taken from the queue, not yet all returned.
    pending: Option<(String, VecDeque<RecordAndOffset>)>,
    commands: Option<mpsc::UnboundedSender<KafkaPartitionSplit>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl<T> KafkaSourceReader<T> {
    /// Starts the fetcher thread of subtask `context`.
    pub(crate) fn start(
        settings: Arc<SourceSettings>,
        deserializer: Deserializer<T>,
        context: SplitReaderContext,
    ) -> Result<KafkaSourceReader<T>, KafkaSourceError> {
        let (sender, queue) = FetchQueue::bounded(settings.fetch.queue_batches, context.waker);
        let (commands, received) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name(format!("weir-kafka-fetch-{}", context.index))
            .spawn(move || fetcher::run(settings, received, sender))
            .map_err(|e| KafkaSourceError::Fetcher {
                operator: context.operator.clone(),
                what: format!("cannot start: {e}"),
            })?;
        Ok(KafkaSourceReader {
            operator: context.operator,
            deserializer,
            splits: BTreeMap::new(),
            queue,
            pending: None,
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    /// Deserializes up to `max - out.len()` pending records into `out`, moving their split's
    /// position past each.
    fn take_pending(&mut self, max: usize, out: &mut Vec<T>) -> Result<(), KafkaSourceError> {
        let Some((id, records)) = &mut self.pending else {
            return Ok(());
        };
        let Some(split) = self.splits.get_mut(id.as_str()) else {
            self.pending = None;
            return Ok(());
        };
        while out.len() < max {
            let Some(r) = records.pop_front() else { break };
            let record = KafkaRecord {
                topic: &split.topic,
                partition: split.partition,
                offset: r.offset,
                timestamp: r.record.timestamp.timestamp_millis(),
                key: r.record.key.as_deref(),
                value: r.record.value.as_deref(),
                headers: &r.record.headers,
            };
            let value =
                (self.deserializer)(record).map_err(|source| KafkaSourceError::Deserialize {
                    topic: split.topic.clone(),
                    partition: split.partition,
                    offset: r.offset,
                    source,
                })?;
            out.push(value);
            split.next_offset = r.offset + 1;
        }
        if records.is_empty() {
            self.pending = None;
        }
        Ok(())
    }

    /// What the fetcher left in the queue, until `out` holds `max` records or the queue is
    /// empty.
    fn drain(&mut self, max: usize, out: &mut Vec<T>) -> Result<(), KafkaSourceError> {
        loop {
            self.take_pending(max, out)?;
            if out.len() >= max || self.pending.is_some() {
                return Ok(());
            }
            match self.queue.try_next() {
                Some(Fetched::Records { split, records }) => {
                    self.pending = Some((split, records.into()));
                }
                Some(Fetched::End { split }) => {
                    if let Some(s) = self.splits.get_mut(&split) {
                        // Offsets may have gaps (compaction, transaction markers).
                        s.next_offset = s.stopping_offset.unwrap_or(s.next_offset);
                    }
                }
                Some(Fetched::Failed(e)) => return Err(e),
                None if self.queue.is_closed() => {
                    return Err(KafkaSourceError::Fetcher {
                        operator: self.operator.clone(),
                        what: "ended".into(),
                    })
                }
                None => return Ok(()),
            }
        }
    }
}

impl<T: Send + 'static> SplitReader<T> for KafkaSourceReader<T> {
    type Split = KafkaPartitionSplit;

    fn add_splits(&mut self, splits: Vec<KafkaPartitionSplit>) -> Result<(), BoxError> {
        for split in splits {
            let id = split.split_id();
            if self.splits.contains_key(&id) {
                continue;
            }
            if !split.is_finished() {
                let sent = self.commands.as_ref().map(|c| c.send(split.clone()));
                if !matches!(sent, Some(Ok(()))) {
                    return Err(KafkaSourceError::Fetcher {
                        operator: self.operator.clone(),
                        what: "is gone".into(),
                    }
                    .into());
                }
            }
            self.splits.insert(id, split);
        }
        Ok(())
    }

    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError> {
        let before = out.len();
        self.drain(before + max, out).map_err(|e| match e {
            // A restore would resume at the same offset: no restart cures it.
            KafkaSourceError::OffsetOutOfRange { .. } => SuppressRestarts::new(e).into(),
            e => BoxError::from(e),
        })?;
        if out.len() > before {
            return Ok(SourceStatus::More);
        }
        if self.splits.values().all(KafkaPartitionSplit::is_finished) {
            return Ok(SourceStatus::Finished);
        }
        Ok(SourceStatus::Pending)
    }

    fn snapshot_splits(&mut self, _: CheckpointId) -> Result<Vec<KafkaPartitionSplit>, BoxError> {
        Ok(self.splits.values().cloned().collect())
    }
}

impl<T> Drop for KafkaSourceReader<T> {
    fn drop(&mut self) {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(operator = %self.operator, "Kafka fetcher: {e}"),
                Err(_) => tracing::warn!(operator = %self.operator, "Kafka fetcher panicked"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rskafka::chrono::DateTime;
    use rskafka::record::Record;
    use weir::runtime::graph::task_waker::TaskWaker;
    use weir::source::FetchSender;

    fn split(partition: i32, next: i64, stop: Option<i64>) -> KafkaPartitionSplit {
        KafkaPartitionSplit {
            topic: "t".into(),
            partition,
            next_offset: next,
            stopping_offset: stop,
        }
    }

    fn records(offsets: &[i64]) -> Vec<RecordAndOffset> {
        (offsets.iter())
            .map(|&offset| RecordAndOffset {
                record: Record {
                    key: None,
                    value: Some(offset.to_string().into_bytes()),
                    headers: Default::default(),
                    timestamp: DateTime::from_timestamp_millis(0).unwrap_or_default(),
                },
                offset,
            })
            .collect()
    }

    /// A reader without a fetcher thread: the test is the fetcher.
    fn reader(splits: Vec<KafkaPartitionSplit>) -> (KafkaSourceReader<i64>, FetchSender<Fetched>) {
        let (sender, queue) = FetchQueue::bounded(16, TaskWaker::new(|| {}));
        let deserializer: Deserializer<i64> = Arc::new(|r: KafkaRecord<'_>| {
            let text = std::str::from_utf8(r.value.unwrap_or_default())?;
            match text.parse::<i64>()? {
                13 => Err("unlucky".into()),
                v => Ok(v),
            }
        });
        let reader = KafkaSourceReader {
            operator: "Source: Kafka [kafka]".into(),
            deserializer,
            splits: splits.into_iter().map(|s| (s.split_id(), s)).collect(),
            queue,
            pending: None,
            commands: None,
            thread: None,
        };
        (reader, sender)
    }

    fn positions(reader: &mut KafkaSourceReader<i64>) -> Vec<(i32, i64)> {
        let splits = reader.snapshot_splits(1).unwrap();
        splits
            .iter()
            .map(|s| (s.partition, s.next_offset))
            .collect()
    }

    #[test]
    fn positions_are_those_after_the_records_returned_not_those_fetched() {
        let (mut reader, fetcher) = reader(vec![split(0, 5, None), split(1, 0, None)]);
        let mut out = Vec::new();
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::Pending);
        let batch = records(&[5, 6, 8, 9]);
        fetcher
            .send_blocking(Fetched::Records {
                split: "t-0".into(),
                records: batch,
            })
            .unwrap();
        assert_eq!(reader.read(3, &mut out).unwrap(), SourceStatus::More);
        assert_eq!(out, [5, 6, 8]);
        assert_eq!(positions(&mut reader), [(0, 9), (1, 0)]);
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::More);
        assert_eq!(positions(&mut reader), [(0, 10), (1, 0)]);
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::Pending);
    }

    #[test]
    fn a_bounded_reader_finishes_once_every_split_reached_its_end() {
        let (mut reader, fetcher) = reader(vec![split(0, 0, Some(3)), split(1, 4, Some(4))]);
        let mut out = Vec::new();
        let batch = records(&[0, 2]);
        fetcher
            .send_blocking(Fetched::Records {
                split: "t-0".into(),
                records: batch,
            })
            .unwrap();
        fetcher
            .send_blocking(Fetched::End {
                split: "t-0".into(),
            })
            .unwrap();
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::More);
        // A gap (offset 1 compacted away) still ends at the stopping offset.
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::Finished);
        assert_eq!(positions(&mut reader), [(0, 3), (1, 4)]);
    }

    #[test]
    fn a_record_that_does_not_deserialize_names_topic_partition_and_offset() {
        let (mut reader, fetcher) = reader(vec![split(2, 12, None)]);
        let batch = records(&[12, 13]);
        fetcher
            .send_blocking(Fetched::Records {
                split: "t-2".into(),
                records: batch,
            })
            .unwrap();
        let mut out = Vec::new();
        let err = reader.read(10, &mut out).unwrap_err().to_string();
        assert!(err.contains("offset 13 of t-2"), "{err}");
        assert_eq!(
            positions(&mut reader),
            [(2, 13)],
            "the failed record is not passed"
        );
    }

    #[test]
    fn a_fetch_failure_fails_the_read_and_out_of_range_suppresses_restarts() {
        let (mut reader, fetcher) = reader(vec![split(0, 50, None)]);
        let lost = KafkaSourceError::OffsetOutOfRange {
            topic: "t".into(),
            partition: 0,
            offset: 50,
            earliest: 0,
            latest: 1,
        };
        fetcher.send_blocking(Fetched::Failed(lost)).unwrap();
        let err = reader.read(10, &mut Vec::new()).unwrap_err();
        assert!(err.is::<SuppressRestarts>(), "{err}");
    }
}
