//! Rows per second into PostgreSQL: a plain loop of batched multi-row INSERTs with no engine,
//! the two-phase-commit sink and the upsert sink (one subtask each, 1 s checkpoints, batches of
//! 1 000 rows), alternating in the same run; prints each sink's ratio to the plain loop.
//!
//! `WEIR_BENCH_ROWS` (default 500 000) rows per run, `WEIR_BENCH_ROUNDS` (default 3) rounds.
//! Needs the server of `WEIR_PG_URL` with `max_prepared_transactions` > 0 (.ci/services).

use postgres::types::ToSql;
use postgres::{Client, NoTls};
use std::time::{Duration, Instant};
use weir::sink::two_phase_commit::TwoPhaseCommitConfig;
use weir::StreamEnvironment;
use weir_connectors::postgres::{Params, PostgresSinkBuilder};

const BATCH: usize = 1_000;
/// Records per upsert transaction (`sink_to_upsert`'s batch size): ten statements of `BATCH`.
const UPSERT_BATCH: usize = 10_000;

fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var).map_or(default, |v| v.trim().parse().unwrap_or(default))
}

fn reset(client: &mut Client, table: &str, keyed: bool) {
    let key = if keyed { " PRIMARY KEY" } else { "" };
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (k bigint{key}, v bigint NOT NULL)"
        ))
        .expect("create the bench table");
}

/// The plain loop: multi-row INSERTs (upserts if `upsert`) of `BATCH` rows, a transaction
/// committed every second.
fn plain(client: &mut Client, table: &str, rows: u64, upsert: bool) -> Duration {
    let suffix = if upsert {
        " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
    } else {
        ""
    };
    let tuples: Vec<String> = (0..BATCH)
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect();
    let sql = format!(
        "INSERT INTO {table} (k, v) VALUES {}{suffix}",
        tuples.join(",")
    );
    let start = Instant::now();
    let statement = client.prepare(&sql).expect("prepare");
    let mut txn = client.transaction().expect("begin");
    let mut since = Instant::now();
    let mut next = 0u64;
    while next < rows {
        let n = BATCH.min((rows - next) as usize);
        let values: Vec<i64> = (next..next + n as u64)
            .flat_map(|x| [x as i64, x as i64])
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        if n == BATCH {
            txn.execute(&statement, &params).expect("insert");
        } else {
            let sql = format!(
                "INSERT INTO {table} (k, v) VALUES {}{suffix}",
                tuples[..n].join(",")
            );
            txn.execute(&sql, &params).expect("insert");
        }
        next += n as u64;
        if since.elapsed() >= Duration::from_secs(1) {
            txn.commit().expect("commit");
            txn = client.transaction().expect("begin");
            since = Instant::now();
        }
    }
    txn.commit().expect("commit");
    start.elapsed()
}

fn builder(table: &str, upsert: bool) -> PostgresSinkBuilder<u64> {
    let suffix = if upsert {
        " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
    } else {
        ""
    };
    let sql = format!("INSERT INTO {table} (k, v) VALUES ($1, $2){suffix}");
    PostgresSinkBuilder::new(table, &sql, |r: &u64| -> Params {
        vec![Box::new(*r as i64), Box::new(*r as i64)]
    })
    .expect("statement")
    .batch_size(BATCH)
}

fn engine(table: &str, rows: u64, upsert: bool) -> Duration {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(1)
        .enable_checkpointing(Duration::from_secs(1));
    env.set_job_id(&format!("bench-{table}-{}", std::process::id()));
    let b = builder(table, upsert);
    let stream = env.generate_sequence(0, rows - 1);
    let config = TwoPhaseCommitConfig::default();
    if upsert {
        stream.sink_to_upsert(config, UPSERT_BATCH, move |_| Ok(b.build_upsert(|r| *r)));
    } else {
        stream.sink_to_two_phase_commit(config, move |_| Ok(b.build_two_phase_commit()));
    }
    let start = Instant::now();
    env.execute().expect("the bench job");
    start.elapsed()
}

fn count(client: &mut Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .expect("count")
        .get(0)
}

fn main() {
    let url = weir_connectors::env::postgres_url();
    weir_connectors::postgres::ensure_prepared_transactions(&url).expect("prepared transactions");
    let mut client = Client::connect(&url, NoTls)
        .expect("PostgreSQL (WEIR_PG_URL) is down: .ci/services starts it");
    let rows = env_u64("WEIR_BENCH_ROWS", 500_000);
    let rounds = env_u64("WEIR_BENCH_ROUNDS", 3);
    let table = format!("weir_bench_{}", std::process::id());
    let mut figures: [Vec<f64>; 4] = Default::default();
    let names = [
        "plain INSERT loop",
        "2PC sink",
        "plain upsert loop",
        "upsert sink",
    ];
    for round in 1..=rounds {
        for (i, name) in names.iter().enumerate() {
            reset(&mut client, &table, i >= 2);
            let took = match i {
                0 => plain(&mut client, &table, rows, false),
                1 => engine(&table, rows, false),
                2 => plain(&mut client, &table, rows, true),
                _ => engine(&table, rows, true),
            };
            assert_eq!(
                count(&mut client, &table),
                rows as i64,
                "{name}: every row written"
            );
            let rate = rows as f64 / took.as_secs_f64();
            println!(
                "round {round}: {name:<18} {rows} rows in {:>6.2} s = {rate:>9.0} rows/s",
                took.as_secs_f64()
            );
            figures[i].push(rate);
        }
    }
    let _ = client.batch_execute(&format!("DROP TABLE IF EXISTS {table}"));
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, base_i) in [(1, 0), (3, 2), (3, 0)] {
        let (name, base, m) = (names[i], median(&figures[base_i]), median(&figures[i]));
        let spread = figures[i]
            .iter()
            .map(|r| r / base)
            .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        println!(
            "median {name}: {m:.0} rows/s = {:.2}x the {} ({base:.0} rows/s; rounds {:.2}x..{:.2}x)",
            m / base, names[base_i], spread.0, spread.1
        );
    }
}
