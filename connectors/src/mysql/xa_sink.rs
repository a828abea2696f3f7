//! [`MySqlXaSink`]: exactly-once into a MariaDB/MySQL table through XA transactions (Flink's
//! `JdbcSink.exactlyOnceSink`).

use super::error::MySqlSinkError;
use super::server::Server;
use super::statement::InsertStatement;
use super::xa::{self, Finished};
use mysql::prelude::Queryable;
use mysql::Conn;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use weir::sink::two_phase_commit::{TransactionId, TwoPhaseCommitSink};
use weir::BoxError;

/// How many free connections a sink keeps for its next transactions.
const IDLE_CONNECTIONS: usize = 2;

/// One XA transaction of a [`MySqlXaSink`], as the checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XaTransaction {
    /// Its gtrid: [`TransactionId::name`].
    pub name: String,
    /// The rows written in it so far. A transaction with none was never started on the
    /// server, so its commit is a no-op (an empty checkpoint commits cleanly, FLINK-31363).
    pub rows: u64,
}

/// Builds a [`MySqlXaSink`]; see [`MySqlXaSink::builder`].
#[derive(Debug, Clone)]
pub struct MySqlXaSinkBuilder<T> {
    url: String,
    table: String,
    batch_size: usize,
    statement: InsertStatement<T>,
}

impl<T> MySqlXaSinkBuilder<T> {
    /// The server's URL (by default [`crate::env::mysql_url`]).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// How many records are buffered before they are sent to the server (default 500, at
    /// least 1); the buffer is also sent at every checkpoint barrier.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The sink of one subtask, connected to the server (an error names the server and says
    /// how to start it).
    pub fn build(&self) -> Result<MySqlXaSink<T>, MySqlSinkError> {
        let server = Server::new(&self.url, &self.table)?;
        let control = Some(server.connect()?);
        Ok(MySqlXaSink {
            server,
            statement: self.statement.clone(),
            batch_size: self.batch_size,
            buffer: Vec::new(),
            data: None,
            active: None,
            parked: HashMap::new(),
            idle: Vec::new(),
            control,
            uncertain: HashSet::new(),
        })
    }
}

/// A [`TwoPhaseCommitSink`] writing every record exactly once into a MariaDB/MySQL table,
/// through `sink_to_two_phase_commit`.
///
/// The records between two barriers form one XA transaction named by its
/// [`TransactionId::name`] (sent as a hex literal, so no name needs quoting). It is started
/// (`XA START`) when its first batch is written, batches of
/// [`batch_size`](MySqlXaSinkBuilder::batch_size) records go through the statement, the barrier
/// ends and prepares it (`XA END`, `XA PREPARE`) and the checkpoint's completion commits it
/// (`XA COMMIT`) from the session that prepared it. MariaDB keeps a session that prepared a
/// transaction from starting another until it is committed, so each transaction runs on a
/// connection of its own, reused once its transaction committed.
///
/// On restore, commits that cannot find their transaction (error 1397) count as done by an
/// earlier attempt, and so do aborts; a transaction still attached to a crashed deployment's
/// session (which `XA COMMIT` from another session also answers with 1397, while `XA RECOVER`
/// lists it) is waited for. A commit that finds the connection broken is retried (by the
/// operator) on a new connection.
pub struct MySqlXaSink<T> {
    server: Server,
    statement: InsertStatement<T>,
    batch_size: usize,
    buffer: Vec<T>,
    /// The connection of the open transaction.
    data: Option<Conn>,
    /// The open transaction's name once `XA START` ran on `data`.
    active: Option<String>,
    /// Prepared transactions with the session that prepared them.
    parked: HashMap<String, Conn>,
    idle: Vec<Conn>,
    /// Commits and rollbacks of transactions of no session of this sink, and `XA RECOVER`.
    control: Option<Conn>,
    /// Transactions whose commit failed without an answer: "not prepared" means "committed".
    uncertain: HashSet<String>,
}

impl<T> MySqlXaSink<T> {
    /// A builder of the sink writing into `table` with `statement`, at
    /// [`crate::env::mysql_url`], 500 records a batch.
    pub fn builder(
        table: impl Into<String>,
        statement: InsertStatement<T>,
    ) -> MySqlXaSinkBuilder<T> {
        MySqlXaSinkBuilder {
            url: crate::env::mysql_url(),
            table: table.into(),
            batch_size: 500,
            statement,
        }
    }

    fn table(&self) -> &str {
        &self.server.table
    }

    /// Sends the buffer in `transaction`, starting it on the server first if needed.
    fn flush(&mut self, transaction: &mut XaTransaction) -> Result<(), BoxError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let open = self.active.as_deref() == Some(transaction.name.as_str());
        let mut conn = match (open, self.data.take()) {
            (true, Some(conn)) => conn,
            _ => {
                let mut conn = match self.idle.pop() {
                    Some(c) => c,
                    None => self.server.connect()?,
                };
                xa::run(&mut conn, "XA START", &transaction.name, self.table())?;
                self.active = Some(transaction.name.clone());
                conn
            }
        };
        let rows = self.buffer.len();
        let params: Vec<_> = self
            .buffer
            .iter()
            .map(|r| self.statement.params(r))
            .collect();
        if let Err(source) = conn.exec_batch(self.statement.sql(), params) {
            // Dropping the connection rolls back what the transaction wrote.
            self.active = None;
            return Err(MySqlSinkError::Write {
                rows,
                table: self.table().to_string(),
                transaction: transaction.name.clone(),
                source: Box::new(source),
            }
            .into());
        }
        self.data = Some(conn);
        transaction.rows += rows as u64;
        self.buffer.clear();
        Ok(())
    }

    fn keep_idle(&mut self, conn: Conn) {
        if self.idle.len() < IDLE_CONNECTIONS {
            self.idle.push(conn);
        }
    }

    /// Commits (rolls back) `name` from the control connection.
    fn finish(&mut self, statement: &'static str, name: &str) -> Result<Finished, BoxError> {
        Ok(xa::finish(
            &self.server,
            &mut self.control,
            statement,
            name,
        )?)
    }
}

impl<T: Send + 'static> TwoPhaseCommitSink<T> for MySqlXaSink<T> {
    type Transaction = XaTransaction;

    fn begin_transaction(&mut self, id: TransactionId) -> Result<XaTransaction, BoxError> {
        self.buffer.clear();
        Ok(XaTransaction {
            name: id.name(),
            rows: 0,
        })
    }

    fn invoke(&mut self, transaction: &mut XaTransaction, record: T) -> Result<(), BoxError> {
        self.buffer.push(record);
        if self.buffer.len() >= self.batch_size {
            self.flush(transaction)?;
        }
        Ok(())
    }

    fn pre_commit(&mut self, transaction: &mut XaTransaction) -> Result<(), BoxError> {
        self.flush(transaction)?;
        if self.active.as_deref() != Some(transaction.name.as_str()) {
            return Ok(());
        }
        let table = self.server.table.clone();
        let Some(mut conn) = self.data.take() else {
            return Ok(());
        };
        self.active = None;
        xa::run(&mut conn, "XA END", &transaction.name, &table)?;
        xa::run(&mut conn, "XA PREPARE", &transaction.name, &table)?;
        self.parked.insert(transaction.name.clone(), conn);
        Ok(())
    }

    fn commit(&mut self, transaction: &XaTransaction) -> Result<(), BoxError> {
        if transaction.rows == 0 {
            return Ok(());
        }
        let name = &transaction.name;
        if let Some(mut conn) = self.parked.remove(name) {
            match xa::run(&mut conn, "XA COMMIT", name, &self.server.table) {
                Ok(()) => {
                    self.keep_idle(conn);
                    return Ok(());
                }
                Err(e) => {
                    // Whether it committed is unknown: the retry finds out from the control
                    // connection (and waits while this session still holds it).
                    self.uncertain.insert(name.clone());
                    return Err(e.into());
                }
            }
        }
        match self.finish("XA COMMIT", name) {
            Ok(Finished::Done) => Ok(()),
            Ok(Finished::NotPrepared) if self.uncertain.contains(name) => {
                tracing::info!(transaction = %name, table = self.table(),
                    "XA COMMIT: not prepared any more; an earlier attempt committed it");
                Ok(())
            }
            Ok(Finished::NotPrepared) => Err(MySqlSinkError::NotPrepared {
                transaction: name.clone(),
                table: self.table().to_string(),
            }
            .into()),
            Err(e) => {
                self.uncertain.insert(name.clone());
                Err(e)
            }
        }
    }

    fn abort(&mut self, transaction: &XaTransaction) -> Result<(), BoxError> {
        let name = &transaction.name;
        let table = self.server.table.clone();
        if self.active.as_deref() == Some(name.as_str()) {
            self.buffer.clear();
            if let Some(mut conn) = self.data.take() {
                let ended = xa::run(&mut conn, "XA END", name, &table)
                    .and_then(|()| xa::run(&mut conn, "XA ROLLBACK", name, &table));
                if ended.is_ok() {
                    self.keep_idle(conn);
                }
            }
            self.active = None;
            return Ok(());
        }
        if let Some(mut conn) = self.parked.remove(name) {
            if xa::run(&mut conn, "XA ROLLBACK", name, &table).is_ok() {
                self.keep_idle(conn);
                return Ok(());
            }
        }
        if transaction.rows > 0 {
            self.finish("XA ROLLBACK", name)?;
        }
        Ok(())
    }

    fn recover_and_commit(&mut self, transaction: &XaTransaction) -> Result<(), BoxError> {
        if transaction.rows == 0 {
            return Ok(());
        }
        if self.finish("XA COMMIT", &transaction.name)? == Finished::NotPrepared {
            tracing::warn!(transaction = %transaction.name, table = self.table(),
                "XA COMMIT on restore: not prepared any more (error 1397); already committed");
        }
        Ok(())
    }

    fn recover_and_abort(&mut self, transaction: &XaTransaction) -> Result<(), BoxError> {
        if self.finish("XA ROLLBACK", &transaction.name)? == Finished::NotPrepared {
            tracing::debug!(transaction = %transaction.name, "XA ROLLBACK on restore: already gone");
        }
        Ok(())
    }

    fn prepared_transactions(&mut self, prefix: &str) -> Result<Vec<String>, BoxError> {
        let conn = self.server.ensure(&mut self.control)?;
        match xa::recover(conn, prefix) {
            Ok(names) => Ok(names),
            Err(source) => {
                self.control = None;
                Err(MySqlSinkError::Recover {
                    server: self.server.label.clone(),
                    table: self.server.table.clone(),
                    source: Box::new(source),
                }
                .into())
            }
        }
    }

    fn abort_prepared(&mut self, name: &str) -> Result<(), BoxError> {
        tracing::info!(
            transaction = name,
            table = self.table(),
            "rolling back a prepared XA transaction a crashed deployment left"
        );
        self.finish("XA ROLLBACK", name)?;
        Ok(())
    }
}
