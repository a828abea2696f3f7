//! [`InsertStatement`]: an `INSERT … VALUES ($1, …, $n) [suffix]` text and the closure that turns
//! a record into its `n` parameters (Flink's `JdbcStatementBuilder`), written many rows per
//! statement.

use super::error::PostgresSinkError;
use postgres::types::ToSql;
use postgres::{GenericClient, Statement};
use std::sync::Arc;

/// The parameters of one record, `$1..$n` in order.
pub type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// Turns a record into its parameters.
pub type ParamsFn<T> = Arc<dyn Fn(&T) -> Params + Send + Sync>;

/// PostgreSQL accepts at most this many parameters in one statement.
const MAX_PARAMS: usize = 65_535;

/// An INSERT statement with one `VALUES` tuple, repeated for every row of a batch.
pub struct InsertStatement<T> {
    head: String,
    tuple: String,
    tail: String,
    arity: usize,
    params: ParamsFn<T>,
}

impl<T> Clone for InsertStatement<T> {
    fn clone(&self) -> Self {
        InsertStatement {
            head: self.head.clone(),
            tuple: self.tuple.clone(),
            tail: self.tail.clone(),
            arity: self.arity,
            params: self.params.clone(),
        }
    }
}

impl<T> InsertStatement<T> {
    /// Parses `sql` (`INSERT INTO t (a, b) VALUES ($1, $2)`, optionally followed by a suffix
    /// such as `ON CONFLICT …`): it must hold one `VALUES ( … )` tuple using `$1..$n`.
    pub fn new(
        table: &str,
        sql: &str,
        params: impl Fn(&T) -> Params + Send + Sync + 'static,
    ) -> Result<Self, PostgresSinkError> {
        let invalid = |reason| PostgresSinkError::InvalidStatement {
            table: table.to_string(),
            sql: sql.to_string(),
            reason,
        };
        let lower = sql.to_ascii_lowercase();
        let values = lower
            .find("values")
            .ok_or_else(|| invalid("no VALUES ( … ) tuple"))?;
        let open = values
            + lower[values..]
                .find('(')
                .ok_or_else(|| invalid("no ( after VALUES"))?;
        let close =
            matching_paren(sql, open).ok_or_else(|| invalid("unbalanced ( after VALUES"))?;
        let tuple = &sql[open..=close];
        let arity = placeholders(tuple).into_iter().max().unwrap_or(0);
        if arity == 0 {
            return Err(invalid("the VALUES tuple has no $1..$n parameter"));
        }
        Ok(InsertStatement {
            head: sql[..open].to_string(),
            tuple: tuple.to_string(),
            tail: sql[close + 1..].to_string(),
            arity,
            params: Arc::new(params),
        })
    }

    /// How many rows go into one statement at most (`batch_size`, unless that has more
    /// parameters than PostgreSQL takes).
    pub(crate) fn rows_per_statement(&self, batch_size: usize) -> usize {
        batch_size.clamp(1, MAX_PARAMS / self.arity)
    }

    /// The statement text for `rows` rows.
    pub(crate) fn text(&self, rows: usize) -> String {
        let mut sql = self.head.clone();
        for row in 0..rows {
            if row > 0 {
                sql.push(',');
            }
            sql.push_str(&renumber(&self.tuple, row * self.arity));
        }
        sql.push_str(&self.tail);
        sql
    }

    /// Writes `records` with `client`, `full.0` rows per statement, with `full.1` (the text of
    /// [`text`](Self::text)`(full.0)` prepared) for full statements; returns the rows the server
    /// reported.
    pub(crate) fn execute(
        &self,
        client: &mut impl GenericClient,
        records: &[T],
        full: (usize, &Statement),
    ) -> Result<u64, postgres::Error> {
        let (per_statement, statement) = full;
        let mut written = 0;
        for chunk in records.chunks(per_statement.max(1)) {
            let params: Vec<Params> = chunk.iter().map(|r| (self.params)(r)).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .flatten()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            written += if chunk.len() == per_statement {
                client.execute(statement, &refs)?
            } else {
                client.execute(&self.text(chunk.len()), &refs)?
            };
        }
        Ok(written)
    }
}

/// The index of the `)` closing the `(` at `open`, skipping quoted text.
fn matching_paren(sql: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in sql.char_indices().skip_while(|(i, _)| *i < open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The numbers of the `$k` placeholders in `text`.
fn placeholders(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if let Ok(k) = rest[..digits].parse() {
            found.push(k);
        }
        rest = &rest[digits..];
    }
    found
}

/// `tuple` with every `$k` replaced by `$(k + offset)`.
fn renumber(tuple: &str, offset: usize) -> String {
    let mut out = String::with_capacity(tuple.len() + 8);
    let mut rest = tuple;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(k) => out.push_str(&(k + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_repeats_the_tuple_with_renumbered_parameters_and_keeps_the_suffix() {
        let s = InsertStatement::<i64>::new(
            "t",
            "INSERT INTO t (k, v) VALUES ($1, $2::bigint) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            |r| vec![Box::new(*r), Box::new(*r)],
        )
        .expect("valid");
        assert_eq!(s.arity, 2);
        assert_eq!(
            s.text(3),
            "INSERT INTO t (k, v) VALUES ($1, $2::bigint),($3, $4::bigint),($5, $6::bigint) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
        );
        assert_eq!(s.rows_per_statement(1_000_000), 32_767);
    }

    #[test]
    fn a_statement_without_a_values_tuple_or_parameters_is_refused() {
        for sql in [
            "INSERT INTO t SELECT 1",
            "INSERT INTO t VALUES (1",
            "INSERT INTO t VALUES (1)",
        ] {
            let e = InsertStatement::<i64>::new("t", sql, |_| Vec::new()).err();
            assert!(
                matches!(e, Some(PostgresSinkError::InvalidStatement { .. })),
                "{sql}"
            );
        }
    }
}
