//! A keyed count written exactly once into PostgreSQL through the two-phase-commit sink:
//! `cargo run --release -p weir-stream-connectors --features postgres --example postgres_counts`
//! (the server at `WEIR_PG_URL`, by default `postgres://postgres@127.0.0.1:5432/test`, with
//! `max_prepared_transactions` above 0).

use std::time::Duration;
use weir::sink::two_phase_commit::TwoPhaseCommitConfig;
use weir::StreamEnvironment;
use weir_connectors::postgres::{ensure_prepared_transactions, Params, PostgresSinkBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = weir_connectors::env::postgres_url();
    ensure_prepared_transactions(&url)?;
    let (mut client, table) = (
        postgres::Client::connect(&url, postgres::NoTls)?,
        "weir_example_counts",
    );
    client.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (k BIGINT, n BIGINT)"
    ))?;
    let counts = PostgresSinkBuilder::<(i64, i64)>::new(
        table,
        &format!("INSERT INTO {table} (k, n) VALUES ($1, $2)"),
        |r| -> Params { vec![Box::new(r.0), Box::new(r.1)] },
    )?
    .batch_size(1_000);
    let mut env = StreamEnvironment::new();
    env.enable_checkpointing(Duration::from_secs(1));
    env.generate_sequence(0, 99_999)
        .map(|x| ((x % 100) as i64, 1i64))
        .key_by(|r| r.0)
        .reduce(|a, b| (a.0, a.1 + b.1))
        .sink_to_two_phase_commit(TwoPhaseCommitConfig::default(), move |_| {
            Ok(counts.build_two_phase_commit())
        })
        .uid("counts-sink");
    env.execute()?;
    let rows: i64 = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
        .get(0);
    println!("{rows} rows committed into {table}, each running count exactly once");
    client.batch_execute(&format!("DROP TABLE {table}"))?;
    Ok(())
}
