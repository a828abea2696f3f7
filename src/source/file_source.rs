//! [`FileSource`]: the lines of text files as splits — one split per file of a directory, or
//! byte ranges of one file — each at the byte offset of its next line (Flink's `FileSource`
//! with a line format).

use crate::error::BoxError;
use crate::source::split_source::{
    Boundedness, DiscoveryContext, SourceSplit, SplitReader, SplitReaderContext, SplitSource,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use weir_actors::graph::task::SourceStatus;
use weir_actors::CheckpointId;

/// A file source that failed: what it did, on which file, at which byte.
#[derive(Debug, thiserror::Error)]
#[error("file source: cannot {operation} {} (at byte {offset}): {source}", path.display())]
pub struct FileSourceError {
    /// What failed: `list`, `open`, `stat`, `seek`, `read`.
    pub operation: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// The byte offset (0 for a directory).
    pub offset: u64,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// The lines of a file, or of every file of a directory (`env.from_source(FileSource::for_lines(p), …)`).
///
/// A file is read as byte ranges, one per subtask, so one large file is read in parallel (a line
/// belongs to the range it starts in); a directory as one split per regular file, hidden files
/// (`.name`) skipped. With [`FileSource::monitor_continuously`] the directory is listed again
/// every interval and new files are read too (the source then never ends); a file that grows
/// after it was read is not read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSource {
    path: PathBuf,
    monitor: Option<Duration>,
}

impl FileSource {
    /// The lines of the file or directory at `path`; lines end at `\n` (a `\r` before it is
    /// dropped), and a last line without one is read at the end of the file.
    pub fn for_lines(path: impl Into<PathBuf>) -> FileSource {
        FileSource {
            path: path.into(),
            monitor: None,
        }
    }

    /// Lists the directory again every `interval` and reads the files that appeared (Flink's
    /// `monitorContinuously`): an unbounded source.
    pub fn monitor_continuously(mut self, interval: Duration) -> FileSource {
        self.monitor = Some(interval);
        self
    }
}

/// Lines of one file from byte `start` to `end` (`None`: its end), read up to `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSplit {
    /// The file.
    pub path: PathBuf,
    /// Where the range starts: its first line is the first that starts at or after it.
    pub start: u64,
    /// Where the range ends: lines that start before it belong to it.
    pub end: Option<u64>,
    /// The byte offset of the next line to read; `None` before the first read.
    pub offset: Option<u64>,
    /// Whether the range is read to its end.
    pub finished: bool,
    /// Spreads the ranges of one file evenly over the subtasks.
    range_index: Option<u32>,
}

impl SourceSplit for FileSplit {
    fn split_id(&self) -> String {
        match self.range_index {
            Some(_) => format!("{}@{}", self.path.display(), self.start),
            None => self.path.display().to_string(),
        }
    }
    fn assignment_key(&self) -> u64 {
        match self.range_index {
            Some(i) => u64::from(i),
            None => weir_actors::graph::key_group::stable_hash(self.split_id().as_str()),
        }
    }
}

fn io_error<'a>(
    operation: &'static str,
    path: &'a Path,
    offset: u64,
) -> impl FnOnce(std::io::Error) -> FileSourceError + 'a {
    move |source| FileSourceError {
        operation,
        path: path.to_path_buf(),
        offset,
        source,
    }
}

impl FileSource {
    fn file_ranges(&self, parallelism: u32) -> Result<Vec<FileSplit>, FileSourceError> {
        let len = std::fs::metadata(&self.path)
            .map_err(io_error("stat", &self.path, 0))?
            .len();
        let p = u128::from(parallelism.max(1));
        Ok((0..parallelism.max(1))
            .map(|i| FileSplit {
                path: self.path.clone(),
                start: (u128::from(len) * u128::from(i) / p) as u64,
                end: Some((u128::from(len) * (u128::from(i) + 1) / p) as u64),
                offset: None,
                finished: false,
                range_index: Some(i),
            })
            .collect())
    }

    fn directory_files(&self) -> Result<Vec<FileSplit>, FileSourceError> {
        let entries = std::fs::read_dir(&self.path).map_err(io_error("list", &self.path, 0))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error("list", &self.path, 0))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && !hidden {
                files.push(FileSplit {
                    path: entry.path(),
                    start: 0,
                    end: None,
                    offset: None,
                    finished: false,
                    range_index: None,
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }
}

impl SplitSource<String> for FileSource {
    type Split = FileSplit;
    type Reader = FileSourceReader;

    fn discover_splits(&self, context: &DiscoveryContext) -> Result<Vec<FileSplit>, BoxError> {
        let is_dir = std::fs::metadata(&self.path)
            .map_err(io_error("stat", &self.path, 0))?
            .is_dir();
        Ok(match is_dir {
            true => self.directory_files()?,
            false => self.file_ranges(context.parallelism)?,
        })
    }

    fn boundedness(&self) -> Boundedness {
        match self.monitor {
            Some(_) => Boundedness::ContinuousUnbounded,
            None => Boundedness::Bounded,
        }
    }

    fn discovery_interval(&self) -> Option<Duration> {
        self.monitor
    }

    fn create_reader(&self, _: SplitReaderContext) -> Result<FileSourceReader, BoxError> {
        Ok(FileSourceReader::default())
    }
}

/// Reads its splits one after another.
#[derive(Debug, Default)]
pub struct FileSourceReader {
    splits: VecDeque<FileSplit>,
    open: Option<BufReader<File>>,
    done: Vec<FileSplit>,
}

impl FileSourceReader {
    /// Opens the front split at its offset (the first time: at its first whole line).
    fn open_front(&mut self) -> Result<(), FileSourceError> {
        let Some(split) = self.splits.front_mut() else {
            return Ok(());
        };
        let file = File::open(&split.path).map_err(io_error("open", &split.path, 0))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let offset = match split.offset {
            Some(offset) => offset,
            None if split.start == 0 => 0,
            None => {
                // The line that straddles `start` belongs to the range before.
                let at = split.start - 1;
                reader
                    .seek(SeekFrom::Start(at))
                    .map_err(io_error("seek", &split.path, at))?;
                let mut skipped = Vec::new();
                let n = (reader.read_until(b'\n', &mut skipped)).map_err(io_error(
                    "read",
                    &split.path,
                    at,
                ))?;
                at + n as u64
            }
        };
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(io_error("seek", &split.path, offset))?;
        split.offset = Some(offset);
        self.open = Some(reader);
        Ok(())
    }

    /// Reads up to `max` lines of the front split; whether it is done.
    fn read_front(&mut self, max: usize, out: &mut Vec<String>) -> Result<bool, FileSourceError> {
        let (Some(split), Some(reader)) = (self.splits.front_mut(), self.open.as_mut()) else {
            return Ok(true);
        };
        let mut offset = split.offset.unwrap_or(split.start);
        for _ in 0..max {
            if split.end.is_some_and(|end| offset >= end) {
                return Ok(true);
            }
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .map_err(io_error("read", &split.path, offset))?;
            if n == 0 {
                return Ok(true);
            }
            offset += n as u64;
            split.offset = Some(offset);
            if line.ends_with('\n') {
                line.pop();
                if line.ends_with('\r') {
                    line.pop();
                }
            }
            out.push(line);
        }
        Ok(false)
    }
}

impl SplitReader<String> for FileSourceReader {
    type Split = FileSplit;

    fn add_splits(&mut self, splits: Vec<FileSplit>) -> Result<(), BoxError> {
        for split in splits {
            match split.finished {
                true => self.done.push(split),
                false => self.splits.push_back(split),
            }
        }
        Ok(())
    }

    fn read(&mut self, max: usize, out: &mut Vec<String>) -> Result<SourceStatus, BoxError> {
        if self.splits.is_empty() {
            return Ok(SourceStatus::Finished);
        }
        if self.open.is_none() {
            self.open_front()?;
        }
        if self.read_front(max, out)? {
            self.open = None;
            if let Some(mut split) = self.splits.pop_front() {
                split.finished = true;
                self.done.push(split);
            }
        }
        Ok(match self.splits.is_empty() {
            true => SourceStatus::Finished,
            false => SourceStatus::More,
        })
    }

    fn snapshot_splits(&mut self, _: CheckpointId) -> Result<Vec<FileSplit>, BoxError> {
        Ok(self.splits.iter().chain(&self.done).cloned().collect())
    }
}
