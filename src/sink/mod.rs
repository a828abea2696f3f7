//! Sinks: where records leave a job.
//!
//! | module | sink |
//! | --- | --- |
//! | [`writer`] | [`SinkWriter`], the trait a custom sink implements ([`DataStream::sink_to`](crate::DataStream::sink_to)) |
//! | [`line_file`] | [`write_lines`](crate::DataStream::write_lines): one text file per subtask, restore-safe |
//! | [`committed_collector`] | [`collect_committed`](crate::DataStream::collect_committed): in memory, only what completed checkpoints cover |
//! | `collect` | [`collect`](crate::DataStream::collect): in memory, everything received |
//! | `print` | [`print`](crate::DataStream::print) and [`discard`](crate::DataStream::discard) |

mod collect;
pub mod committed_collector;
pub mod line_file;
mod print;
pub mod writer;

pub use collect::CollectHandle;
pub(crate) use collect::CollectWriter;
pub use line_file::{LineFileError, LineFileWriter};
pub(crate) use print::{DiscardWriter, PrintWriter};
pub use writer::SinkWriter;
pub(crate) use writer::SinkWriterOperator;
