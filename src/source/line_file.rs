//! [`LineFileReader`]: the lines of a text file, each subtask the lines that start in its byte range.

use super::reader::{split_range, SourceReader};
use crate::error::BoxError;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use weir_actors::graph::task::SourceStatus;

/// Reads the lines of a text file. Subtask `i` reads the lines that start in its byte range, so
/// every line is read by exactly one subtask whatever the parallelism.
pub struct LineFileReader {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    position: u64,
    end: u64,
    index: u32,
    parallelism: u32,
    resume_at: Option<u64>,
}

impl LineFileReader {
    /// Subtask `index` of `parallelism`'s share of the file at `path`; opened on first read.
    pub fn new(path: PathBuf, index: u32, parallelism: u32) -> LineFileReader {
        LineFileReader {
            path,
            reader: None,
            position: 0,
            end: 0,
            index,
            parallelism,
            resume_at: None,
        }
    }

    fn open(&mut self) -> Result<(), BoxError> {
        let name = self.path.display().to_string();
        let file = File::open(&self.path).map_err(|e| format!("cannot open {name}: {e}"))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot stat {name}: {e}"))?
            .len();
        let (start, end) = split_range(len, self.index, self.parallelism);
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut position = start;
        if start > 0 {
            // The line that straddles `start` belongs to the previous subtask.
            reader
                .seek(SeekFrom::Start(start - 1))
                .map_err(|e| format!("cannot seek in {name}: {e}"))?;
            let mut skipped = Vec::new();
            let n = reader
                .read_until(b'\n', &mut skipped)
                .map_err(|e| format!("cannot read {name}: {e}"))?;
            position = start - 1 + n as u64;
        }
        if let Some(resume) = self.resume_at {
            reader
                .seek(SeekFrom::Start(resume))
                .map_err(|e| format!("cannot seek in {name}: {e}"))?;
            position = resume;
        }
        self.position = position;
        self.end = end;
        self.reader = Some(reader);
        Ok(())
    }
}

impl SourceReader<String> for LineFileReader {
    fn read(&mut self, max: usize, out: &mut Vec<String>) -> Result<SourceStatus, BoxError> {
        if self.reader.is_none() {
            self.open()?;
        }
        let name = self.path.display().to_string();
        let Some(reader) = self.reader.as_mut() else {
            return Ok(SourceStatus::Finished);
        };
        for _ in 0..max {
            if self.position >= self.end {
                return Ok(SourceStatus::Finished);
            }
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("cannot read {name} at byte {}: {e}", self.position))?;
            if n == 0 {
                return Ok(SourceStatus::Finished);
            }
            self.position += n as u64;
            if line.ends_with('\n') {
                line.pop();
                if line.ends_with('\r') {
                    line.pop();
                }
            }
            out.push(line);
        }
        Ok(SourceStatus::More)
    }

    /// The byte offset of the next line to read (none before the file was opened).
    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        let position = if self.reader.is_some() {
            Some(self.position)
        } else {
            self.resume_at
        };
        Ok(postcard::to_allocvec(&position)?)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.resume_at = postcard::from_bytes::<Option<u64>>(position)?;
        self.reader = None;
        Ok(())
    }
}
