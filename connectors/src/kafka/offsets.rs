//! Where a Kafka source starts reading a partition no checkpoint holds
//! ([`StartingOffsets`], Flink's `OffsetsInitializer`), and what it does when the offset it
//! is to read next is no longer held by the broker ([`OffsetResetPolicy`]).

use std::collections::BTreeMap;

/// Where a partition that no checkpoint holds is read from. A checkpointed position always
/// wins over this; a partition discovered while the job runs (after the subtask's first
/// discovery) is read from its earliest offset, as Flink does, so none of its records is
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartingOffsets {
    /// The earliest offset the broker holds.
    #[default]
    Earliest,
    /// The partition's end when the source discovers it: only records produced after.
    Latest,
    /// The first offset whose record's timestamp is at or after this many milliseconds since
    /// the Unix epoch (the end, when there is none).
    Timestamp(i64),
    /// These offsets, by `(topic, partition)`; a partition not in the map starts at its
    /// earliest offset.
    Specific(BTreeMap<(String, i32), i64>),
}

/// What the source does when the offset it is to read next is outside what the broker holds
/// (records deleted by retention, or the topic recreated) — Flink's `OffsetResetStrategy`
/// for the case where a committed position is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetResetPolicy {
    /// Fail the reading subtask with
    /// [`KafkaSourceError::OffsetOutOfRange`](super::KafkaSourceError::OffsetOutOfRange)
    /// naming topic, partition and offset: records would otherwise be lost silently.
    #[default]
    None,
    /// Resume at the earliest offset the broker holds, logging at `warn` that the records in
    /// between are lost.
    Earliest,
}

/// An offset to look up on the broker for a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Earliest,
    Latest,
    Timestamp(i64),
    Exactly(i64),
}

impl StartingOffsets {
    /// What to look up for `topic`'s `partition`.
    pub(crate) fn lookup(&self, topic: &str, partition: i32) -> Lookup {
        match self {
            StartingOffsets::Earliest => Lookup::Earliest,
            StartingOffsets::Latest => Lookup::Latest,
            StartingOffsets::Timestamp(ms) => Lookup::Timestamp(*ms),
            StartingOffsets::Specific(map) => match map.get(&(topic.to_string(), partition)) {
                Some(offset) => Lookup::Exactly(*offset),
                None => Lookup::Earliest,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_offsets_fall_back_to_the_earliest_for_other_partitions() {
        let map = BTreeMap::from([(("t".to_string(), 1), 42)]);
        let s = StartingOffsets::Specific(map);
        assert_eq!(s.lookup("t", 1), Lookup::Exactly(42));
        assert_eq!(s.lookup("t", 0), Lookup::Earliest);
        assert_eq!(
            StartingOffsets::Timestamp(5).lookup("t", 0),
            Lookup::Timestamp(5)
        );
    }
}
