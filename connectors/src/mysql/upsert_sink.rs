//! [`MySqlUpsertSink`]: idempotent writes by key into a MariaDB/MySQL table (`INSERT … ON
//! DUPLICATE KEY UPDATE`), one transaction per batch.

use super::error::{breaks_connection, MySqlSinkError};
use super::server::Server;
use super::statement::InsertStatement;
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts};
use weir::sink::upsert::UpsertSink;
use weir::BoxError;

/// Builds a [`MySqlUpsertSink`]; see [`MySqlUpsertSink::builder`].
#[derive(Debug, Clone)]
pub struct MySqlUpsertSinkBuilder<T> {
    url: String,
    table: String,
    statement: InsertStatement<T>,
}

impl<T> MySqlUpsertSinkBuilder<T> {
    /// The server's URL (by default [`crate::env::mysql_url`]).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The sink of one subtask, connected to the server (an error names the server and says
    /// how to start it).
    pub fn build(&self) -> Result<MySqlUpsertSink<T>, MySqlSinkError> {
        let server = Server::new(&self.url, &self.table)?;
        let conn = Some(server.connect()?);
        Ok(MySqlUpsertSink {
            server,
            statement: self.statement.clone(),
            conn,
        })
    }
}

/// An [`UpsertSink`] into a MariaDB/MySQL table, for `sink_to_upsert` (which sets the batch
/// size): each batch is one transaction running the statement (an `INSERT … ON DUPLICATE KEY
/// UPDATE`) once per record, committed before [`upsert`](UpsertSink::upsert) returns. A
/// broken connection is replaced on the next batch. Replayed records overwrite their keys with
/// the same values, so the table is eventually consistent (see `weir::sink::upsert`).
pub struct MySqlUpsertSink<T> {
    server: Server,
    statement: InsertStatement<T>,
    conn: Option<Conn>,
}

impl<T> MySqlUpsertSink<T> {
    /// A builder of the sink writing into `table` with `statement`, at
    /// [`crate::env::mysql_url`].
    pub fn builder(
        table: impl Into<String>,
        statement: InsertStatement<T>,
    ) -> MySqlUpsertSinkBuilder<T> {
        MySqlUpsertSinkBuilder {
            url: crate::env::mysql_url(),
            table: table.into(),
            statement,
        }
    }

    fn write(conn: &mut Conn, sql: &str, params: Vec<Vec<mysql::Value>>) -> mysql::Result<()> {
        let mut tx = conn.start_transaction(TxOpts::default())?;
        tx.exec_batch(sql, params)?;
        tx.commit()
    }
}

impl<T: Send + 'static> UpsertSink<T> for MySqlUpsertSink<T> {
    fn upsert(&mut self, records: &[T]) -> Result<(), BoxError> {
        if records.is_empty() {
            return Ok(());
        }
        let params: Vec<_> = records.iter().map(|r| self.statement.params(r)).collect();
        let conn = self.server.ensure(&mut self.conn)?;
        if let Err(source) = Self::write(conn, self.statement.sql(), params) {
            if breaks_connection(&source) {
                self.conn = None;
            }
            return Err(MySqlSinkError::Write {
                rows: records.len(),
                table: self.server.table.clone(),
                transaction: "-".into(),
                source: Box::new(source),
            }
            .into());
        }
        Ok(())
    }
}
