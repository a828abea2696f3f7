//! [`LineFileWriter`]: the sink of [`DataStream::write_lines`](crate::DataStream::write_lines),
//! one text file per subtask, one line per record, safe across restores.
//!
//! # How it writes
//! Each batch of records is formatted into whole lines (`{record}\n`) and written with one
//! `write` call that ends at a line end. At every checkpoint the sink records the file's length
//! `L`; the checkpoint completes only after the file has been fsynced up to `L`. At end of
//! input it fsyncs the whole file.
//!
//! # Restore
//! A job restored from checkpoint `n` truncates the file to the length `L_n` that `n` recorded
//! and appends from there, so lines written after `n` (which the sources replay) are removed
//! first, never written twice, and lines `n` covers are kept. A file found shorter than `L_n`
//! (lines `n` covered are gone) fails the restore with [`LineFileError::ShorterThanCheckpoint`].
//! A job that starts without a checkpoint creates the file afresh (truncating an existing one).
//!
//! # What a reader of the file sees
//! - **When the job has finished**, the file holds every record exactly once.
//! - **While it runs**, lines appear as batches are processed, before a checkpoint covers them:
//!   a failure followed by a restore removes the lines past the restored checkpoint's length
//!   and writes them again (their order across parallel inputs may differ). So a reader that
//!   reads while the job runs is at-least-once: it may see a line that a restore takes back.
//!   Lines up to the length recorded by the latest completed checkpoint stay, unless the job is
//!   later restored from an older checkpoint.
//! - **After a crash** (a SIGKILL, a power cut, a full disk) the file holds whole lines, except
//!   that the operating system may have cut the last `write` short: the file can then end in a
//!   partial line without its `\n`. It lies past the last checkpoint's length, so the restore
//!   removes it before writing; until then, only lines that end in `\n` are data.
//!
//! Readers that must never see a line that may be taken back need a transactional file sink
//! (Flink's `FileSink`, with in-progress and pending files); it is not there yet.

use crate::error::BoxError;
use crate::sink::writer::SinkWriter;
use crate::task::operator::StateWriter;
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use weir_actors::CheckpointId;

/// The version of [`LineFileState`]'s encoding.
const STATE_FORMAT: u32 = 1;

/// A failure of the line file sink, naming its file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineFileError {
    /// A file-system operation failed.
    #[error("cannot {operation} the line file {path}: {source}")]
    Io {
        /// What was being done: "create", "open", "write", "truncate", "sync"…
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// On restore, the file is shorter than the restored checkpoint recorded: lines it covered
    /// were removed by something else.
    #[error(
        "the line file {path} holds {found} bytes, fewer than the {checkpointed} its \
         checkpoint recorded: lines the checkpoint covered are gone"
    )]
    ShorterThanCheckpoint {
        /// The file.
        path: PathBuf,
        /// The length the checkpoint recorded.
        checkpointed: u64,
        /// The length found.
        found: u64,
    },
    /// The sink's state in the checkpoint cannot be read.
    #[error("the checkpointed state of the line file sink of {path} cannot be read: {reason}")]
    BadState {
        /// The file the sink writes.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What a checkpoint records of the sink: its file and the length it covers.
#[derive(Debug, Serialize, Deserialize)]
struct LineFileState {
    format: u32,
    path: String,
    length: u64,
}

/// Writes each record as a line of one text file (see the [module docs](self) for its
/// guarantees).
#[derive(Debug)]
pub struct LineFileWriter {
    path: PathBuf,
    file: Option<File>,
    /// Whole lines not yet written.
    buffer: Vec<u8>,
    /// The file's length as far as this writer wrote it.
    length: u64,
}

impl LineFileWriter {
    /// A writer of `path`; the file is created (or truncated) on the first record or at end of
    /// input, unless a restore opens it first.
    pub fn new(path: impl Into<PathBuf>) -> LineFileWriter {
        LineFileWriter {
            path: path.into(),
            file: None,
            buffer: Vec::new(),
            length: 0,
        }
    }

    /// The file of subtask `index` of `parallelism`: `path` itself for one subtask, `path.<index>`
    /// otherwise.
    pub fn subtask_path(path: &Path, index: u32, parallelism: u32) -> PathBuf {
        if parallelism == 1 {
            return path.to_path_buf();
        }
        let mut name = path.as_os_str().to_os_string();
        name.push(format!(".{index}"));
        PathBuf::from(name)
    }

    /// The file this writer writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, operation: &'static str) -> impl FnOnce(std::io::Error) -> LineFileError {
        let path = self.path.clone();
        move |source| LineFileError::Io {
            operation,
            path,
            source,
        }
    }

    /// The open file, created afresh if nothing opened it yet.
    fn file(&mut self) -> Result<&mut File, LineFileError> {
        let file = match self.file.take() {
            Some(file) => file,
            None => {
                self.length = 0;
                File::create(&self.path).map_err(self.io("create"))?
            }
        };
        Ok(self.file.insert(file))
    }

    /// Opens the file to append after the first `length` bytes, removing what follows them.
    fn reopen_at(&mut self, length: u64) -> Result<(), LineFileError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(self.io("open"))?;
        let found = file
            .metadata()
            .map_err(self.io("read the length of"))?
            .len();
        if found < length {
            return Err(LineFileError::ShorterThanCheckpoint {
                path: self.path.clone(),
                checkpointed: length,
                found,
            });
        }
        if found > length {
            file.set_len(length).map_err(self.io("truncate"))?;
            file.sync_all().map_err(self.io("sync"))?;
            tracing::info!(
                path = %self.path.display(),
                removed_bytes = found - length,
                "line file truncated to its checkpointed length"
            );
        }
        self.file = Some(file);
        self.length = length;
        Ok(())
    }

    /// Writes the buffered lines with one call.
    fn write_buffer(&mut self) -> Result<(), LineFileError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let buffer = std::mem::take(&mut self.buffer);
        let error = self.io("write");
        self.file()?.write_all(&buffer).map_err(error)?;
        self.length += buffer.len() as u64;
        self.buffer = buffer;
        self.buffer.clear();
        Ok(())
    }
}

impl<T: Display> SinkWriter<T> for LineFileWriter {
    fn write(&mut self, record: T) -> Result<(), BoxError> {
        self.write_batch(vec![record])
    }

    fn write_batch(&mut self, records: Vec<T>) -> Result<(), BoxError> {
        for record in records {
            writeln!(self.buffer, "{record}")?;
        }
        Ok(self.write_buffer()?)
    }

    fn flush(&mut self, end_of_input: bool) -> Result<(), BoxError> {
        self.write_buffer()?;
        if end_of_input {
            let error = self.io("sync");
            self.file()?.sync_all().map_err(error)?;
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
        let state = LineFileState {
            format: STATE_FORMAT,
            path: self.path.to_string_lossy().into_owned(),
            length: self.length,
        };
        let bytes = postcard::to_allocvec(&state)?;
        let file = match &self.file {
            Some(file) => Some(
                file.try_clone()
                    .map_err(self.io("duplicate the handle of"))?,
            ),
            None => None,
        };
        let sync_error = self.io("sync");
        Ok(Some(Box::new(move || {
            if let Some(file) = file {
                file.sync_data().map_err(sync_error)?;
            }
            Ok(bytes)
        })))
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let bad = |reason: String| LineFileError::BadState {
            path: self.path.clone(),
            reason,
        };
        let state: LineFileState = postcard::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
        if state.format != STATE_FORMAT {
            return Err(bad(format!("unknown format version {}", state.format)).into());
        }
        if state.path != self.path.to_string_lossy() {
            tracing::warn!(
                checkpointed = %state.path,
                path = %self.path.display(),
                "the line file sink writes another file than its checkpoint recorded: \
                 starting that file afresh"
            );
            return Ok(());
        }
        Ok(self.reopen_at(state.length)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(writer: &mut LineFileWriter) -> Vec<u8> {
        let write = SinkWriter::<u64>::snapshot_state(writer, 1)
            .expect("snapshot")
            .expect("stateful");
        write().expect("serializes")
    }

    #[test]
    fn a_restore_removes_only_what_the_checkpoint_does_not_cover() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.txt");
        let mut writer = LineFileWriter::new(&path);
        writer.write_batch(vec![1u64, 2, 3]).expect("writes");
        let state = snapshot(&mut writer);
        writer.write_batch(vec![4u64, 5]).expect("writes");
        drop(writer);
        // A crash may leave a partial line past the checkpoint.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"6"))
            .expect("append");

        let mut restored = LineFileWriter::new(&path);
        SinkWriter::<u64>::restore_state(&mut restored, &state).expect("restores");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "1\n2\n3\n");
        restored.write_batch(vec![4u64, 5, 6]).expect("writes");
        SinkWriter::<u64>::flush(&mut restored, true).expect("flushes");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "1\n2\n3\n4\n5\n6\n"
        );
    }

    #[test]
    fn a_file_shorter_than_its_checkpoint_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.txt");
        let mut writer = LineFileWriter::new(&path);
        writer.write_batch(vec![10u64, 20]).expect("writes");
        let state = snapshot(&mut writer);
        std::fs::write(&path, "10\n").expect("shorten");
        let err = SinkWriter::<u64>::restore_state(&mut LineFileWriter::new(&path), &state)
            .expect_err("lines are missing");
        assert!(matches!(
            err.downcast_ref::<LineFileError>(),
            Some(LineFileError::ShorterThanCheckpoint {
                checkpointed: 6,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn a_start_without_checkpoint_starts_the_file_afresh() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "old\n").expect("write");
        let mut writer = LineFileWriter::new(&path);
        writer.write_batch(vec!["new"]).expect("writes");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new\n");
    }

    #[test]
    fn subtask_files_are_numbered_only_when_there_are_several() {
        let base = Path::new("/out/lines.txt");
        assert_eq!(LineFileWriter::subtask_path(base, 0, 1), base);
        assert_eq!(
            LineFileWriter::subtask_path(base, 2, 3),
            Path::new("/out/lines.txt.2")
        );
    }
}
