//! Sinks: where records leave a job.
//!
//! | module | sink |
//! | --- | --- |
//! | [`writer`] | [`SinkWriter`], the trait a custom sink implements ([`DataStream::sink_to`](crate::DataStream::sink_to)) |
//! | [`line_file`] | [`write_lines`](crate::DataStream::write_lines): one text file per subtask, restore-safe |
//! | [`committed_collector`] | [`collect_committed`](crate::DataStream::collect_committed): in memory, only what completed checkpoints cover |
//! | [`two_phase_commit`] | [`TwoPhaseCommitSink`](two_phase_commit::TwoPhaseCommitSink) ([`DataStream::sink_to_two_phase_commit`](crate::DataStream::sink_to_two_phase_commit)): exactly-once by prepared transactions |
//! | [`transactional_file`] | [`FileSink`](transactional_file::FileSink) ([`DataStream::sink_to_files`](crate::DataStream::sink_to_files)): exactly-once part files, made visible by a rename at commit |
//! | [`write_ahead`] | [`WriteAheadSink`](write_ahead::WriteAheadSink) ([`DataStream::sink_to_write_ahead`](crate::DataStream::sink_to_write_ahead)): exactly-once by records kept in state and a written-marker |
//! | [`upsert`] | [`UpsertSink`](upsert::UpsertSink) ([`DataStream::sink_to_upsert`](crate::DataStream::sink_to_upsert)): idempotent writes by key |
//! | `collect` | [`collect`](crate::DataStream::collect): in memory, everything received |
//! | `print` | [`print`](crate::DataStream::print) and [`discard`](crate::DataStream::discard) |

mod collect;
pub mod committed_collector;
pub mod line_file;
mod print;
pub mod transactional_file;
pub mod two_phase_commit;
pub mod upsert;
pub mod write_ahead;
pub mod writer;

pub use collect::CollectHandle;
pub(crate) use collect::CollectWriter;
pub use line_file::{LineFileError, LineFileWriter};
pub(crate) use print::{DiscardWriter, PrintWriter};
pub use writer::SinkWriter;
pub(crate) use writer::SinkWriterOperator;
