//! [`PostgresUpsertSink`]: rows written by key with `INSERT … ON CONFLICT (key) DO UPDATE`,
//! many rows per statement, one transaction per batch.

use super::connection::Connection;
use super::error::PostgresSinkError;
use super::statement::InsertStatement;
use std::sync::Arc;
use weir::sink::upsert::UpsertSink;
use weir::BoxError;

/// Picks, of a batch, the indices of the records to write: the last record of each key, in
/// the order of those records.
pub(super) type Dedup<T> = Arc<dyn Fn(&[T]) -> Vec<usize> + Send + Sync>;

/// An [`UpsertSink`] into a PostgreSQL table: each call writes its records in one transaction,
/// in multi-row statements of the batch size. The statement must be an upsert (`INSERT … ON
/// CONFLICT (key) DO UPDATE SET …`); since one statement cannot update a row twice, only the
/// last record of each key in a call is written (what writing them in order leaves). Eventually
/// consistent on replay, as [`weir::sink::upsert`] says. Build it with
/// [`PostgresSinkBuilder::build_upsert`](super::PostgresSinkBuilder::build_upsert).
pub struct PostgresUpsertSink<T> {
    pub(super) table: String,
    pub(super) statement: InsertStatement<T>,
    pub(super) batch_size: usize,
    pub(super) dedup: Dedup<T>,
    pub(super) connection: Connection,
    pub(super) batches: u64,
}

impl<T: Clone + Send + 'static> UpsertSink<T> for PostgresUpsertSink<T> {
    fn upsert(&mut self, records: &[T]) -> Result<(), BoxError> {
        if records.is_empty() {
            return Ok(());
        }
        let last: Vec<T> = (self.dedup)(records)
            .into_iter()
            .filter_map(|i| records.get(i).cloned())
            .collect();
        let per_statement = self.statement.rows_per_statement(self.batch_size);
        self.batches += 1;
        let full = self
            .connection
            .prepare(&self.statement.text(per_statement))?;
        let client = self.connection.client()?;
        let written = (|| {
            let mut txn = client.transaction()?;
            self.statement
                .execute(&mut txn, &last, (per_statement, &full))?;
            txn.commit()
        })();
        written.map_err(|source| {
            self.connection.forget_if_broken(&source);
            Box::new(PostgresSinkError::Write {
                table: self.table.clone(),
                transaction: format!("upsert batch {}", self.batches),
                source,
            }) as BoxError
        })
    }
}
