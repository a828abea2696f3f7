//! [`NumberSequenceSource`]: the numbers of a range as splits (Flink's `NumberSequenceSource`),
//! each split a contiguous run that records its next value and its end.

use crate::error::BoxError;
use crate::source::split_source::{
    Boundedness, DiscoveryContext, SourceSplit, SplitReader, SplitReaderContext, SplitSource,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use weir_actors::graph::task::SourceStatus;
use weir_actors::CheckpointId;

/// The numbers `from..=to`, cut into one split per subtask at the first start
/// (`env.generate_sequence(from, to)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberSequenceSource {
    from: u64,
    to: u64,
}

impl NumberSequenceSource {
    /// The numbers `from..=to` (none when `to < from`).
    pub fn new(from: u64, to: u64) -> NumberSequenceSource {
        NumberSequenceSource { from, to }
    }
}

/// A run of numbers: the next to emit and the last one. A checkpoint records both, so a restore
/// (at any parallelism) reads exactly the rest of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberSequenceSplit {
    /// The split's number (0..parallelism at the first start).
    pub index: u32,
    /// The next number to emit; `None` once the run is done.
    pub next: Option<u64>,
    /// The run's last number.
    pub last: u64,
}

impl SourceSplit for NumberSequenceSplit {
    fn split_id(&self) -> String {
        self.index.to_string()
    }
    fn assignment_key(&self) -> u64 {
        u64::from(self.index)
    }
}

impl SplitSource<u64> for NumberSequenceSource {
    type Split = NumberSequenceSplit;
    type Reader = NumberSequenceReader;

    /// One split per subtask of the first start; none when the job restored the splits (they
    /// were cut at the first start's parallelism and are read on from their positions).
    fn discover_splits(&self, context: &DiscoveryContext) -> Result<Vec<Self::Split>, BoxError> {
        if self.to < self.from || context.restored {
            return Ok(Vec::new());
        }
        let len = u128::from(self.to - self.from) + 1;
        let p = u128::from(context.parallelism.max(1));
        Ok((0..context.parallelism.max(1))
            .filter_map(|i| {
                let start = len * u128::from(i) / p;
                let end = len * (u128::from(i) + 1) / p;
                (end > start).then(|| NumberSequenceSplit {
                    index: i,
                    next: Some(self.from + start as u64),
                    last: self.from + (end - 1) as u64,
                })
            })
            .collect())
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(&self, _: SplitReaderContext) -> Result<Self::Reader, BoxError> {
        Ok(NumberSequenceReader::default())
    }
}

/// Reads its splits one after another, in the order it was given them.
#[derive(Debug, Default)]
pub struct NumberSequenceReader {
    splits: VecDeque<NumberSequenceSplit>,
    done: Vec<NumberSequenceSplit>,
}

impl SplitReader<u64> for NumberSequenceReader {
    type Split = NumberSequenceSplit;

    fn add_splits(&mut self, splits: Vec<NumberSequenceSplit>) -> Result<(), BoxError> {
        for split in splits {
            match split.next {
                Some(_) => self.splits.push_back(split),
                None => self.done.push(split),
            }
        }
        Ok(())
    }

    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        let Some(split) = self.splits.front_mut() else {
            return Ok(SourceStatus::Finished);
        };
        let Some(next) = split.next else {
            return Ok(SourceStatus::More);
        };
        let take = (split.last - next).min(max.max(1) as u64 - 1);
        out.extend(next..=next + take);
        split.next = (next + take).checked_add(1).filter(|n| *n <= split.last);
        if split.next.is_none() {
            if let Some(finished) = self.splits.pop_front() {
                self.done.push(finished);
            }
        }
        Ok(match self.splits.is_empty() {
            true => SourceStatus::Finished,
            false => SourceStatus::More,
        })
    }

    fn snapshot_splits(&mut self, _: CheckpointId) -> Result<Vec<NumberSequenceSplit>, BoxError> {
        Ok(self.splits.iter().chain(&self.done).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(reader: &mut NumberSequenceReader, max: usize) -> Vec<u64> {
        let mut out = Vec::new();
        while reader.read(max, &mut out).unwrap() != SourceStatus::Finished {}
        out
    }

    #[test]
    fn the_splits_cover_the_range_once_at_every_parallelism() {
        for p in 1..7 {
            let source = NumberSequenceSource::new(5, 24);
            let splits = source
                .discover_splits(&DiscoveryContext {
                    parallelism: p,
                    index: 0,
                    restored: false,
                })
                .unwrap();
            let mut reader = NumberSequenceReader::default();
            reader.add_splits(splits).unwrap();
            assert_eq!(
                read_all(&mut reader, 3),
                (5..=24).collect::<Vec<_>>(),
                "p={p}"
            );
        }
    }

    #[test]
    fn a_snapshot_records_next_and_last_and_the_end_of_the_range_reads_nothing_more() {
        let source = NumberSequenceSource::new(u64::MAX - 4, u64::MAX);
        let splits = source
            .discover_splits(&DiscoveryContext {
                parallelism: 1,
                index: 0,
                restored: false,
            })
            .unwrap();
        let mut reader = NumberSequenceReader::default();
        reader.add_splits(splits).unwrap();
        let mut out = Vec::new();
        reader.read(2, &mut out).unwrap();
        let snapshot = reader.snapshot_splits(1).unwrap();
        assert_eq!(snapshot[0].next, Some(u64::MAX - 2));
        assert_eq!(snapshot[0].last, u64::MAX);
        let mut restored = NumberSequenceReader::default();
        restored.add_splits(snapshot).unwrap();
        assert_eq!(
            read_all(&mut restored, 10),
            vec![u64::MAX - 2, u64::MAX - 1, u64::MAX]
        );
        assert_eq!(restored.snapshot_splits(2).unwrap()[0].next, None);
    }

    #[test]
    fn a_restored_job_discovers_no_split_at_any_parallelism() {
        let source = NumberSequenceSource::new(0, 99);
        for parallelism in [1, 2, 3, 7] {
            let context = DiscoveryContext {
                parallelism,
                index: 0,
                restored: true,
            };
            let splits = source
                .discover_splits(&context)
                .expect("discovery of a range");
            assert_eq!(splits, []);
        }
    }
}
