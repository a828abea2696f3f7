//! Savepoints against state size: a keyed count over `keys` keys (HashMap and RocksDB,
//! parallelism 2), where each savepoint is measured against a checkpoint of the same state
//! taken just before it in the same run, and each restore at parallelism 3 against a restore
//! of the same savepoint at 2.
//!
//! `cargo bench --bench savepoint` (key counts: `WEIR_BENCH_KEYS`, comma-separated, default
//! `10000,100000,1000000`; `WEIR_BENCH_SAVEPOINT_1E7=1` adds 10^7 to the default, left out by
//! default because filling and restoring it takes long on two cores). Prints one row per
//! backend and key count: checkpoint and savepoint time, their ratio, the savepoint's size on
//! disk, and the time from `restore_from_savepoint` to the first restored record counted, at 2
//! and at 3, and their ratio.

use std::path::Path;
use std::time::{Duration, Instant};
use weir::{JobClient, StateBackend, StreamEnvironment};

#[path = "common/count.rs"]
mod count;
use count::Count;

fn env(backend: &StateBackend, parallelism: u32, dir: &Path) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism)
        .set_arbiters(2)
        .set_job_id("savepoint-bench")
        .set_state_backend(backend.clone())
        .enable_checkpointing(Duration::from_secs(3600))
        .set_checkpoint_dir(dir.join("checkpoints"));
    env
}

fn job(env: &StreamEnvironment, keys: u64) {
    env.generate_sequence(0, u64::MAX - 1)
        .uid("numbers")
        .key_by(move |x| x % keys)
        .process(Count::default())
        .uid("count")
        .discard()
        .uid("out");
}

fn counted(client: &JobClient) -> u64 {
    (client.operator_counts().iter())
        .find(|o| o.uid == "count")
        .map_or(0, |o| o.records_in)
}

fn wait_until(client: &JobClient, records: u64) {
    while counted(client) < records {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => bytes_under(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Seconds from `restore_from_savepoint` to the first record the restored count processed.
fn restore_seconds(backend: &StateBackend, parallelism: u32, savepoint: &Path, dir: &Path) -> f64 {
    let mut env = env(backend, parallelism, dir);
    let start = Instant::now();
    env.restore_from_savepoint(savepoint).expect("restores");
    job(&env, 1);
    let client = env.spawn().expect("job starts");
    wait_until(&client, 1);
    let seconds = start.elapsed().as_secs_f64();
    client.cancel();
    let _ = client.wait_blocking();
    seconds
}

fn measure(name: &str, backend: &StateBackend, keys: u64, wait: &tokio::runtime::Runtime) {
    let dir = std::env::temp_dir().join(format!("weir-bench-savepoint-{}", std::process::id()));
    let env = env(backend, 2, &dir);
    job(&env, keys);
    let client = env.spawn().expect("job starts");
    wait_until(&client, 2 * keys);
    let start = Instant::now();
    wait.block_on(client.trigger_checkpoint())
        .expect("checkpoint");
    let checkpoint = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let savepoint = wait
        .block_on(client.trigger_savepoint(dir.join("savepoints")))
        .expect("savepoint");
    let taken = start.elapsed().as_secs_f64();
    client.cancel();
    let _ = client.wait_blocking();
    let size = bytes_under(&savepoint.path);
    let same = restore_seconds(backend, 2, &savepoint.path, &dir.join("r2"));
    let rescaled = restore_seconds(backend, 3, &savepoint.path, &dir.join("r3"));
    println!(
        "| {name} | {keys} | {:.1} ms | {:.1} ms | {:.2} | {:.2} MB | {:.1} ms | {:.1} ms | {:.2} |",
        checkpoint * 1e3,
        taken * 1e3,
        taken / checkpoint,
        size as f64 / 1e6,
        same * 1e3,
        rescaled * 1e3,
        rescaled / same
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let keys: Vec<u64> = std::env::var("WEIR_BENCH_KEYS")
        .ok()
        .map(|v| v.split(',').filter_map(|k| k.trim().parse().ok()).collect())
        .unwrap_or_else(|| {
            let mut keys = vec![10_000, 100_000, 1_000_000];
            if std::env::var("WEIR_BENCH_SAVEPOINT_1E7").is_ok_and(|v| v == "1") {
                keys.push(10_000_000);
            }
            keys
        });
    let wait = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    println!("| backend | keys | checkpoint | savepoint | savepoint / checkpoint | savepoint size | restore at 2 | restore at 3 | at 3 / at 2 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, backend) in [
        ("hashmap", StateBackend::HashMap),
        ("rocksdb", StateBackend::rocksdb()),
    ] {
        for &k in &keys {
            measure(name, &backend, k, &wait);
        }
    }
}
