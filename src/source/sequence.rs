//! [`SequenceReader`]: the numbers of a range, each subtask a contiguous share.

use super::reader::{decode_u64, encode_u64, split_range, SourceReader};
use crate::error::BoxError;
use weir_actors::graph::task::SourceStatus;

/// Reads the numbers `from..=to`, each subtask a contiguous share (Flink's `fromSequence`).
pub struct SequenceReader {
    next: u64,
    end: u64,
}

impl SequenceReader {
    /// Subtask `index` of `parallelism`'s share of `from..=to`.
    pub fn new(from: u64, to: u64, index: u32, parallelism: u32) -> SequenceReader {
        let len = if to < from { 0 } else { to - from + 1 };
        let (start, end) = split_range(len, index, parallelism);
        SequenceReader {
            next: from + start,
            end: from + end,
        }
    }
}

impl SourceReader<u64> for SequenceReader {
    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        let stop = self.end.min(self.next.saturating_add(max as u64));
        out.extend(self.next..stop);
        self.next = stop;
        Ok(if self.next >= self.end {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        })
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        encode_u64(self.next)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = decode_u64(position)?;
        Ok(())
    }
}
