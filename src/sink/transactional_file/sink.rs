//! [`TransactionalFileSink`]: the [`TwoPhaseCommitSink`] that writes part files, in progress →
//! pending at the barrier → finished by an atomic rename when the checkpoint completes.

use super::error::{io, FileSinkError};
use super::file_sink::FileSink;
use super::part_names::{self, IN_PROGRESS, PENDING};
use crate::error::BoxError;
use crate::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// What the checkpoint keeps of one transaction of the file sink: enough to commit its parts
/// from another process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTransaction {
    /// The transaction's name ([`TransactionId::name`]).
    pub name: String,
    /// The start of its parts' final names.
    pub stem: String,
    /// The end of its parts' final names.
    pub suffix: String,
    /// How many parts it began (numbered from 0); 0 for a transaction without records.
    pub parts: u32,
}

/// The part file being written.
struct OpenPart {
    transaction: String,
    part: u32,
    path: PathBuf,
    writer: BufWriter<File>,
    bytes: u64,
}

/// One subtask's transactional file sink, built by [`open`](Self::open).
///
/// It promises:
/// - a part file is visible (its name does not start with `.`) only once the checkpoint its
///   records belong to completed, and then whole: it was flushed, fsynced and renamed to
///   pending at the barrier, and the commit renames it to its final name in one step;
/// - final names are never reused: they hold the transaction's name, unique within the job;
/// - aborting a transaction, or a restore cleaning up after a crashed deployment, deletes its
///   in-progress and pending files.
pub struct TransactionalFileSink<T> {
    settings: FileSink<T>,
    subtask: u32,
    current: Option<OpenPart>,
    scratch: Vec<u8>,
}

impl<T> TransactionalFileSink<T> {
    /// The sink of subtask `subtask` with `settings`: checks the part prefix and creates the
    /// directory (with its parents) if it is missing.
    pub fn open(settings: &FileSink<T>, subtask: u32) -> Result<Self, FileSinkError> {
        let prefix = settings.part_prefix();
        if prefix.is_empty() || prefix.starts_with('.') || prefix.contains(['/', '\\']) {
            return Err(FileSinkError::InvalidPartPrefix {
                prefix: prefix.to_string(),
                dir: settings.dir().to_path_buf(),
            });
        }
        let dir = settings.dir();
        std::fs::create_dir_all(dir).map_err(io("create the directory", dir))?;
        Ok(TransactionalFileSink {
            settings: settings.clone(),
            subtask,
            current: None,
            scratch: Vec::new(),
        })
    }

    fn path(&self, file_name: &str) -> PathBuf {
        self.settings.dir().join(file_name)
    }

    fn sync_dir(&self) -> Result<(), FileSinkError> {
        let dir = self.settings.dir();
        let handle = File::open(dir).map_err(io("open the directory", dir))?;
        handle.sync_all().map_err(io("fsync the directory", dir))
    }

    /// Begins the next part of `transaction` as an in-progress file.
    fn open_part(&mut self, transaction: &mut FileTransaction) -> Result<(), FileSinkError> {
        let part = transaction.parts;
        let path = self.path(&part_names::hidden(&transaction.name, part, IN_PROGRESS));
        let file = (OpenOptions::new().write(true).create(true).truncate(true))
            .open(&path)
            .map_err(io("create the in-progress file", &path))?;
        transaction.parts += 1;
        self.current = Some(OpenPart {
            transaction: transaction.name.clone(),
            part,
            path,
            writer: BufWriter::with_capacity(64 * 1024, file),
            bytes: 0,
        });
        Ok(())
    }

    /// Flushes and fsyncs the open part, renames it to pending and fsyncs the directory.
    fn close_part(&mut self) -> Result<(), FileSinkError> {
        let Some(open) = self.current.take() else {
            return Ok(());
        };
        let file = (open.writer.into_inner())
            .map_err(|e| io("flush the in-progress file", &open.path)(e.into_error()))?;
        file.sync_all()
            .map_err(io("fsync the in-progress file", &open.path))?;
        let pending = self.path(&part_names::hidden(&open.transaction, open.part, PENDING));
        std::fs::rename(&open.path, &pending)
            .map_err(io("rename the in-progress file to pending", &open.path))?;
        self.sync_dir()
    }

    /// Deletes every hidden file of the transaction called `name` ("none there" is success).
    fn delete_hidden(&mut self, name: &str) -> Result<(), FileSinkError> {
        if self.current.as_ref().is_some_and(|c| c.transaction == name) {
            self.current = None;
        }
        let mut deleted = false;
        for (file_name, _) in self.hidden_files()? {
            if part_names::parse_hidden(&file_name).is_some_and(|(t, _, _)| t == name) {
                let path = self.path(&file_name);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != ErrorKind::NotFound => {
                        return Err(io("delete the part file", &path)(e));
                    }
                    _ => deleted = true,
                }
            }
        }
        if deleted {
            self.sync_dir()?;
        }
        Ok(())
    }

    /// The hidden part files of the directory, with their transactions.
    fn hidden_files(&self) -> Result<Vec<(String, String)>, FileSinkError> {
        let dir = self.settings.dir();
        let entries = std::fs::read_dir(dir).map_err(io("list the directory", dir))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("list the directory", dir))?;
            let Ok(file_name) = entry.file_name().into_string() else {
                continue;
            };
            if let Some((transaction, _, _)) = part_names::parse_hidden(&file_name) {
                let transaction = transaction.to_string();
                found.push((file_name, transaction));
            }
        }
        Ok(found)
    }

    /// Renames each pending part of `transaction` to its final name; a part already there is
    /// committed.
    fn commit_parts(&self, transaction: &FileTransaction) -> Result<(), FileSinkError> {
        let mut renamed = false;
        for part in 0..transaction.parts {
            let pending = self.path(&part_names::hidden(&transaction.name, part, PENDING));
            let finished = self.path(&part_names::finished(
                &transaction.stem,
                part,
                &transaction.suffix,
            ));
            match std::fs::rename(&pending, &finished) {
                Ok(()) => renamed = true,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    if !exists(&finished)? {
                        return Err(FileSinkError::PartLost {
                            transaction: transaction.name.clone(),
                            part,
                            pending,
                            finished,
                        });
                    }
                }
                Err(e) => return Err(io("rename the pending file to its final name", &pending)(e)),
            }
        }
        if renamed {
            self.sync_dir()?;
        }
        Ok(())
    }
}

fn exists(path: &Path) -> Result<bool, FileSinkError> {
    path.try_exists()
        .map_err(io("look for the final file", path))
}

impl<T: Send + 'static> TwoPhaseCommitSink<T> for TransactionalFileSink<T> {
    type Transaction = FileTransaction;

    /// Nothing is created until the transaction's first record.
    fn begin_transaction(&mut self, id: TransactionId) -> Result<FileTransaction, BoxError> {
        let name = id.name();
        let stem = part_names::finished_stem(self.settings.part_prefix(), self.subtask, &name);
        Ok(FileTransaction {
            name,
            stem,
            suffix: self.settings.part_suffix().to_string(),
            parts: 0,
        })
    }

    fn invoke(&mut self, transaction: &mut FileTransaction, record: T) -> Result<(), BoxError> {
        self.invoke_batch(transaction, vec![record])
    }

    fn invoke_batch(
        &mut self,
        transaction: &mut FileTransaction,
        records: Vec<T>,
    ) -> Result<(), BoxError> {
        let encoder = self.settings.encoder().clone();
        let rolling = self.settings.rolling();
        for record in records {
            if self.current.is_none() {
                self.open_part(transaction)?;
            }
            self.scratch.clear();
            encoder(&record, &mut self.scratch);
            let Some(open) = self.current.as_mut() else {
                return Err("no part file is open".into());
            };
            (open.writer.write_all(&self.scratch))
                .map_err(io("write the in-progress file", &open.path))?;
            open.bytes += self.scratch.len() as u64;
            if rolling.should_roll(open.bytes) {
                self.close_part()?;
            }
        }
        Ok(())
    }

    /// Closes the open part: flushed, fsynced, renamed to pending, the directory fsynced.
    fn pre_commit(&mut self, _: &mut FileTransaction) -> Result<(), BoxError> {
        Ok(self.close_part()?)
    }

    fn commit(&mut self, transaction: &FileTransaction) -> Result<(), BoxError> {
        Ok(self.commit_parts(transaction)?)
    }

    fn abort(&mut self, transaction: &FileTransaction) -> Result<(), BoxError> {
        Ok(self.delete_hidden(&transaction.name)?)
    }

    /// The transactions with a pending or in-progress file in the directory whose name starts
    /// with `prefix`: a crashed deployment left them, pre-committed or still open.
    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        let names: BTreeSet<String> = (self.hidden_files()?.into_iter())
            .map(|(_, transaction)| transaction)
            .filter(|t| t.starts_with(prefix))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        Ok(self.delete_hidden(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(sequence: u64) -> TransactionId {
        TransactionId {
            job_id: "job".into(),
            operator_uid: "sink".into(),
            subtask: 0,
            run: 1,
            attempt: 0,
            sequence,
        }
    }

    fn sink(dir: &Path, part_size: u64) -> TransactionalFileSink<u64> {
        let settings =
            FileSink::for_lines(dir).with_rolling(super::super::RollingPolicy::by_size(part_size));
        TransactionalFileSink::open(&settings, 0).expect("opens")
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = (std::fs::read_dir(dir).expect("list"))
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn parts_are_hidden_until_commit_and_a_repeated_commit_is_success() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sink = sink(dir.path(), 4);
        let mut txn = sink.begin_transaction(id(0)).expect("begins");
        sink.invoke_batch(&mut txn, vec![1, 22, 333])
            .expect("writes");
        assert!(names(dir.path()).iter().all(|n| n.starts_with('.')));
        sink.pre_commit(&mut txn).expect("pre-commits");
        assert_eq!(
            txn.parts, 2,
            "rolled at 4 bytes: \"1\\n22\\n\" and \"333\\n\""
        );
        assert!(names(dir.path()).iter().all(|n| n.ends_with(".pending")));
        sink.commit(&txn).expect("commits");
        sink.recover_and_commit(&txn).expect("already committed");
        let visible = names(dir.path());
        assert_eq!(visible.len(), 2);
        let text: String = (visible.iter())
            .map(|n| std::fs::read_to_string(dir.path().join(n)).expect("read"))
            .collect();
        assert_eq!(text, "1\n22\n333\n");
    }

    #[test]
    fn a_part_neither_pending_nor_finished_is_reported_lost() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sink = sink(dir.path(), 1_000);
        let mut txn = sink.begin_transaction(id(0)).expect("begins");
        sink.invoke(&mut txn, 7).expect("writes");
        sink.pre_commit(&mut txn).expect("pre-commits");
        for name in names(dir.path()) {
            std::fs::remove_file(dir.path().join(name)).expect("remove");
        }
        let error = sink.commit(&txn).expect_err("lost");
        assert!(error.to_string().contains(&txn.name), "{error}");
    }

    #[test]
    fn leftovers_are_listed_by_prefix_and_aborted_with_their_in_progress_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sink = sink(dir.path(), 1_000);
        let mut prepared = sink.begin_transaction(id(0)).expect("begins");
        sink.invoke(&mut prepared, 1).expect("writes");
        sink.pre_commit(&mut prepared).expect("pre-commits");
        let mut open = sink.begin_transaction(id(1)).expect("begins");
        sink.invoke(&mut open, 2).expect("writes");
        let empty = sink.begin_transaction(id(2)).expect("begins");
        let prefix = TransactionId::subtask_prefix("job", "sink", 0);
        let listed = sink.prepared_transactions(&prefix).expect("lists");
        assert_eq!(listed, [prepared.name.clone(), open.name.clone()]);
        assert!(sink
            .prepared_transactions("weir-other-")
            .expect("lists")
            .is_empty());
        for name in &listed {
            sink.abort_prepared(name).expect("aborts");
        }
        sink.abort(&empty).expect("nothing to delete");
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }
}
