//! The reference job's output table: created, written through an exactly-once sink (MariaDB XA
//! or PostgreSQL two-phase commit), and read back to count what is present, duplicated and
//! missing.

use std::collections::BTreeMap;
use weir::sink::two_phase_commit::TwoPhaseCommitConfig;
use weir::DataStream;
use weir_connectors::mysql::{InsertStatement, MySqlXaSink};
use weir_connectors::postgres::{ensure_prepared_transactions, Params, PostgresSinkBuilder};

/// Where the job writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// MariaDB/MySQL through XA transactions (`WEIR_MYSQL_URL`).
    MariaDb,
    /// PostgreSQL through prepared transactions (`WEIR_PG_URL`).
    Postgres,
}

/// One output row: the input record's id, its key, and the key's running count at it.
pub type Row = (u64, u64, u64);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Drops and creates `table`.
pub fn create(db: Database, table: &str) -> Result<(), BoxError> {
    let ddl = format!(
        "CREATE TABLE {table} (id BIGINT NOT NULL, k BIGINT NOT NULL, seq BIGINT NOT NULL)"
    );
    match db {
        Database::MariaDb => {
            use mysql::prelude::Queryable;
            let mut conn =
                mysql::Conn::new(mysql::Opts::from_url(&weir_connectors::env::mysql_url())?)?;
            conn.query_drop(format!("DROP TABLE IF EXISTS {table}"))?;
            conn.query_drop(format!("{ddl} ENGINE=InnoDB"))?;
        }
        Database::Postgres => {
            let url = weir_connectors::env::postgres_url();
            ensure_prepared_transactions(&url)?;
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            client.batch_execute(&format!("DROP TABLE IF EXISTS {table}; {ddl}"))?;
        }
    }
    Ok(())
}

/// Drops `table`.
pub fn drop(db: Database, table: &str) -> Result<(), BoxError> {
    let sql = format!("DROP TABLE IF EXISTS {table}");
    match db {
        Database::MariaDb => {
            use mysql::prelude::Queryable;
            let mut conn =
                mysql::Conn::new(mysql::Opts::from_url(&weir_connectors::env::mysql_url())?)?;
            conn.query_drop(sql)?;
        }
        Database::Postgres => {
            let mut client =
                postgres::Client::connect(&weir_connectors::env::postgres_url(), postgres::NoTls)?;
            client.batch_execute(&sql)?;
        }
    }
    Ok(())
}

/// Writes `rows` into `table` exactly once.
pub fn sink(db: Database, table: &str, rows: DataStream<Row>) -> Result<(), BoxError> {
    let config = TwoPhaseCommitConfig::default();
    match db {
        Database::MariaDb => {
            let insert = InsertStatement::new(
                format!("INSERT INTO {table} (id, k, seq) VALUES (?, ?, ?)"),
                |r: &Row| vec![r.0.into(), r.1.into(), r.2.into()],
            );
            let builder = MySqlXaSink::builder(table, insert).batch_size(500);
            rows.sink_to_two_phase_commit(config, move |_| Ok(builder.build()?))
                .uid("database-sink");
        }
        Database::Postgres => {
            let builder = PostgresSinkBuilder::<Row>::new(
                table,
                &format!("INSERT INTO {table} (id, k, seq) VALUES ($1, $2, $3)"),
                |r| -> Params {
                    vec![
                        Box::new(r.0 as i64),
                        Box::new(r.1 as i64),
                        Box::new(r.2 as i64),
                    ]
                },
            )?
            .batch_size(500);
            rows.sink_to_two_phase_commit(config, move |_| Ok(builder.build_two_phase_commit()))
                .uid("database-sink");
        }
    }
    Ok(())
}

/// Every row of `table`.
pub fn read(db: Database, table: &str) -> Result<Vec<Row>, BoxError> {
    let query = format!("SELECT id, k, seq FROM {table}");
    Ok(match db {
        Database::MariaDb => {
            use mysql::prelude::Queryable;
            let mut conn =
                mysql::Conn::new(mysql::Opts::from_url(&weir_connectors::env::mysql_url())?)?;
            conn.query(query)?
        }
        Database::Postgres => {
            let mut client =
                postgres::Client::connect(&weir_connectors::env::postgres_url(), postgres::NoTls)?;
            (client.query(&query, &[])?.iter())
                .map(|r| {
                    (
                        r.get::<_, i64>(0) as u64,
                        r.get::<_, i64>(1) as u64,
                        r.get::<_, i64>(2) as u64,
                    )
                })
                .collect()
        }
    })
}

/// What the table holds against the input `0..expected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Input records.
    pub expected: u64,
    /// Distinct input ids in the table.
    pub present: u64,
    /// Rows beyond the first of an id.
    pub duplicated: u64,
    /// Input ids not in the table.
    pub missing: u64,
    /// Keys whose running counts are not exactly 1..=n (state counted a record twice or lost one).
    pub keys_off: u64,
}

impl Check {
    /// Compares `rows` with the input ids `0..expected`.
    pub fn of(rows: &[Row], expected: u64) -> Check {
        let mut ids: Vec<u64> = rows.iter().map(|r| r.0).collect();
        ids.sort_unstable();
        let total = ids.len() as u64;
        ids.dedup();
        let present = ids.iter().filter(|id| **id < expected).count() as u64;
        let mut seqs: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for r in rows {
            seqs.entry(r.1).or_default().push(r.2);
        }
        let keys_off = (seqs.values_mut())
            .map(|s| {
                s.sort_unstable();
                s.iter().enumerate().all(|(i, n)| *n == i as u64 + 1)
            })
            .filter(|exact| !exact)
            .count() as u64;
        Check {
            expected,
            present,
            duplicated: total - ids.len() as u64,
            missing: expected - present,
            keys_off,
        }
    }

    /// Whether the table holds the input exactly once.
    pub fn is_exact(&self) -> bool {
        self.present == self.expected
            && self.duplicated == 0
            && self.missing == 0
            && self.keys_off == 0
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expected {}, present {}, duplicated {}, missing {} (keys with a wrong running count: {})",
            self.expected, self.present, self.duplicated, self.missing, self.keys_off
        )
    }
}
