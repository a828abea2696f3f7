//! [`PostgresSinkBuilder`]: the connection URL, the table, the batch size and the statement
//! builder shared by the three PostgreSQL sinks (like Flink's `JdbcSink` arguments).

use super::connection::Connection;
use super::error::PostgresSinkError;
use super::statement::{InsertStatement, Params};
use super::two_phase_commit::PostgresTwoPhaseCommitSink;
use super::upsert::{Dedup, PostgresUpsertSink};
use super::write_ahead::{PostgresWriteAheadSink, DEFAULT_MARKER_TABLE};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// Builds PostgreSQL sinks; cheap to clone, so a job's `make` closure can build one sink per
/// subtask. Building connects to nothing: each sink connects on its first use.
///
/// ```no_run
/// use weir_connectors::postgres::{Params, PostgresSinkBuilder};
/// let builder = PostgresSinkBuilder::<(i64, i64)>::new(
///     "counts",
///     "INSERT INTO counts (k, n) VALUES ($1, $2)",
///     |r| -> Params { vec![Box::new(r.0), Box::new(r.1)] },
/// )?
/// .batch_size(500);
/// let sink = builder.build_two_phase_commit();
/// # Ok::<(), weir_connectors::postgres::PostgresSinkError>(())
/// ```
pub struct PostgresSinkBuilder<T> {
    url: String,
    table: String,
    batch_size: usize,
    statement: InsertStatement<T>,
    marker_table: String,
}

impl<T> Clone for PostgresSinkBuilder<T> {
    fn clone(&self) -> Self {
        PostgresSinkBuilder {
            url: self.url.clone(),
            table: self.table.clone(),
            batch_size: self.batch_size,
            statement: self.statement.clone(),
            marker_table: self.marker_table.clone(),
        }
    }
}

impl<T> PostgresSinkBuilder<T> {
    /// Sinks into `table` that write each record with `sql` (`INSERT INTO … VALUES ($1, …, $n)`,
    /// optionally followed by `ON CONFLICT …`), whose parameters `params` gives; many records
    /// share one statement, the tuple repeated. URL [`postgres_url`](crate::env::postgres_url),
    /// batches of 1 000 rows, marker table `weir_write_ahead_markers`. Fails if `sql` has no
    /// `VALUES ( … )` tuple with `$k` parameters.
    pub fn new(
        table: &str,
        sql: &str,
        params: impl Fn(&T) -> Params + Send + Sync + 'static,
    ) -> Result<Self, PostgresSinkError> {
        Ok(PostgresSinkBuilder {
            url: crate::env::postgres_url(),
            table: table.to_string(),
            batch_size: 1_000,
            statement: InsertStatement::new(table, sql, params)?,
            marker_table: DEFAULT_MARKER_TABLE.to_string(),
        })
    }

    /// Connects to `url` (`postgres://user@host:port/db`).
    pub fn url(mut self, url: &str) -> Self {
        self.url = url.to_string();
        self
    }

    /// Writes rows `rows` at a time (at least 1): one statement per batch.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// The write-ahead sink's marker table (an SQL name, used as it is).
    pub fn marker_table(mut self, name: &str) -> Self {
        self.marker_table = name.to_string();
        self
    }

    /// The connection URL.
    pub fn connection_url(&self) -> &str {
        &self.url
    }

    /// A two-phase-commit sink (prepared transactions).
    pub fn build_two_phase_commit(&self) -> PostgresTwoPhaseCommitSink<T> {
        PostgresTwoPhaseCommitSink {
            table: self.table.clone(),
            statement: self.statement.clone(),
            batch_size: self.batch_size,
            writer: Connection::new(&self.url),
            committer: Connection::new(&self.url),
            begun: None,
            buffer: Vec::new(),
        }
    }

    /// A write-ahead sink (rows and a marker in one transaction per completed checkpoint).
    pub fn build_write_ahead(&self) -> PostgresWriteAheadSink<T> {
        PostgresWriteAheadSink {
            table: self.table.clone(),
            marker_table: self.marker_table.clone(),
            statement: self.statement.clone(),
            batch_size: self.batch_size,
            connection: Connection::new(&self.url),
            marker_table_ready: false,
        }
    }

    /// An upsert sink; `key` is the record's conflict key (what the statement's `ON CONFLICT`
    /// names), so that of the records of one key in a batch only the last is written.
    pub fn build_upsert<K>(
        &self,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> PostgresUpsertSink<T>
    where
        K: Hash + Eq,
    {
        let dedup: Dedup<T> = Arc::new(move |records: &[T]| {
            let mut last = HashMap::with_capacity(records.len());
            for (i, r) in records.iter().enumerate() {
                last.insert(key(r), i);
            }
            let mut keep: Vec<usize> = last.into_values().collect();
            keep.sort_unstable();
            keep
        });
        PostgresUpsertSink {
            table: self.table.clone(),
            statement: self.statement.clone(),
            batch_size: self.batch_size,
            dedup,
            connection: Connection::new(&self.url),
            batches: 0,
        }
    }
}
