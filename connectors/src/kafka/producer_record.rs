//! [`ProducerRecord`]: what the Kafka sink's serializer makes of a stream record.

use std::collections::BTreeMap;

/// One record to produce: its key, value, headers, timestamp and, optionally, partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The key; it also chooses the partition when none is given (a stable hash of the key
    /// modulo the topic's partitions, so a key always goes to one partition).
    pub key: Option<Vec<u8>>,
    /// The value (`None`: a tombstone).
    pub value: Option<Vec<u8>>,
    /// The headers.
    pub headers: BTreeMap<String, Vec<u8>>,
    /// Milliseconds since the Unix epoch; `None`: the time the sink takes the record.
    pub timestamp: Option<i64>,
    /// The partition; `None`: by key, or spread evenly over the partitions when there is no key.
    pub partition: Option<i32>,
}

impl ProducerRecord {
    /// A record with this value only.
    pub fn value(value: impl Into<Vec<u8>>) -> ProducerRecord {
        ProducerRecord {
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }

    /// The same record with this key.
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> ProducerRecord {
        self.key = Some(key.into());
        self
    }

    /// The same record, to this partition.
    pub fn with_partition(mut self, partition: i32) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }

    /// The same record with this header added.
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> ProducerRecord {
        self.headers.insert(name.into(), value.into());
        self
    }
}
