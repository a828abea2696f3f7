//! [`PostgresWriteAheadSink`]: each completed checkpoint's rows written in one PostgreSQL
//! transaction together with a marker row, so a batch written before is never written again.

use super::connection::Connection;
use super::error::PostgresSinkError;
use super::statement::InsertStatement;
use weir::sink::two_phase_commit::TransactionId;
use weir::sink::write_ahead::{BatchOutcome, WriteAheadSink};
use weir::BoxError;

/// The marker table's default name.
pub const DEFAULT_MARKER_TABLE: &str = "weir_write_ahead_markers";

/// A [`WriteAheadSink`] into a PostgreSQL table (Flink's `GenericWriteAheadSink` with a
/// JDBC `CheckpointCommitter`): `write_batch` inserts the batch's marker into the marker table
/// (`batch text primary key, written_at timestamptz`, created if missing) with `ON CONFLICT DO
/// NOTHING` and, only if that inserted it, the rows, in one transaction. Needs no prepared
/// transactions. Build it with
/// [`PostgresSinkBuilder::build_write_ahead`](super::PostgresSinkBuilder::build_write_ahead).
pub struct PostgresWriteAheadSink<T> {
    pub(super) table: String,
    pub(super) marker_table: String,
    pub(super) statement: InsertStatement<T>,
    pub(super) batch_size: usize,
    pub(super) connection: Connection,
    pub(super) marker_table_ready: bool,
}

impl<T> PostgresWriteAheadSink<T> {
    fn create_marker_table(&mut self) -> Result<(), PostgresSinkError> {
        if self.marker_table_ready {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (batch text PRIMARY KEY, written_at timestamptz NOT NULL)",
            self.marker_table
        );
        let client = self.connection.client()?;
        match client.batch_execute(&sql) {
            Ok(()) => {}
            // Two subtasks creating it at once: one of them loses the race on the catalogue.
            Err(e) if matches!(e.code().map(|c| c.code()), Some("23505" | "42P07")) => {}
            Err(source) => {
                self.connection.forget_if_broken(&source);
                return Err(PostgresSinkError::Query {
                    what: format!("creating the marker table {}", self.marker_table),
                    source,
                });
            }
        }
        self.marker_table_ready = true;
        Ok(())
    }

    fn write(&mut self, name: &str, records: &[T]) -> Result<BatchOutcome, PostgresSinkError> {
        let marker = format!(
            "INSERT INTO {} (batch, written_at) VALUES ($1, now()) ON CONFLICT DO NOTHING",
            self.marker_table
        );
        let per_statement = self.statement.rows_per_statement(self.batch_size);
        let full = self
            .connection
            .prepare(&self.statement.text(per_statement))?;
        let client = self.connection.client()?;
        let written = (|| {
            let mut txn = client.transaction()?;
            if txn.execute(&marker, &[&name])? == 0 {
                txn.rollback()?;
                return Ok(BatchOutcome::AlreadyWritten);
            }
            self.statement
                .execute(&mut txn, records, (per_statement, &full))?;
            txn.commit()?;
            Ok(BatchOutcome::Written)
        })();
        written.map_err(|source| {
            self.connection.forget_if_broken(&source);
            PostgresSinkError::Write {
                table: self.table.clone(),
                transaction: name.to_string(),
                source,
            }
        })
    }
}

impl<T: Send + 'static> WriteAheadSink<T> for PostgresWriteAheadSink<T> {
    fn write_batch(
        &mut self,
        batch: &TransactionId,
        records: &[T],
    ) -> Result<BatchOutcome, BoxError> {
        self.create_marker_table()?;
        Ok(self.write(&batch.name(), records)?)
    }
}
