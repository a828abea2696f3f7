//! Connectors for weir: exactly-once sinks into real databases, each behind a cargo feature so
//! that weir itself, and its protocol tests, build without any database driver.
//!
//! | feature | module | sinks |
//! | --- | --- | --- |
//! | `postgres` | `postgres` | two-phase commit (`PREPARE TRANSACTION`), write-ahead, upsert |
//! | `mysql` | `mysql` | XA two-phase commit (MariaDB and MySQL), upsert |
//! | `kafka` | `kafka` | a split source (exactly-once into the job), an at-least-once sink |
//! | `nats` | `nats` | JetStream: a split source (exactly-once with such a sink), an at-least-once or idempotent sink |
//!
//! Connection URLs default to the environment variables `WEIR_PG_URL`, `WEIR_MYSQL_URL`,
//! `WEIR_KAFKA_URL` (see [`env`]) and `WEIR_NATS_URL` (`nats::nats_url`).
#![deny(missing_docs)]

pub mod env;

#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "postgres")]
pub mod postgres;
