//! [`VecReader`]: a shared vector, each subtask a contiguous share.

use super::reader::{decode_u64, encode_u64, split_range, SourceReader};
use crate::error::BoxError;
use std::sync::Arc;
use weir_actors::graph::task::SourceStatus;

/// Reads a shared vector, each subtask a contiguous share.
pub struct VecReader<T> {
    data: Arc<Vec<T>>,
    next: usize,
    end: usize,
}

impl<T> VecReader<T> {
    /// Subtask `index` of `parallelism`'s share of `data`.
    pub fn new(data: Arc<Vec<T>>, index: u32, parallelism: u32) -> VecReader<T> {
        let (start, end) = split_range(data.len() as u64, index, parallelism);
        VecReader {
            data,
            next: start as usize,
            end: end as usize,
        }
    }
}

impl<T: Clone + Send + Sync + 'static> SourceReader<T> for VecReader<T> {
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError> {
        let stop = self.end.min(self.next + max);
        out.extend_from_slice(&self.data[self.next..stop]);
        self.next = stop;
        Ok(if self.next >= self.end {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        })
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        encode_u64(self.next as u64)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = usize::try_from(decode_u64(position)?)?;
        Ok(())
    }
}
