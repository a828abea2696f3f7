//! [`Connection`]: one PostgreSQL connection that opens itself again when the server dropped
//! it (a restart, a network failure), so that a retried call works on a fresh session.

use super::error::PostgresSinkError;
use postgres::{Client, NoTls};

/// A lazily opened connection to `url`.
pub(crate) struct Connection {
    url: String,
    client: Option<Client>,
}

impl Connection {
    /// A connection to `url`, opened on first use.
    pub(crate) fn new(url: &str) -> Self {
        Connection {
            url: url.to_string(),
            client: None,
        }
    }

    /// The open client, connecting first if there is none or the last one broke.
    pub(crate) fn client(&mut self) -> Result<&mut Client, PostgresSinkError> {
        let client = match self.client.take().filter(|c| !c.is_closed()) {
            Some(client) => client,
            None => Client::connect(&self.url, NoTls).map_err(|source| {
                PostgresSinkError::Connect {
                    url: self.url.clone(),
                    source,
                }
            })?,
        };
        Ok(self.client.insert(client))
    }

    /// Forgets the client after `error` if the error broke the session (closed, I/O) or left
    /// it in an unknown state, so the next call reconnects.
    pub(crate) fn forget_if_broken(&mut self, error: &postgres::Error) {
        if error.is_closed() || error.code().is_none() {
            self.client = None;
        }
    }

    /// Drops the session (its open transaction is rolled back by the server).
    pub(crate) fn reset(&mut self) {
        self.client = None;
    }
}

/// Whether `error` is SQLSTATE 42704 (`undefined_object`): `COMMIT PREPARED` or `ROLLBACK
/// PREPARED` of a name that is not prepared.
pub(crate) fn is_not_prepared(error: &postgres::Error) -> bool {
    error.code() == Some(&postgres::error::SqlState::UNDEFINED_OBJECT)
}
