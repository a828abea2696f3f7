//! Sinks: where records leave a job.

pub mod committed_collector;

use crate::error::BoxError;
use crate::task::operator::Operator;
use parking_lot::Mutex;
use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Appends every record to a shared vector (for tests and small results).
pub struct CollectOperator<T> {
    pub(crate) target: Arc<Mutex<Vec<T>>>,
}

impl<T: Send + 'static> Operator<T, ()> for CollectOperator<T> {
    fn process_batch(&mut self, input: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        self.target.lock().extend(input);
        Ok(())
    }
}

/// Prints every record on standard output, prefixed by the subtask number as Flink does (`2> x`).
pub struct PrintOperator {
    pub(crate) prefix: String,
}

impl<T: Display + Send + 'static> Operator<T, ()> for PrintOperator {
    fn process_batch(&mut self, input: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        for x in input {
            writeln!(lock, "{}{x}", self.prefix)?;
        }
        Ok(())
    }
}

/// Drops every record.
pub struct DiscardOperator;

impl<T: Send + 'static> Operator<T, ()> for DiscardOperator {
    fn process_batch(&mut self, _: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Writes each record as a line of a text file; flushed at end of input.
pub struct LineFileOperator {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl LineFileOperator {
    /// A sink writing to `path`, created (or truncated) on the first record or at end of input.
    pub fn new(path: PathBuf) -> LineFileOperator {
        LineFileOperator { path, writer: None }
    }

    fn writer(&mut self) -> Result<&mut BufWriter<File>, BoxError> {
        if self.writer.is_none() {
            let file = File::create(&self.path)
                .map_err(|e| format!("cannot create {}: {e}", self.path.display()))?;
            self.writer = Some(BufWriter::new(file));
        }
        self.writer
            .as_mut()
            .ok_or_else(|| BoxError::from("line file writer missing"))
    }
}

impl<T: Display + Send + 'static> Operator<T, ()> for LineFileOperator {
    fn process_batch(&mut self, input: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        let path = self.path.display().to_string();
        let w = self.writer()?;
        for x in input {
            writeln!(w, "{x}").map_err(|e| format!("cannot write {path}: {e}"))?;
        }
        Ok(())
    }

    fn end_of_input(&mut self, _: &mut Vec<()>) -> Result<(), BoxError> {
        let path = self.path.display().to_string();
        let w = self.writer()?;
        w.flush().map_err(|e| format!("cannot write {path}: {e}"))?;
        w.get_ref()
            .sync_all()
            .map_err(|e| format!("cannot sync {path}: {e}"))?;
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
