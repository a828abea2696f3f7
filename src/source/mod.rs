//! Sources: where records enter a job. Each source subtask reads its own split and emits batches.

use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::task::operator::OperatorInfo;
use parking_lot::Mutex;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use weir_actors::graph::task::SourceStatus;
use weir_actors::metrics::OperatorCounters;
use weir_actors::Batch;

/// A typed source split, read a batch at a time.
pub trait SourceReader<T>: Send + 'static {
    /// Appends up to `max` records to `out`; returns [`SourceStatus::Finished`] once exhausted.
    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError>;

    /// The reader's position (what it has read so far), for a checkpoint.
    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(Vec::new())
    }

    /// Moves the reader to a position [`SourceReader::snapshot_position`] returned, so it
    /// continues exactly after what the checkpoint covered. Readers that cannot do this fail the
    /// restore rather than replay from the start.
    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        let _ = position;
        Err(
            "this source cannot resume from a checkpoint (it does not implement restore_position)"
                .into(),
        )
    }
}

/// A source reader with its record type erased.
pub trait ErasedSource: Send {
    /// Reads up to `max` records.
    fn poll(&mut self, max: usize) -> Result<(Batch, SourceStatus), TaskError>;
    /// See [`SourceReader::snapshot_position`].
    fn snapshot_position(&self) -> Result<Vec<u8>, TaskError>;
    /// See [`SourceReader::restore_position`].
    fn restore_position(&mut self, position: &[u8]) -> Result<(), TaskError>;
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

    fn snapshot_position(&self) -> Result<Vec<u8>, TaskError> {
        crate::task::operator::guarded(&self.label, TaskErrorKind::State, || {
            self.reader.snapshot_position()
        })
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), TaskError> {
        let reader = &mut self.reader;
        crate::task::operator::guarded(&self.label, TaskErrorKind::State, || {
            reader.restore_position(position)
        })
    }
}

fn encode_u64(x: u64) -> Result<Vec<u8>, BoxError> {
    Ok(postcard::to_allocvec(&x)?)
}

fn decode_u64(bytes: &[u8]) -> Result<u64, BoxError> {
    Ok(postcard::from_bytes(bytes)?)
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

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        encode_u64(self.next)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = decode_u64(position)?;
        Ok(())
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

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        encode_u64(self.next as u64)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = usize::try_from(decode_u64(position)?)?;
        Ok(())
    }
}

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
