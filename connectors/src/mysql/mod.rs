//! Sinks into MariaDB and MySQL (feature `mysql`), on the blocking `mysql` driver (every call
//! into a sink runs on its subtask's own thread):
//! - [`MySqlXaSink`]: exactly-once through XA transactions, for `sink_to_two_phase_commit`;
//! - [`MySqlUpsertSink`]: idempotent `INSERT … ON DUPLICATE KEY UPDATE` batches, for
//!   `sink_to_upsert`.
//!
//! Both write each record with an [`InsertStatement`]: SQL with `?` placeholders and a
//! closure giving a record's parameters.
//!
//! ```no_run
//! use std::time::Duration;
//! use weir::sink::two_phase_commit::TwoPhaseCommitConfig;
//! use weir::StreamEnvironment;
//! use weir_connectors::mysql::{InsertStatement, MySqlXaSink};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut env = StreamEnvironment::new();
//! env.enable_checkpointing(Duration::from_secs(1));
//! // CREATE TABLE counts (k BIGINT NOT NULL, n BIGINT NOT NULL) ENGINE=InnoDB
//! let insert = InsertStatement::new("INSERT INTO counts (k, n) VALUES (?, ?)", |r: &(u64, u64)| {
//!     vec![r.0.into(), r.1.into()]
//! });
//! let sink = MySqlXaSink::builder("counts", insert).batch_size(500);
//! env.generate_sequence(0, 999_999)
//!     .map(|x| (x % 100, 1))
//!     .key_by(|r| r.0)
//!     .reduce(|a, b| (a.0, a.1 + b.1))
//!     .uid("count")
//!     .sink_to_two_phase_commit(TwoPhaseCommitConfig::default(), move |_| Ok(sink.build()?))
//!     .uid("counts-sink");
//! env.execute()?;
//! # Ok(())
//! # }
//! ```
//!
//! The driver moves a connection to `localhost`/`127.0.0.1` onto the server's Unix socket when
//! it can (its `prefer_socket` option, on by default); add `?prefer_socket=false` to the URL to
//! keep TCP.

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
