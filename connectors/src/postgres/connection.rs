//! [`Connection`]: one PostgreSQL connection that opens itself again when the server dropped
//! it (a restart, a network failure), so that a retried call works on a fresh session.

use super::error::PostgresSinkError;
use postgres::{Client, NoTls, Statement};

/// A lazily opened connection to `url`.
pub(crate) struct Connection {
    url: String,
    client: Option<Client>,
    /// The statement prepared on `client` for a full batch, and its text.
    prepared: Option<(String, Statement)>,
}

impl Connection {
    /// A connection to `url`, opened on first use.
    pub(crate) fn new(url: &str) -> Self {
        Connection {
            url: url.to_string(),
            client: None,
            prepared: None,
        }
    }

    /// The open client, connecting first if there is none or the last one broke.
    pub(crate) fn client(&mut self) -> Result<&mut Client, PostgresSinkError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.reset();
        }
        let client = match self.client.take() {
            Some(client) => client,
            None => {
                Client::connect(&self.url, NoTls).map_err(|source| PostgresSinkError::Connect {
                    url: self.url.clone(),
                    source,
                })?
            }
        };
        Ok(self.client.insert(client))
    }

    /// Forgets the client after `error` if the error broke the session (closed, I/O) or left
    /// it in an unknown state, so the next call reconnects.
    pub(crate) fn forget_if_broken(&mut self, error: &postgres::Error) {
        if error.is_closed() || error.code().is_none() {
            self.reset();
        }
    }

    /// Drops the session (its open transaction is rolled back by the server).
    pub(crate) fn reset(&mut self) {
        self.client = None;
        self.prepared = None;
    }

    /// `sql` prepared on the session, once per session.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, PostgresSinkError> {
        if let Some((text, statement)) = &self.prepared {
            if text == sql {
                return Ok(statement.clone());
            }
        }
        let statement = self
            .client()?
            .prepare(sql)
            .map_err(|source| PostgresSinkError::Query {
                what: format!("preparing {}…", sql.chars().take(80).collect::<String>()),
                source,
            })?;
        self.prepared = Some((sql.to_string(), statement.clone()));
        Ok(statement)
    }
}

/// Whether `error` is SQLSTATE 42704 (`undefined_object`): `COMMIT PREPARED` or `ROLLBACK
/// PREPARED` of a name that is not prepared.
pub(crate) fn is_not_prepared(error: &postgres::Error) -> bool {
    error.code() == Some(&postgres::error::SqlState::UNDEFINED_OBJECT)
}
