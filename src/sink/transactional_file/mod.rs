//! The transactional file sink (Flink's `FileSink` in row format): exactly-once files through
//! two-phase commit, applied with
//! [`DataStream::sink_to_files`](crate::DataStream::sink_to_files).
//!
//! ```
//! use std::time::Duration;
//! use weir::sink::transactional_file::FileSink;
//! use weir::StreamEnvironment;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let dir = std::env::temp_dir().join(format!("weir-files-{}", std::process::id()));
//!     let mut env = StreamEnvironment::new();
//!     env.set_parallelism(2)
//!         .enable_checkpointing(Duration::from_millis(100));
//!     env.generate_sequence(0, 999)
//!         .uid("numbers")
//!         .map(|n| n * 2)
//!         .uid("double")
//!         .sink_to_files(FileSink::for_lines(&dir).with_part_suffix(".txt"))
//!         .uid("files");
//!     env.execute()?;
//!     // A reader lists the directory and skips hidden files (in progress or pending).
//!     let mut numbers = Vec::new();
//!     for entry in std::fs::read_dir(&dir)? {
//!         let path = entry?.path();
//!         let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
//!         if name.starts_with('.') {
//!             continue;
//!         }
//!         for line in std::fs::read_to_string(&path)?.lines() {
//!             numbers.push(line.parse::<u64>()?);
//!         }
//!     }
//!     numbers.sort_unstable();
//!     assert_eq!(numbers, (0..1000).map(|n| n * 2).collect::<Vec<u64>>());
//!     std::fs::remove_dir_all(&dir)?;
//!     Ok(())
//! }
//! ```
//!
//! # How it writes
//! Each subtask writes the records between two checkpoint barriers as one transaction of one
//! or more *part files* in the target directory:
//! - **in progress**: records are appended to `.<transaction>.<part>.inprogress`; when it holds
//!   [`RollingPolicy::max_part_size`] bytes it is closed (as at a barrier) and the next part
//!   begins;
//! - **pending**: at the barrier the open part is flushed, fsynced and renamed to
//!   `.<transaction>.<part>.pending`, and the directory is fsynced — the transaction is
//!   pre-committed and survives a crash of the process;
//! - **finished**: when the checkpoint completes, each pending part is renamed to its final name
//!   `<prefix>-<subtask>-<transaction>-<part><suffix>` and the directory is fsynced. A part
//!   already renamed is committed, so a commit can be repeated.
//!
//! A transaction without records creates no file. Transaction names come from
//! [`TransactionId::name`](crate::sink::two_phase_commit::TransactionId::name): a final name is
//! never reused, not across restarts nor across runs restored from the job's checkpoints.
//!
//! # Restore
//! As every [two-phase-commit sink](crate::sink::two_phase_commit): the parts of transactions
//! the restored checkpoint pre-committed are renamed to their final names (if they are not
//! already), the transaction that was open is deleted, and then every hidden part file of a
//! transaction of this subtask (its name starts with the subtask's prefix) is deleted: a
//! crashed or failed deployment left it, and no complete checkpoint covers it.
//!
//! # What a reader sees
//! - A reader that lists the directory and reads the files whose names do not start with `.`
//!   sees only committed parts, each whole, each once: the records of every completed
//!   checkpoint, exactly once.
//! - Records appear when the checkpoint after them completes (with 1 s checkpoints, about a
//!   second late); without checkpointing nothing is ever committed.
//! - After a job finished (its last checkpoint committed), no hidden file of it is left.
//!
//! # What is not guaranteed
//! - After a failure that is not restarted, or a killed process, hidden files stay until the
//!   job is restored from its checkpoints (which commits or deletes each).
//! - Two jobs with the same job id and sink uid writing into one directory would clean up each
//!   other's files; give each job its own id or directory.
//! - The part files are closed only at barriers and by size, so a part may hold up to one
//!   checkpoint interval of records beyond the size (one record past it).
//! - Renames and fsyncs are as atomic and durable as the file system makes them (on a local
//!   POSIX file system, a rename within a directory is atomic).

mod error;
mod file_sink;
mod part_names;
mod rolling_policy;
mod sink;

pub use error::FileSinkError;
pub use file_sink::{Encoder, FileSink};
pub use rolling_policy::RollingPolicy;
pub use sink::{FileTransaction, TransactionalFileSink};
