//! [`PostgresSinkError`]: what went wrong in a PostgreSQL sink, naming the table, the
//! transaction or the statement involved.

/// An error of a PostgreSQL sink (two-phase commit, write-ahead or upsert).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresSinkError {
    /// The server at `url` could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL at {url}: {source} (is the server up? see SERVICES.md: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)")]
    Connect {
        /// The connection URL.
        url: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// The INSERT statement given to the builder cannot be batched.
    #[error("statement {sql:?} for table {table}: {reason}")]
    InvalidStatement {
        /// The table.
        table: String,
        /// The statement.
        sql: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Writing rows into `table` in transaction `transaction` failed.
    #[error("writing into table {table} in transaction {transaction}: {source}")]
    Write {
        /// The table.
        table: String,
        /// The transaction's name (or the write-ahead batch).
        transaction: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// A step of the transaction protocol (`PREPARE TRANSACTION`, `COMMIT PREPARED`,
    /// `ROLLBACK PREPARED`, `COMMIT`…) failed.
    #[error("{step} of transaction {transaction} (table {table}): {source}")]
    Transaction {
        /// The statement that failed.
        step: &'static str,
        /// The table.
        table: String,
        /// The transaction's name.
        transaction: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// A query of the server's catalogue (`pg_prepared_xacts`, creating the marker table)
    /// failed.
    #[error("{what}: {source}")]
    Query {
        /// What the query was for.
        what: String,
        /// The driver's error.
        source: postgres::Error,
    },
}
