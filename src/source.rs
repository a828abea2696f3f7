//! Sources: where records enter a job. Each source subtask reads its own split and emits batches.

use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::operator::OperatorInfo;
use parking_lot::Mutex;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use weir_actors::metrics::OperatorCounters;
use weir_actors::task::SourceStatus;
use weir_actors::Batch;

/// A typed source split, read a batch at a time.
pub trait SourceReader<T>: Send + 'static {
    /// Appends up to `max` records to `out`; returns [`SourceStatus::Finished`] once exhausted.
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError>;
}

/// A source reader with its record type erased.
pub trait ErasedSource: Send {
    /// Reads up to `max` records.
    fn poll(&mut self, max: usize) -> Result<(Batch, SourceStatus), TaskError>;
}

/// Builds one subtask's source reader.
pub type SourceFactory =
    Arc<dyn Fn(&OperatorInfo) -> Result<Box<dyn ErasedSource>, TaskError> + Send + Sync>;

struct ErasedReader<T, R> {
    reader: R,
    label: String,
    counters: Arc<OperatorCounters>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + 'static, R: SourceReader<T>> ErasedSource for ErasedReader<T, R> {
    fn poll(&mut self, max: usize) -> Result<(Batch, SourceStatus), TaskError> {
        let mut out = Vec::with_capacity(max);
        let reader = &mut self.reader;
        let status =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.read(max, &mut out)))
                .map_err(|p| TaskError::from_panic(p).in_operator(&self.label))?
                .map_err(|e| {
                    TaskError::new(TaskErrorKind::User, e.to_string()).in_operator(&self.label)
                })?;
        self.counters.add_out(out.len());
        Ok((Batch::new(out), status))
    }
}

/// Wraps a typed reader for `info`'s subtask.
pub fn erase_reader<T: Send + 'static, R: SourceReader<T>>(
    reader: R,
    info: &OperatorInfo,
) -> Box<dyn ErasedSource> {
    Box::new(ErasedReader {
        reader,
        label: info.label(),
        counters: info
            .subtask
            .metrics
            .operator(&info.name, &info.uid, info.subtask.index),
        _t: std::marker::PhantomData,
    })
}

/// The contiguous share `[start, end)` of `len` items that subtask `index` of `parallelism` reads.
pub fn split_range(len: u64, index: u32, parallelism: u32) -> (u64, u64) {
    let p = u64::from(parallelism.max(1));
    let i = u64::from(index);
    (
        (u128::from(len) * u128::from(i) / u128::from(p)) as u64,
        (u128::from(len) * u128::from(i + 1) / u128::from(p)) as u64,
    )
}

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
}

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
}

/// Reads an iterator; a single subtask, and only once (an iterator cannot be replayed).
pub struct IterReader<T> {
    iter: Box<dyn Iterator<Item = T> + Send>,
}

/// The iterator an iterator source reads, taken by its one subtask.
pub type SharedIter<T> = Arc<Mutex<Option<Box<dyn Iterator<Item = T> + Send>>>>;

impl<T> IterReader<T> {
    /// Takes the iterator; an error if another run of the source already took it.
    pub fn take(shared: &SharedIter<T>, info: &OperatorInfo) -> Result<IterReader<T>, TaskError> {
        match shared.lock().take() {
            Some(iter) => Ok(IterReader { iter }),
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
                Some(x) => out.push(x),
                None => return Ok(SourceStatus::Finished),
            }
        }
        Ok(SourceStatus::More)
    }
}

/// Reads the lines of a text file. Subtask `i` reads the lines that start in its byte range, so
/// every line is read by exactly one subtask whatever the parallelism.
pub struct LineFileReader {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    position: u64,
    end: u64,
    index: u32,
    parallelism: u32,
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
}
