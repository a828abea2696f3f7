//! weir's side of `benches/vs_flink.sh`: the same jobs as the Java programs in
//! `benches/flink/src/`, with the same checksums, printing the same `RESULT` line.
//!
//! ```text
//! weir_side stateless --records 20000000 --runs 1
//! weir_side keyed --workload keyed_hashmap --records 20000000 --keys 10000 --checkpoint-ms 1000
//! weir_side keyed --backend rocksdb ...   # exits 2 until weir has `set_state_backend` (TODO below)
//! weir_side nexmark --query q3 --records 20000000       # Nexmark q0–q3 (nexmark.rs)
//! weir_side nexmark-reference --query q3 --records N    # the expected totals (plain loop)
//! weir_side recovery --records 200000000 --keys 1000000 # recovery time (recovery.rs)
//! weir_side savepoint --keys 1000000 --backend rocksdb  # savepoint and restore (savepoint_job.rs)
//! ```
//!
//! - `stateless`: sequence(0, N-1) → map(x * 3) → filter(x % 7 != 0) → sink, parallelism 2;
//! - `keyed`: sequence(0, N-1) → key_by(x % keys) → count in keyed `ValueState`, emitting
//!   (key, count) → sink, parallelism 2, optionally with checkpoints every `--checkpoint-ms` into
//!   a fresh directory;
//! - `nexmark`: Nexmark query `--query` over `--records` generated events (see `nexmark.rs`, and
//!   `nexmark_gen.rs` for the generator);
//! - `recovery`: the keyed count with a failure after a complete checkpoint; its result line adds
//!   `recovery_ms` (see `recovery.rs`);
//! - `savepoint`: fill `--keys` keys of the keyed count, savepoint, restore at 2 and at
//!   `--changed-parallelism`; its own result line (see `savepoint_job.rs`).
//!
//! The sink discards like `discard()`, but first counts what reaches it: the number of records and
//! two wrapping sums of per-record fields (stateless: value and value mod 7; keyed: count and key;
//! Nexmark: per query), kept per subtask and published at end of input. The runner checks them
//! against Flink's and against exact values before it prints a ratio.
//!
//! Result line (one per run, space-separated key=value):
//! `RESULT engine=weir workload=W run=I records=N elapsed_ms=.. wall_ms=.. records_per_s=..
//! sink_records=.. sum_a=.. sum_b=.. finished_sinks=.. last_checkpoint=..`; elapsed and wall are
//! both the `execute()` call here (job start to finish). `nexmark-reference` prints
//! `EXPECTED query=Q records=N sink_records=.. sum_a=.. sum_b=..`.
//!
//! It is built by `benches/vs_flink.sh` (as a bench target when Cargo.toml declares one, else as a
//! binary of a throwaway crate in the cache directory that depends on this workspace by path).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir::task::operator::{Operator, OperatorInfo};
use weir::{BoxError, StreamEnvironment, TaskError};

#[path = "../common/count.rs"]
mod count;
mod nexmark;
mod nexmark_gen;
mod recovery;
mod savepoint_job;
use count::Count;

/// The two checksum fields of a record.
trait Fields: Send + 'static {
    fn a(&self) -> u64;
    fn b(&self) -> u64;
}

impl Fields for u64 {
    fn a(&self) -> u64 {
        *self
    }
    fn b(&self) -> u64 {
        *self % 7
    }
}

impl Fields for (u64, u64) {
    fn a(&self) -> u64 {
        self.1
    }
    fn b(&self) -> u64 {
        self.0
    }
}

/// What every sink subtask published: records, sum a, sum b, finished subtasks.
#[derive(Default, Clone, Copy)]
struct Totals {
    records: u64,
    sum_a: u64,
    sum_b: u64,
    finished: u64,
}

/// Counts and discards; publishes its subtask's totals once, at end of input.
struct CountingDiscard {
    local: Totals,
    shared: Arc<Mutex<Totals>>,
}

impl<T: Fields> Operator<T, ()> for CountingDiscard {
    fn process_batch(&mut self, input: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        let (mut a, mut b) = (0u64, 0u64);
        for r in &input {
            a = a.wrapping_add(r.a());
            b = b.wrapping_add(r.b());
        }
        self.local.records += input.len() as u64;
        self.local.sum_a = self.local.sum_a.wrapping_add(a);
        self.local.sum_b = self.local.sum_b.wrapping_add(b);
        Ok(())
    }

    fn end_of_input(&mut self, _: &mut Vec<()>) -> Result<(), BoxError> {
        let mut s = self.shared.lock().expect("totals lock");
        s.records += self.local.records;
        s.sum_a = s.sum_a.wrapping_add(self.local.sum_a);
        s.sum_b = s.sum_b.wrapping_add(self.local.sum_b);
        s.finished += 1;
        Ok(())
    }
}

/// The counting sink's factory: one [`CountingDiscard`] per subtask, publishing into `shared`.
fn counting_sink(
    shared: &Arc<Mutex<Totals>>,
) -> impl Fn(&OperatorInfo) -> Result<CountingDiscard, TaskError> + Send + Sync + 'static {
    let shared = shared.clone();
    move |_| {
        Ok(CountingDiscard {
            local: Totals::default(),
            shared: shared.clone(),
        })
    }
}

/// The command line of one invocation.
struct Args {
    job: String,
    workload: String,
    query: String,
    records: u64,
    keys: u64,
    runs: u32,
    backend: String,
    checkpoint_ms: u64,
    /// `savepoint`: records per key in the fill job.
    fill_per_key: u64,
    /// `savepoint`: the parallelism of the second restore (the first is at 2).
    changed_parallelism: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut args = Args {
        job: String::new(),
        workload: String::new(),
        query: "q0".into(),
        records: 20_000_000,
        keys: 10_000,
        runs: 1,
        backend: "hashmap".into(),
        checkpoint_ms: 1000,
        fill_per_key: 1,
        changed_parallelism: 3,
    };
    while let Some(a) = it.next() {
        // `cargo bench` passes `--bench`.
        if a == "--bench" {
            continue;
        }
        let Some(name) = a.strip_prefix("--") else {
            positional.push(a);
            continue;
        };
        let value = it.next().ok_or(format!("--{name} needs a value"))?;
        let number = || {
            value
                .replace('_', "")
                .parse::<u64>()
                .map_err(|e| format!("--{name} {value}: {e}"))
        };
        match name {
            "workload" => args.workload = value.clone(),
            "query" => args.query = value.clone(),
            "records" => args.records = number()?,
            "keys" => args.keys = number()?,
            "runs" => args.runs = number()? as u32,
            "backend" => args.backend = value.clone(),
            "checkpoint-ms" => args.checkpoint_ms = number()?,
            "fill-per-key" => args.fill_per_key = number()?,
            "changed-parallelism" => args.changed_parallelism = number()? as u32,
            _ => return Err(format!("unknown option --{name}")),
        }
    }
    args.job = positional.first().cloned().ok_or(
        "usage: weir_side stateless|keyed|nexmark|nexmark-reference|recovery|savepoint [--records N] \
             [--keys K] [--backend hashmap] [--checkpoint-ms MS] [--runs R] [--workload NAME] \
             [--query q0|q1|q2|q3] [--fill-per-key F] [--changed-parallelism P]",
    )?;
    if args.workload.is_empty() {
        args.workload = match args.job.as_str() {
            "keyed" => format!("keyed_{}", args.backend),
            "nexmark" => format!("nexmark_{}", args.query),
            other => other.to_string(),
        };
    }
    if args.records == 0 || args.keys == 0 || args.runs == 0 || args.fill_per_key == 0 {
        return Err("--records, --keys, --runs and --fill-per-key must be positive".into());
    }
    Ok(args)
}

fn run_once(args: &Args, run: u32) -> Result<(), String> {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2).set_arbiters(2);
    let dir = std::env::temp_dir().join(format!(
        "weir-vs-flink-checkpoints-{}-{run}",
        std::process::id()
    ));
    let checkpointing = matches!(args.job.as_str(), "keyed" | "nexmark") && args.checkpoint_ms > 0;
    if checkpointing {
        env.enable_checkpointing(Duration::from_millis(args.checkpoint_ms))
            .set_checkpoint_dir(&dir);
    }
    state_backend(&mut env, &args.backend)?;
    let totals = Arc::new(Mutex::new(Totals::default()));
    let n = args.records;
    match args.job.as_str() {
        "stateless" => {
            env.generate_sequence(0, n - 1)
                .map(|x| x.wrapping_mul(3))
                .filter(|x| x % 7 != 0)
                .add_sink("Sink: Counting discard", counting_sink(&totals));
        }
        "keyed" => {
            let keys = args.keys;
            env.generate_sequence(0, n - 1)
                .key_by(move |x| x % keys)
                .process(Count::default())
                .add_sink("Sink: Counting discard", counting_sink(&totals));
        }
        "nexmark" => nexmark::build(&env, &args.query, n, &totals)?,
        other => return Err(format!("unknown job {other}")),
    }
    let started = Instant::now();
    let client = env
        .spawn()
        .map_err(|e| format!("job does not start: {e}"))?;
    let checkpoints = client.subscribe_checkpoints();
    client
        .wait_blocking()
        .map_err(|e| format!("job failed: {e}"))?;
    let elapsed = started.elapsed();
    let last_checkpoint = checkpoints.borrow().as_ref().map_or(0, |s| s.id);
    if checkpointing {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let t = *totals.lock().expect("totals lock");
    let ms = elapsed.as_millis();
    println!(
        "RESULT engine=weir workload={} run={run} records={n} elapsed_ms={ms} wall_ms={ms} \
         records_per_s={:.0} sink_records={} sum_a={} sum_b={} finished_sinks={} last_checkpoint={last_checkpoint}",
        args.workload,
        n as f64 / elapsed.as_secs_f64(),
        t.records,
        t.sum_a,
        t.sum_b,
        t.finished,
    );
    Ok(())
}

/// Puts the keyed state of `env`'s job in `backend`.
fn state_backend(env: &mut StreamEnvironment, backend: &str) -> Result<(), String> {
    match backend {
        "hashmap" => {
            env.set_state_backend(weir::StateBackend::HashMap);
            Ok(())
        }
        "rocksdb" => {
            env.set_state_backend(weir::StateBackend::rocksdb());
            Ok(())
        }
        other => Err(format!("unknown state backend {other} (hashmap, rocksdb)")),
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.job == "nexmark-reference" {
        let t = nexmark::reference(&args.query, args.records)?;
        println!(
            "EXPECTED query={} records={} sink_records={} sum_a={} sum_b={}",
            args.query, args.records, t.records, t.sum_a, t.sum_b
        );
        return Ok(());
    }
    for run in 1..=args.runs {
        let outcome = match args.job.as_str() {
            "recovery" => recovery::run_once(args, run),
            "savepoint" => savepoint_job::run_once(args, run),
            _ => run_once(args, run),
        };
        match outcome {
            Ok(()) => {}
            Err(e) => return Err(format!("{} run {run}: {e}", args.workload)),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("weir_side: {e}");
            return ExitCode::from(64);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weir_side: {e}");
            ExitCode::FAILURE
        }
    }
}
