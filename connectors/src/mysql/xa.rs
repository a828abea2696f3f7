//! The XA statements the sink sends, by transaction name: the name goes to the server as a hex
//! literal (`X'…'`), so no name needs quoting; and the finishing of a prepared transaction,
//! which tells "not prepared" from "prepared, but attached to another session".

use super::error::{is_server_error, MySqlSinkError, XAER_NOTA};
use super::server::Server;
use mysql::prelude::Queryable;
use mysql::Conn;
use std::time::{Duration, Instant};

/// How long a commit or rollback waits for a prepared transaction to be released by the
/// session of a crashed deployment (the server closes it once it notices the disconnect).
const ATTACHED_WAIT: Duration = Duration::from_secs(30);

/// `name` as an XA `xid`: a hex string literal.
pub(crate) fn xid(name: &str) -> String {
    let mut s = String::with_capacity(3 + 2 * name.len());
    s.push_str("X'");
    for b in name.bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('\'');
    s
}

/// Runs `statement` (`XA START`, `XA END`, …) for transaction `name` on `conn`.
pub(crate) fn run(
    conn: &mut Conn,
    statement: &'static str,
    name: &str,
    table: &str,
) -> Result<(), MySqlSinkError> {
    run_raw(conn, statement, name).map_err(|source| MySqlSinkError::Xa {
        statement,
        transaction: name.to_string(),
        table: table.to_string(),
        source: Box::new(source),
    })
}

fn run_raw(conn: &mut Conn, statement: &str, name: &str) -> Result<(), mysql::Error> {
    conn.query_drop(format!("{statement} {}", xid(name)))
}

/// The gtrids of the transactions the server holds prepared (`XA RECOVER`: columns formatID,
/// gtrid_length, bqual_length, data), of the default format (1), that start with `prefix`.
pub(crate) fn recover(conn: &mut Conn, prefix: &str) -> Result<Vec<String>, mysql::Error> {
    let rows: Vec<(i64, i64, i64, Vec<u8>)> = conn.query("XA RECOVER")?;
    Ok(rows
        .into_iter()
        .filter(|(format, _, bqual, _)| *format == 1 && *bqual == 0)
        .filter_map(|(_, gtrid, _, data)| {
            let gtrid = data.get(..usize::try_from(gtrid).ok()?)?;
            String::from_utf8(gtrid.to_vec()).ok()
        })
        .filter(|name| name.starts_with(prefix))
        .collect())
}

/// How finishing a prepared transaction went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    /// The statement committed (rolled back) it.
    Done,
    /// The server holds no such prepared transaction (error 1397, and `XA RECOVER` does not
    /// list it).
    NotPrepared,
}

/// `XA COMMIT` or `XA ROLLBACK` (`statement`) of the prepared transaction `name`, from
/// `conn`, which need not be the session that prepared it. Error 1397 means either "not
/// prepared" or "prepared, still attached to another session" (a crashed deployment's, whose
/// disconnect the server has not noticed yet): `XA RECOVER` tells them apart, and the second
/// is waited for, at most [`ATTACHED_WAIT`].
pub(crate) fn finish(
    server: &Server,
    conn: &mut Option<Conn>,
    statement: &'static str,
    name: &str,
) -> Result<Finished, MySqlSinkError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let c = server.ensure(conn)?;
        let error = match run_raw(c, statement, name) {
            Ok(()) => return Ok(Finished::Done),
            Err(e) if is_server_error(&e, XAER_NOTA) => e,
            Err(source) => {
                *conn = None;
                return Err(MySqlSinkError::Xa {
                    statement,
                    transaction: name.to_string(),
                    table: server.table.clone(),
                    source: Box::new(source),
                });
            }
        };
        let listed = recover(c, name).map_err(|source| MySqlSinkError::Recover {
            server: server.label.clone(),
            table: server.table.clone(),
            source: Box::new(source),
        })?;
        if !listed.iter().any(|n| n == name) {
            tracing::debug!(transaction = name, %error, "{statement}: not prepared");
            return Ok(Finished::NotPrepared);
        }
        if started.elapsed() >= ATTACHED_WAIT {
            return Err(MySqlSinkError::Attached {
                transaction: name.to_string(),
                table: server.table.clone(),
                waited_ms: started.elapsed().as_millis(),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}
