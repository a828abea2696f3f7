//! [`PostgresTwoPhaseCommitSink`]: rows written in a PostgreSQL transaction per checkpoint,
//! `PREPARE TRANSACTION` at the barrier, `COMMIT PREPARED` when the checkpoint completed.

use super::connection::{is_not_prepared, Connection};
use super::error::PostgresSinkError;
use super::statement::InsertStatement;
use serde::{Deserialize, Serialize};
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use weir::BoxError;

/// What the operator state keeps of one PostgreSQL transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostgresTransaction {
    /// Its global id in `pg_prepared_xacts` ([`TransactionId::name`]).
    pub name: String,
    /// Whether `PREPARE TRANSACTION` ran: a transaction that wrote no row is never begun on
    /// the server, and its commit does nothing (FLINK-31363).
    pub prepared: bool,
}

/// A [`TwoPhaseCommitSink`] into a PostgreSQL table (Flink's `JdbcSink.exactlyOnceSink`, with
/// PostgreSQL's own prepared transactions instead of XA).
///
/// Each subtask holds two connections: the writer, whose session runs the open transaction
/// (`BEGIN` on its first row, rows in multi-row INSERTs of the batch size, `PREPARE
/// TRANSACTION` at the barrier), and the committer, which runs `COMMIT PREPARED`, `ROLLBACK
/// PREPARED` and the `pg_prepared_xacts` query (they cannot run inside the writer's open
/// transaction). Both reconnect after the server dropped them, so a retried commit works once
/// the server is back. Needs `max_prepared_transactions` > 0 (see
/// [`ensure_prepared_transactions`](super::ensure_prepared_transactions)). Build it with
/// [`PostgresSinkBuilder::build_two_phase_commit`](super::PostgresSinkBuilder::build_two_phase_commit).
pub struct PostgresTwoPhaseCommitSink<T> {
    pub(super) table: String,
    pub(super) statement: InsertStatement<T>,
    pub(super) batch_size: usize,
    pub(super) writer: Connection,
    pub(super) committer: Connection,
    /// The transaction whose `BEGIN` ran on the writer's session.
    pub(super) begun: Option<String>,
    pub(super) buffer: Vec<T>,
}

/// `name` as an SQL string literal.
pub(super) fn literal(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

impl<T> PostgresTwoPhaseCommitSink<T> {
    fn flush(&mut self, txn: &PostgresTransaction) -> Result<(), PostgresSinkError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let write = |source| PostgresSinkError::Write {
            table: self.table.clone(),
            transaction: txn.name.clone(),
            source,
        };
        let per_statement = self.statement.rows_per_statement(self.batch_size);
        let full = match self.writer.prepare(&self.statement.text(per_statement)) {
            Ok(full) => full,
            Err(e) => {
                self.writer.reset();
                self.begun = None;
                return Err(e);
            }
        };
        let client = self.writer.client()?;
        let mut result = Ok(0);
        if self.begun.as_deref() != Some(txn.name.as_str()) {
            result = client.batch_execute("BEGIN").map(|_| 0);
        }
        if result.is_ok() {
            self.begun = Some(txn.name.clone());
            result = self
                .statement
                .execute(client, &self.buffer, (per_statement, &full));
        }
        match result {
            Ok(_) => {
                self.buffer.clear();
                Ok(())
            }
            Err(e) => {
                // The transaction is lost either way: start the next one on a fresh session.
                self.writer.reset();
                self.begun = None;
                Err(write(e))
            }
        }
    }

    /// Runs `COMMIT PREPARED` or `ROLLBACK PREPARED` of `name` on the committer; `Ok(false)`
    /// when the server does not hold `name` prepared (SQLSTATE 42704).
    fn finish_prepared(
        &mut self,
        step: &'static str,
        name: &str,
    ) -> Result<bool, PostgresSinkError> {
        let client = self.committer.client()?;
        match client.batch_execute(&format!("{step} {}", literal(name))) {
            Ok(()) => Ok(true),
            Err(e) if is_not_prepared(&e) => Ok(false),
            Err(source) => {
                self.committer.forget_if_broken(&source);
                Err(PostgresSinkError::Transaction {
                    step,
                    table: self.table.clone(),
                    transaction: name.to_string(),
                    source,
                })
            }
        }
    }
}

impl<T: Send + 'static> TwoPhaseCommitSink<T> for PostgresTwoPhaseCommitSink<T> {
    type Transaction = PostgresTransaction;

    /// Nothing reaches the server yet: `BEGIN` runs with the first row.
    fn begin_transaction(&mut self, id: TransactionId) -> Result<PostgresTransaction, BoxError> {
        Ok(PostgresTransaction {
            name: id.name(),
            prepared: false,
        })
    }

    fn invoke(&mut self, txn: &mut PostgresTransaction, record: T) -> Result<(), BoxError> {
        self.buffer.push(record);
        if self.buffer.len() >= self.batch_size {
            self.flush(txn)?;
        }
        Ok(())
    }

    fn invoke_batch(
        &mut self,
        txn: &mut PostgresTransaction,
        records: Vec<T>,
    ) -> Result<(), BoxError> {
        self.buffer.extend(records);
        if self.buffer.len() >= self.batch_size {
            self.flush(txn)?;
        }
        Ok(())
    }

    /// Writes what is buffered and prepares the transaction; one that wrote no row is only
    /// marked as having nothing to commit.
    fn pre_commit(&mut self, txn: &mut PostgresTransaction) -> Result<(), BoxError> {
        self.flush(txn)?;
        if self.begun.as_deref() != Some(txn.name.as_str()) {
            return Ok(());
        }
        self.begun = None;
        let client = self.writer.client()?;
        if let Err(source) =
            client.batch_execute(&format!("PREPARE TRANSACTION {}", literal(&txn.name)))
        {
            self.writer.reset();
            return Err(Box::new(PostgresSinkError::Transaction {
                step: "PREPARE TRANSACTION",
                table: self.table.clone(),
                transaction: txn.name.clone(),
                source,
            }));
        }
        txn.prepared = true;
        Ok(())
    }

    /// `COMMIT PREPARED`; a name no longer prepared was committed by an earlier attempt whose
    /// answer the broken connection lost (only this sink's commit removes a prepared
    /// transaction whose checkpoint completed).
    fn commit(&mut self, txn: &PostgresTransaction) -> Result<(), BoxError> {
        if txn.prepared && !self.finish_prepared("COMMIT PREPARED", &txn.name)? {
            tracing::warn!(
                "transaction {} of table {} is not prepared any more: an earlier attempt committed it",
                txn.name,
                self.table
            );
        }
        Ok(())
    }

    fn recover_and_commit(&mut self, txn: &PostgresTransaction) -> Result<(), BoxError> {
        if txn.prepared && !self.finish_prepared("COMMIT PREPARED", &txn.name)? {
            tracing::info!(
                "restored transaction {} of table {} was committed already (SQLSTATE 42704)",
                txn.name,
                self.table
            );
        }
        Ok(())
    }

    /// Rolls back the open transaction (by dropping its session) and, open or not, any
    /// prepared transaction of that name.
    fn abort(&mut self, txn: &PostgresTransaction) -> Result<(), BoxError> {
        if self.begun.as_deref() == Some(txn.name.as_str()) {
            self.writer.reset();
            self.begun = None;
            self.buffer.clear();
        }
        if !self.finish_prepared("ROLLBACK PREPARED", &txn.name)? && txn.prepared {
            tracing::info!(
                "transaction {} of table {} was gone already",
                txn.name,
                self.table
            );
        }
        Ok(())
    }

    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let client = self.committer.client()?;
        let rows = match client.query(
            "SELECT gid FROM pg_prepared_xacts \
             WHERE database = current_database() AND gid LIKE $1 ESCAPE '\\' ORDER BY gid",
            &[&pattern],
        ) {
            Ok(rows) => rows,
            Err(source) => {
                self.committer.forget_if_broken(&source);
                return Err(Box::new(PostgresSinkError::Query {
                    what: format!("listing prepared transactions {prefix}* in pg_prepared_xacts"),
                    source,
                }));
            }
        };
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        if self.finish_prepared("ROLLBACK PREPARED", name)? {
            tracing::info!(
                "rolled back transaction {name} of table {}, left by a crashed deployment",
                self.table
            );
        }
        Ok(())
    }
}
