//! The seed's reference job, for real: Kafka (or NATS JetStream) → `key_by` → a running count in
//! keyed state that fails at random → MariaDB through XA (or PostgreSQL through two-phase
//! commit), fixed-delay restarts, checkpoints every 2 s. It produces its input first, runs, then
//! reads the table back and prints `expected N, present N, duplicated 0, missing 0`.
//!
//! ```text
//! cargo run --release -p weir-stream-connectors --all-features --example exactly_once_db -- \
//!     [--source kafka|jetstream] [--sink mariadb|postgres] [--records N] [--fail-one-in N] \
//!     [--phase all|produce|run|check|drop] [--name NAME] [--checkpoints DIR] [--interval-ms MS]
//! ```
//!
//! `--phase run` restores from the latest checkpoint in `--checkpoints` when there is one, so
//! the run can be killed (`kill -9`) and started again; `connectors/tests/reference_job_kill.rs`
//! does that ten times and checks the table.

#[path = "reference/input.rs"]
mod input;
#[path = "reference/job.rs"]
mod job;
#[path = "reference/table.rs"]
mod table;

use std::path::PathBuf;
use std::time::Duration;
use table::{Check, Database};
use weir::{RestartStrategyConfig, StreamEnvironment};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The command line.
struct Args {
    source: input::Source,
    sink: Database,
    records: u64,
    fail_one_in: u64,
    phase: String,
    name: String,
    checkpoints: PathBuf,
    interval: Duration,
}

fn parse() -> Result<Args, BoxError> {
    let mut args = Args {
        source: input::Source::Kafka,
        sink: Database::MariaDb,
        records: 200_000,
        fail_one_in: 50_000,
        phase: "all".into(),
        name: "weir_reference".into(),
        checkpoints: std::env::temp_dir().join("weir-reference-checkpoints"),
        interval: Duration::from_secs(2),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--source" => args.source = input::Source::parse(&value)?,
            "--sink" => {
                args.sink = match value.as_str() {
                    "mariadb" | "mysql" => Database::MariaDb,
                    "postgres" => Database::Postgres,
                    other => return Err(format!("--sink {other}: mariadb or postgres").into()),
                }
            }
            "--records" => args.records = value.parse()?,
            "--fail-one-in" => args.fail_one_in = value.parse()?,
            "--phase" => args.phase = value,
            "--name" => args.name = value,
            "--checkpoints" => args.checkpoints = value.into(),
            "--interval-ms" => args.interval = Duration::from_millis(value.parse()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

/// Runs the job to its end, restored from the latest checkpoint when there is one.
fn run(args: &Args) -> Result<(), BoxError> {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_job_id(&args.name)
        .enable_checkpointing(args.interval)
        .set_checkpoint_dir(&args.checkpoints)
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(100),
        });
    match env.restore_from_latest(&args.checkpoints) {
        Ok(report) => eprintln!("restored: {report:?}"),
        Err(e) => eprintln!("starting from the beginning: {e}"),
    }
    let ids = input::ids(&env, args.source, &args.name)?;
    let rows = job::count(ids, args.fail_one_in, std::process::id() as u64);
    table::sink(args.sink, &args.name, rows)?;
    let result = env.execute()?;
    eprintln!("finished after {} restarts", result.restarts.len());
    Ok(())
}

fn main() -> Result<(), BoxError> {
    // The injected failures are expected: one line each, not a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let args = parse()?;
    let all = args.phase == "all";
    if all || args.phase == "produce" {
        input::produce(args.source, &args.name, args.records)?;
        table::create(args.sink, &args.name)?;
        let _ = std::fs::remove_dir_all(args.checkpoints.join(&args.name));
    }
    if all || args.phase == "run" {
        run(&args)?;
    }
    if all || args.phase == "check" {
        let check = Check::of(&table::read(args.sink, &args.name)?, args.records);
        println!("{check}");
        if !check.is_exact() {
            std::process::exit(1);
        }
    }
    if args.phase == "drop" {
        input::delete(args.source, &args.name)?;
        table::drop(args.sink, &args.name)?;
        let _ = std::fs::remove_dir_all(args.checkpoints.join(&args.name));
    }
    Ok(())
}
