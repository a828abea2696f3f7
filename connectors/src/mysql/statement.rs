//! [`InsertStatement`]: the statement a MariaDB/MySQL sink writes each record with (Flink's
//! `JdbcStatementBuilder`).

use mysql::Value;
use std::fmt;
use std::sync::Arc;

/// An SQL statement with `?` placeholders and the closure that turns a record into its
/// parameters, in placeholder order. Cheap to clone (one per subtask).
///
/// ```
/// use weir_connectors::mysql::InsertStatement;
/// let insert = InsertStatement::new(
///     "INSERT INTO counts (k, n) VALUES (?, ?)",
///     |r: &(u64, u64)| vec![r.0.into(), r.1.into()],
/// );
/// assert_eq!(insert.sql(), "INSERT INTO counts (k, n) VALUES (?, ?)");
/// assert_eq!(insert.params(&(1, 2)).len(), 2);
/// ```
pub struct InsertStatement<T> {
    sql: Arc<str>,
    params: ParamsOf<T>,
}

/// The closure giving a record's parameters, shared by the clones of a statement.
type ParamsOf<T> = Arc<dyn Fn(&T) -> Vec<Value> + Send + Sync>;

impl<T> InsertStatement<T> {
    /// `sql` (an `INSERT`, or for an upsert sink an `INSERT … ON DUPLICATE KEY UPDATE`), with
    /// `params` giving each record's parameters.
    pub fn new(
        sql: impl Into<String>,
        params: impl Fn(&T) -> Vec<Value> + Send + Sync + 'static,
    ) -> Self {
        InsertStatement {
            sql: Arc::from(sql.into()),
            params: Arc::new(params),
        }
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters of `record`.
    pub fn params(&self, record: &T) -> Vec<Value> {
        (self.params)(record)
    }
}

impl<T> Clone for InsertStatement<T> {
    fn clone(&self) -> Self {
        InsertStatement {
            sql: self.sql.clone(),
            params: self.params.clone(),
        }
    }
}

impl<T> fmt::Debug for InsertStatement<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InsertStatement")
            .field("sql", &self.sql)
            .finish_non_exhaustive()
    }
}
