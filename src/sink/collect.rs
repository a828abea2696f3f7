//! The collecting sink of [`DataStream::collect`](crate::DataStream::collect): records kept in
//! memory, read through a [`CollectHandle`].
//!
//! It keeps every record it receives, including records a restore replays: after a failure
//! the handle may hold a record twice. [`CommittedCollector`](crate::CommittedCollector) is the
//! exactly-once counterpart.

use crate::error::BoxError;
use crate::sink::writer::SinkWriter;
use parking_lot::Mutex;
use std::sync::Arc;

/// Appends every record to a shared vector.
pub(crate) struct CollectWriter<T> {
    pub(crate) target: Arc<Mutex<Vec<T>>>,
}

impl<T: Send + 'static> SinkWriter<T> for CollectWriter<T> {
    fn write(&mut self, record: T) -> Result<(), BoxError> {
        self.target.lock().push(record);
        Ok(())
    }

    fn write_batch(&mut self, records: Vec<T>) -> Result<(), BoxError> {
        self.target.lock().extend(records);
        Ok(())
    }
}

/// The records a collecting sink received, readable after (or while) the job runs.
pub struct CollectHandle<T> {
    pub(crate) records: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for CollectHandle<T> {
    fn clone(&self) -> Self {
        CollectHandle {
            records: self.records.clone(),
        }
    }
}

impl<T: Clone> CollectHandle<T> {
    /// A copy of the records received so far, in arrival order (per subtask, in stream order).
    pub fn records(&self) -> Vec<T> {
        self.records.lock().clone()
    }

    /// Takes the records received so far, leaving none.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.records.lock())
    }

    /// How many records have been received.
    pub fn len(&self) -> usize {
        self.records.lock().len()
    }

    /// Whether no record has been received.
    pub fn is_empty(&self) -> bool {
        self.records.lock().is_empty()
    }
}
