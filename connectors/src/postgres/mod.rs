//! Exactly-once sinks into PostgreSQL (feature `postgres`), with the blocking `postgres` driver
//! (every call into a sink runs on the sink subtask's own thread).
//!
//! | sink | how | a reader of the table sees |
//! | --- | --- | --- |
//! | [`PostgresTwoPhaseCommitSink`] | rows in a transaction per checkpoint, `PREPARE TRANSACTION` at the barrier, `COMMIT PREPARED` on completion | each checkpoint's rows at once, when it completes |
//! | [`PostgresWriteAheadSink`] | rows kept in the checkpoint, written on completion with a marker row in one transaction | the same, a little later; no prepared transactions needed |
//! | [`PostgresUpsertSink`] | `INSERT … ON CONFLICT DO UPDATE`, a transaction per batch | rows as they come; after a failure, keys may go back and forward again |
//!
//! All three are built by [`PostgresSinkBuilder`] (URL, table, batch size, an INSERT statement
//! and a closure giving its parameters) and applied with
//! `DataStream::sink_to_two_phase_commit`, `sink_to_write_ahead` and `sink_to_upsert`. The
//! two-phase-commit sink needs `max_prepared_transactions` > 0:
//! [`ensure_prepared_transactions`] raises it.

mod builder;
mod connection;
mod error;
mod setup;
mod statement;
mod two_phase_commit;
mod upsert;
mod write_ahead;

pub use builder::PostgresSinkBuilder;
pub use error::PostgresSinkError;
pub use setup::{ensure_prepared_transactions, SetupError, MAX_PREPARED_TRANSACTIONS};
pub use statement::{InsertStatement, Params, ParamsFn};
pub use two_phase_commit::{PostgresTransaction, PostgresTwoPhaseCommitSink};
pub use upsert::PostgresUpsertSink;
pub use write_ahead::{PostgresWriteAheadSink, DEFAULT_MARKER_TABLE};
