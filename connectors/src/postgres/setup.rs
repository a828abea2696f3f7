//! [`ensure_prepared_transactions`]: makes sure the server allows prepared transactions, which
//! the two-phase-commit sink needs (`max_prepared_transactions` is 0 by default).

use postgres::{Client, NoTls};

/// The value [`ensure_prepared_transactions`] sets when the server has 0.
pub const MAX_PREPARED_TRANSACTIONS: u32 = 64;

/// Why the server cannot take prepared transactions yet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The server at `url` could not be reached.
    #[error("cannot connect to PostgreSQL at {url}: {source} (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)")]
    Connect {
        /// The connection URL.
        url: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// Reading or changing the setting failed (`ALTER SYSTEM` needs a superuser).
    #[error("{what} at {url}: {source}")]
    Query {
        /// The statement.
        what: &'static str,
        /// The connection URL.
        url: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// `max_prepared_transactions` is 0 and has been set (`ALTER SYSTEM`) to
    /// [`MAX_PREPARED_TRANSACTIONS`]; it takes effect only after a restart of the server.
    #[error("PostgreSQL's max_prepared_transactions is 0; it is now set to {MAX_PREPARED_TRANSACTIONS} for the next start: restart the server with `{command}`")]
    RestartNeeded {
        /// The command that restarts the server on this machine.
        command: String,
    },
}

/// Returns the server's `max_prepared_transactions` if it is above 0. If it is 0, runs
/// `ALTER SYSTEM SET max_prepared_transactions = 64` and returns
/// [`SetupError::RestartNeeded`] with the command that restarts the cluster. Idempotent:
/// running it again before the restart sets the same value and says the same.
pub fn ensure_prepared_transactions(url: &str) -> Result<u32, SetupError> {
    let query = |what| {
        move |source| SetupError::Query {
            what,
            url: url.to_string(),
            source,
        }
    };
    let mut client = Client::connect(url, NoTls).map_err(|source| SetupError::Connect {
        url: url.to_string(),
        source,
    })?;
    let show = "SELECT current_setting('max_prepared_transactions')::int, current_setting('server_version_num')::int";
    let row = client
        .query_one(show, &[])
        .map_err(query("reading max_prepared_transactions"))?;
    let (current, version): (i32, i32) = (row.get(0), row.get(1));
    if current > 0 {
        return Ok(current as u32);
    }
    let alter = format!("ALTER SYSTEM SET max_prepared_transactions = {MAX_PREPARED_TRANSACTIONS}");
    client
        .batch_execute(&alter)
        .map_err(query("ALTER SYSTEM SET max_prepared_transactions"))?;
    tracing::warn!(
        "set max_prepared_transactions = {MAX_PREPARED_TRANSACTIONS}; PostgreSQL must restart"
    );
    Err(SetupError::RestartNeeded {
        command: format!(
            "pg_ctlcluster --skip-systemctl-redirect {} main restart",
            version / 10_000
        ),
    })
}
