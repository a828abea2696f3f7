//! Where the connectors find their servers when no URL is given: environment variables with
//! the defaults of a machine that runs the servers locally.

/// The PostgreSQL URL: `WEIR_PG_URL`, else `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> String {
    std::env::var("WEIR_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The MariaDB/MySQL URL: `WEIR_MYSQL_URL`, else `mysql://root@127.0.0.1:3306/test`.
pub fn mysql_url() -> String {
    std::env::var("WEIR_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The Kafka bootstrap servers: `WEIR_KAFKA_URL` (comma-separated `host:port`s), else
/// `127.0.0.1:9092`.
pub fn kafka_url() -> String {
    std::env::var("WEIR_KAFKA_URL").unwrap_or_else(|_| "127.0.0.1:9092".into())
}
