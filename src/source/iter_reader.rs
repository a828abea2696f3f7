//! [`IterReader`]: an iterator, read once by a single subtask.

use super::reader::{decode_u64, encode_u64, SourceReader};
use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::task::operator::OperatorInfo;
use parking_lot::Mutex;
use std::sync::Arc;
use weir_actors::graph::task::SourceStatus;

/// Reads an iterator; a single subtask, and only once (an iterator cannot be replayed).
pub struct IterReader<T> {
    iter: Box<dyn Iterator<Item = T> + Send>,
    consumed: u64,
}

/// The iterator an iterator source reads, taken by its one subtask.
pub type SharedIter<T> = Arc<Mutex<Option<Box<dyn Iterator<Item = T> + Send>>>>;

impl<T> IterReader<T> {
    /// Takes the iterator; an error if another run of the source already took it.
    pub fn take(shared: &SharedIter<T>, info: &OperatorInfo) -> Result<IterReader<T>, TaskError> {
        match shared.lock().take() {
            Some(iter) => Ok(IterReader { iter, consumed: 0 }),
            None => Err(TaskError::new(
                TaskErrorKind::User,
                "an iterator source can be read only once and cannot be restarted; use from_vec or a sequence for replayable input",
            )
            .in_operator(info.label())),
        }
    }
}

impl<T: Send + 'static> SourceReader<T> for IterReader<T> {
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError> {
        for _ in 0..max {
            match self.iter.next() {
                Some(x) => {
                    self.consumed += 1;
                    out.push(x);
                }
                None => return Ok(SourceStatus::Finished),
            }
        }
        Ok(SourceStatus::More)
    }

    /// The number of items read so far.
    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        encode_u64(self.consumed)
    }

    /// Skips as many items as the checkpoint had read: exact for a deterministic iterator.
    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        let n = decode_u64(position)?;
        for _ in 0..n {
            if self.iter.next().is_none() {
                break;
            }
        }
        self.consumed = n;
        Ok(())
    }
}
