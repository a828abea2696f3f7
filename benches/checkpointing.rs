//! Checkpoint overhead: a keyed count over 1 M keys with 1 s checkpoints into a directory, against
//! the same job with checkpointing off, in one process and one run.
//!
//! `cargo bench --bench checkpointing` (seconds per run: `WEIR_BENCH_SECONDS`, default 5; pairs
//! of runs: `WEIR_BENCH_PAIRS`, default 3). Runs alternate off, on, off, on… so that a drift of
//! the machine's speed hits both sides alike; prints each pair's ratio, their median, and the
//! checkpoint durations (p50, p99, max) and sizes.

use std::time::{Duration, Instant};
use weir::{CheckpointStatus, StreamEnvironment};

#[path = "common/count.rs"]
mod count;
use count::Count;

struct Run {
    records_per_second: f64,
    durations_ms: Vec<f64>,
    sizes: Vec<u64>,
}

fn run(seconds: u64, checkpoints: Option<&std::path::Path>) -> Run {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2).set_arbiters(2);
    if let Some(dir) = checkpoints {
        env.enable_checkpointing(Duration::from_secs(1))
            .set_checkpoint_dir(dir);
        env.checkpoint_config_mut().num_retained = 2;
    }
    env.generate_sequence(0, u64::MAX - 1)
        .uid("numbers")
        .key_by(|x| x % 1_000_000)
        .process(Count::default())
        .uid("count")
        .discard();
    let client = env.spawn().expect("job starts");
    // Let every key exist before measuring, so both runs measure the same 1 M-key state.
    std::thread::sleep(Duration::from_secs(1));
    let counted = |c: &weir::JobClient| {
        c.operator_counts()
            .iter()
            .find(|o| o.uid == "count")
            .map_or(0, |o| o.records_in)
    };
    let (start_count, start) = (counted(&client), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (end_count, elapsed) = (counted(&client), start.elapsed());
    let stats = client.checkpoint_stats();
    client.cancel();
    let _ = client.wait_blocking();
    let completed: Vec<_> = stats
        .iter()
        .filter(|s| s.status == CheckpointStatus::Completed)
        .collect();
    Run {
        records_per_second: (end_count - start_count) as f64 / elapsed.as_secs_f64(),
        durations_ms: completed
            .iter()
            .map(|s| s.duration.as_secs_f64() * 1000.0)
            .collect(),
        sizes: completed.iter().map(|s| s.state_size).collect(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let env_u64 = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seconds = env_u64("WEIR_BENCH_SECONDS", 5);
    let pairs = env_u64("WEIR_BENCH_PAIRS", 3).max(1);
    let dir = std::env::temp_dir().join(format!("weir-bench-checkpoints-{}", std::process::id()));
    println!(
        "keyed count over 1 M keys, parallelism 2, {seconds} s measured per run, {pairs} pairs"
    );
    let mut ratios = Vec::new();
    let mut durations = Vec::new();
    let mut last_size = 0;
    for pair in 1..=pairs {
        let off = run(seconds, None);
        let on = run(seconds, Some(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        let ratio = on.records_per_second / off.records_per_second;
        println!(
            "pair {pair}: off {:>6.2} M records/s, 1 s checkpoints {:>6.2} M records/s, ratio {ratio:.3}",
            off.records_per_second / 1e6,
            on.records_per_second / 1e6
        );
        ratios.push(ratio);
        durations.extend(on.durations_ms);
        last_size = on.sizes.last().copied().unwrap_or(last_size);
    }
    ratios.sort_by(f64::total_cmp);
    durations.sort_by(f64::total_cmp);
    println!(
        "ratio on/off (median of pairs): {:.3}",
        percentile(&ratios, 0.5)
    );
    println!("checkpoints completed: {}", durations.len());
    println!(
        "checkpoint duration p50: {:.1} ms",
        percentile(&durations, 0.5)
    );
    println!(
        "checkpoint duration p99: {:.1} ms",
        percentile(&durations, 0.99)
    );
    println!(
        "checkpoint duration max: {:.1} ms",
        durations.last().copied().unwrap_or(0.0)
    );
    println!("checkpoint size (last): {last_size} bytes");
}
