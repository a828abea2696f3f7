//! Throughput of weir against a plain single-threaded Rust loop, in one process and one run.
//!
//! `cargo bench --bench throughput` (records per workload: `WEIR_BENCH_RECORDS`, default 20 M).
//!
//! - (a) stateless: sequence → map → filter → discard, parallelism 2;
//! - (b) keyed count: sequence → key_by(x mod 10 000) → count in keyed `ValueState` → discard,
//!   parallelism 2;
//! - (c) baseline: the same count as a plain loop over a `std::collections::HashMap`;
//! - (d) keyed count as (b) with the RocksDB state backend, over a tenth of the records (the
//!   10 000 keys fit in the backend's cache of deserialized entries);
//! - (e) as (d) over 1 M keys (x mod 1 000 000), which do not fit: RocksDB reads and writes.
//!
//! It prints records/s for each and the ratios to (c), one figure per line.

use std::collections::HashMap;
use std::time::Instant;
use weir::{StateBackend, StreamEnvironment};

#[path = "common/count.rs"]
mod count;
use count::Count;

fn env() -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2).set_arbiters(2);
    env
}

fn stateless(n: u64) -> f64 {
    let env = env();
    env.generate_sequence(0, n - 1)
        .map(|x| x.wrapping_mul(3))
        .filter(|x| x % 7 != 0)
        .discard();
    let started = Instant::now();
    env.execute().expect("stateless job runs");
    n as f64 / started.elapsed().as_secs_f64()
}

fn keyed_count(n: u64, keys: u64, backend: StateBackend) -> f64 {
    let mut env = env();
    env.set_state_backend(backend);
    env.generate_sequence(0, n - 1)
        .key_by(move |x| x % keys)
        .process(Count::default())
        .discard();
    let started = Instant::now();
    env.execute().expect("keyed job runs");
    n as f64 / started.elapsed().as_secs_f64()
}

fn baseline(n: u64) -> f64 {
    let started = Instant::now();
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for x in 0..n {
        *counts.entry(std::hint::black_box(x) % 10_000).or_insert(0) += 1;
    }
    std::hint::black_box(&counts);
    n as f64 / started.elapsed().as_secs_f64()
}

fn best_of(runs: usize, f: impl Fn() -> f64) -> f64 {
    (0..runs).map(|_| f()).fold(0.0, f64::max)
}

fn main() {
    let n: u64 = std::env::var("WEIR_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000);
    let runs = 3;
    println!("records per run: {n}, best of {runs} runs, parallelism 2");
    let c = best_of(runs, || baseline(n));
    let a = best_of(runs, || stateless(n));
    let b = best_of(runs, || keyed_count(n, 10_000, StateBackend::HashMap));
    let d = best_of(runs, || {
        keyed_count(n / 10, 10_000, StateBackend::rocksdb())
    });
    let e = best_of(runs, || {
        keyed_count(n / 10, 1_000_000, StateBackend::rocksdb())
    });
    println!("(a) stateless map/filter:   {:>8.2} M records/s", a / 1e6);
    println!("(b) keyed count:            {:>8.2} M records/s", b / 1e6);
    println!("(c) baseline HashMap loop:  {:>8.2} M records/s", c / 1e6);
    println!("(d) keyed count, RocksDB:   {:>8.2} M records/s", d / 1e6);
    println!("(e) RocksDB, 1 M keys:      {:>8.2} M records/s", e / 1e6);
    println!("ratio a/c: {:.2}", a / c);
    println!("ratio b/c: {:.2}", b / c);
    println!("ratio d/c: {:.3}", d / c);
    println!("ratio e/c: {:.3}", e / c);
}
