//! The sinks that keep nothing: [`DataStream::print`](crate::DataStream::print) writes records
//! to standard output, [`DataStream::discard`](crate::DataStream::discard) drops them.
//! Both are stateless; after a restore, printed lines past the restored checkpoint are printed
//! again.

use crate::error::BoxError;
use crate::sink::writer::SinkWriter;
use std::fmt::Display;
use std::io::Write;

/// Prints every record on standard output, prefixed by the subtask number as Flink does (`2> x`).
pub(crate) struct PrintWriter {
    pub(crate) prefix: String,
}

impl<T: Display> SinkWriter<T> for PrintWriter {
    fn write(&mut self, record: T) -> Result<(), BoxError> {
        self.write_batch(vec![record])
    }

    fn write_batch(&mut self, records: Vec<T>) -> Result<(), BoxError> {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        for x in records {
            writeln!(lock, "{}{x}", self.prefix)?;
        }
        Ok(())
    }
}

/// Drops every record (Flink's `DiscardingSink`).
pub(crate) struct DiscardWriter;

impl<T> SinkWriter<T> for DiscardWriter {
    fn write(&mut self, _: T) -> Result<(), BoxError> {
        Ok(())
    }

    fn write_batch(&mut self, _: Vec<T>) -> Result<(), BoxError> {
        Ok(())
    }
}
