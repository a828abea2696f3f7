//! [`KafkaPartitionSplit`]: one partition of a topic with the offset to read next — what a
//! checkpoint records for it.

use serde::{Deserialize, Serialize};
use weir::runtime::graph::key_group::stable_hash;
use weir::source::SourceSplit;

/// A partition of a topic, read from `next_offset` on (the offset after the last record the
/// reader emitted) up to `stopping_offset` (excluded) when the source is bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaPartitionSplit {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset of the next record to emit.
    pub next_offset: i64,
    /// Where a bounded source stops: the partition's end offset when the source started;
    /// `None` for an unbounded one.
    pub stopping_offset: Option<i64>,
}

impl KafkaPartitionSplit {
    /// Whether every record up to the stopping offset was emitted (never for an unbounded
    /// split).
    pub fn is_finished(&self) -> bool {
        self.stopping_offset
            .is_some_and(|end| self.next_offset >= end)
    }
}

impl SourceSplit for KafkaPartitionSplit {
    /// `topic-partition`, as Kafka names a partition.
    fn split_id(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// The topic's partitions go to consecutive subtasks, starting at one chosen by the topic's
    /// name (Flink's `KafkaSourceEnumerator.getSplitOwner`): `(hash(topic) + partition) %
    /// parallelism`, so each subtask gets a topic's partitions evenly.
    fn assignment_key(&self) -> u64 {
        (stable_hash(self.topic.as_str()) >> 1) + u64::from(self.partition.max(0).unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(topic: &str, partition: i32) -> KafkaPartitionSplit {
        KafkaPartitionSplit {
            topic: topic.into(),
            partition,
            next_offset: 0,
            stopping_offset: None,
        }
    }

    #[test]
    fn a_topics_partitions_spread_evenly_over_the_subtasks() {
        for parallelism in 1..5u64 {
            let mut per_subtask = vec![0; parallelism as usize];
            for p in 0..(3 * parallelism as i32) {
                per_subtask[(split("orders", p).assignment_key() % parallelism) as usize] += 1;
            }
            assert!(per_subtask.iter().all(|&n| n == 3), "{per_subtask:?}");
        }
    }

    #[test]
    fn a_split_is_named_topic_dash_partition_and_finishes_at_its_stopping_offset() {
        let mut s = split("orders", 3);
        assert_eq!(s.split_id(), "orders-3");
        assert!(!s.is_finished());
        s.stopping_offset = Some(2);
        s.next_offset = 2;
        assert!(s.is_finished());
    }
}
