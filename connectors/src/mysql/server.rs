//! [`Server`]: where a sink connects, and how it names the server in its errors (without the
//! password).

use super::error::MySqlSinkError;
use mysql::{Conn, Opts};

/// A MariaDB/MySQL server and the table a sink writes.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    opts: Opts,
    /// `host:port/database`.
    pub(crate) label: String,
    /// The sink's table, for errors.
    pub(crate) table: String,
}

impl Server {
    /// The server of `url`, for a sink of `table`.
    pub(crate) fn new(url: &str, table: &str) -> Result<Server, MySqlSinkError> {
        let opts = Opts::from_url(url).map_err(|source| MySqlSinkError::Url {
            table: table.to_string(),
            source: Box::new(source),
        })?;
        let label = format!(
            "{}:{}/{}",
            opts.get_ip_or_hostname(),
            opts.get_tcp_port(),
            opts.get_db_name().unwrap_or("")
        );
        Ok(Server {
            opts,
            label,
            table: table.to_string(),
        })
    }

    /// A new connection.
    pub(crate) fn connect(&self) -> Result<Conn, MySqlSinkError> {
        Conn::new(self.opts.clone()).map_err(|source| MySqlSinkError::Connect {
            server: self.label.clone(),
            table: self.table.clone(),
            source: Box::new(source),
        })
    }

    /// `conn`, connected first if it is `None`.
    pub(crate) fn ensure<'a>(
        &self,
        conn: &'a mut Option<Conn>,
    ) -> Result<&'a mut Conn, MySqlSinkError> {
        let c = match conn.take() {
            Some(c) => c,
            None => self.connect()?,
        };
        Ok(conn.insert(c))
    }
}
