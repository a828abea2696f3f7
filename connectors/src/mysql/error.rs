//! [`MySqlSinkError`]: what can go wrong in the MariaDB/MySQL sinks, naming the server, the
//! table and the transaction.

/// An error of a MariaDB/MySQL sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MySqlSinkError {
    /// The URL is not a MariaDB/MySQL URL.
    #[error("invalid MariaDB/MySQL URL for table {table}: {source}")]
    Url {
        /// The sink's table.
        table: String,
        /// What the driver says.
        source: Box<mysql::UrlError>,
    },
    /// The server cannot be reached.
    #[error(
        "cannot connect to MariaDB/MySQL at {server} (table {table}): {source}; is it running? \
         (as root: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)"
    )]
    Connect {
        /// `host:port/database`.
        server: String,
        /// The sink's table.
        table: String,
        /// What the driver says.
        source: Box<mysql::Error>,
    },
    /// A statement of the XA protocol failed.
    #[error("{statement} of XA transaction {transaction} (table {table}) failed: {source}")]
    Xa {
        /// The XA statement (`XA START`, `XA END`, …).
        statement: &'static str,
        /// The transaction's name (its gtrid).
        transaction: String,
        /// The sink's table.
        table: String,
        /// What the driver says.
        source: Box<mysql::Error>,
    },
    /// Writing rows failed.
    #[error("writing {rows} rows into {table} (transaction {transaction}) failed: {source}")]
    Write {
        /// How many rows the batch had.
        rows: usize,
        /// The sink's table.
        table: String,
        /// The transaction's name, or `-` for an upsert batch.
        transaction: String,
        /// What the driver says.
        source: Box<mysql::Error>,
    },
    /// A transaction that must be committed is not prepared, and no earlier attempt of this
    /// sink may have committed it: committing it now could lose its rows silently.
    #[error(
        "XA transaction {transaction} (table {table}) is not prepared any more, and no earlier \
         commit of it was attempted"
    )]
    NotPrepared {
        /// The transaction's name.
        transaction: String,
        /// The sink's table.
        table: String,
    },
    /// A prepared transaction stays attached to a session of another connection (one of a
    /// crashed deployment the server has not closed yet) past the wait.
    #[error(
        "XA transaction {transaction} (table {table}) is still attached to another session \
         after {waited_ms} ms"
    )]
    Attached {
        /// The transaction's name.
        transaction: String,
        /// The sink's table.
        table: String,
        /// How long the sink waited.
        waited_ms: u128,
    },
    /// `XA RECOVER` failed.
    #[error("XA RECOVER at {server} (table {table}) failed: {source}")]
    Recover {
        /// `host:port/database`.
        server: String,
        /// The sink's table.
        table: String,
        /// What the driver says.
        source: Box<mysql::Error>,
    },
}

/// MariaDB's and MySQL's `XAER_NOTA`: no such XA transaction (not prepared, or attached to
/// another session).
pub(crate) const XAER_NOTA: u16 = 1397;

/// Whether `error` is the server's error `code`.
pub(crate) fn is_server_error(error: &mysql::Error, code: u16) -> bool {
    matches!(error, mysql::Error::MySqlError(e) if e.code == code)
}

/// Whether `error` leaves the connection unusable (anything but an error the server reported).
pub(crate) fn breaks_connection(error: &mysql::Error) -> bool {
    !matches!(error, mysql::Error::MySqlError(_))
}
