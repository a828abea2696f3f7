//! Sinks into MariaDB and MySQL (feature `mysql`), on the blocking `mysql` driver (every call
//! into a sink runs on its subtask's own thread):
//! - [`MySqlXaSink`]: exactly-once through XA transactions, for `sink_to_two_phase_commit`;
//! - [`MySqlUpsertSink`]: idempotent `INSERT … ON DUPLICATE KEY UPDATE` batches, for
//!   `sink_to_upsert`.
//!
//! Both write each record with an [`InsertStatement`]: SQL with `?` placeholders and a
//! closure giving a record's parameters.

mod error;
mod server;
mod statement;
mod upsert_sink;
mod xa;
mod xa_sink;

pub use error::MySqlSinkError;
pub use statement::InsertStatement;
pub use upsert_sink::{MySqlUpsertSink, MySqlUpsertSinkBuilder};
pub use xa_sink::{MySqlXaSink, MySqlXaSinkBuilder, XaTransaction};
