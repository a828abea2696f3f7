//! Upgrading a running job through a savepoint: version 1 runs at parallelism 2 and is stopped
//! with a savepoint; version 2 — one stateful operator added, two stateful operators in the
//! other order, parallelism 3 — starts from it, after `plan_restore` showed what goes where.
//! At the end every key's count is what one uninterrupted run would give: nothing lost, nothing
//! counted twice.
//!
//! `cargo run --release --example upgrade -- [records]` (default 2 million).

use std::collections::BTreeMap;
use std::time::Duration;
use weir::prelude::*;

const KEYS: u64 = 10;

/// Counts the records its subtask saw, in operator list state (split evenly on a rescale).
#[derive(Clone, Default)]
struct Tally {
    seen: Option<OperatorListState<u64>>,
}

impl CheckpointedFunction<u64, u64> for Tally {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        let seen = ctx.list_state::<u64>("seen")?;
        // After a rescale a subtask may get several old subtasks' counts: keep their sum.
        let total: u64 = seen.get().iter().sum();
        seen.update(vec![total]);
        self.seen = Some(seen);
        Ok(())
    }

    fn process_element(&mut self, value: u64, out: &mut Vec<u64>) -> Result<(), BoxError> {
        let seen = self.seen.as_ref().ok_or("not opened")?;
        let total = seen.get().first().copied().unwrap_or(0) + 1;
        seen.update(vec![total]);
        out.push(value);
        Ok(())
    }
}

/// Sleeps a millisecond every 2 000 records.
fn throttle(v: u64) -> u64 {
    if v % 2_000 == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    v
}

/// Version 1: numbers → tally "first" → tally "second" → count per key.
fn version_1(env: &StreamEnvironment, records: u64) {
    let numbers = env.generate_sequence(0, records - 1).uid("numbers");
    // Slowed down, so that version 1 is still running when it is stopped.
    let throttled = numbers.map(throttle).uid("throttle");
    let first = throttled.process_with_state(Tally::default()).uid("first");
    let second = first.process_with_state(Tally::default()).uid("second");
    counts(&second).discard().uid("out");
}

/// Version 2: the two tallies in the other order, and a new one ("audit") before them.
fn version_2(env: &StreamEnvironment, records: u64) -> CollectSink<(u64, u64)> {
    let numbers = env.generate_sequence(0, records - 1).uid("numbers");
    let audit = numbers.process_with_state(Tally::default()).uid("audit");
    let second = audit.process_with_state(Tally::default()).uid("second");
    let first = second.process_with_state(Tally::default()).uid("first");
    counts(&first).collect().uid("out")
}

/// The running count of each key (`value % KEYS`), in keyed state.
fn counts(numbers: &DataStream<u64>) -> DataStream<(u64, u64)> {
    numbers
        .map(|v| (v % KEYS, 1u64))
        .uid("ones")
        .key_by(|(key, _)| *key)
        .reduce(|(key, a), (_, b)| (key, a + b))
        .uid("counts")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2_000_000,
    };
    let dir = std::env::temp_dir().join(format!("weir-upgrade-{}", std::process::id()));
    let wait = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;

    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_job_id("upgrade")
        .enable_checkpointing(Duration::from_secs(60))
        .set_checkpoint_dir(dir.join("checkpoints"));
    version_1(&env, records);
    let client = env.spawn()?;
    let mut status = client.subscribe_status();
    wait.block_on(status.wait_for(|s| *s == JobStatus::Running))?;
    std::thread::sleep(Duration::from_millis(100)); // let version 1 count part of the input
    let savepoint = wait.block_on(client.stop_with_savepoint(dir.join("savepoints")))?;
    client.wait_blocking()?;
    println!("version 1 stopped with {}", savepoint.path.display());

    let mut env = StreamEnvironment::new();
    env.set_parallelism(3)
        .set_job_id("upgrade")
        .set_checkpoint_dir(dir.join("checkpoints"));
    let out = version_2(&env, records);
    let plan = env.plan_restore(&savepoint.path)?;
    print!("{plan}");
    plan.check(false)?;
    env.restore_from_savepoint(&savepoint.path)?;
    env.execute()?;

    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    for (key, count) in out.records() {
        let entry = last.entry(key).or_default();
        *entry = (*entry).max(count);
    }
    let expected = |key: u64| records / KEYS + u64::from(key < records % KEYS);
    for (key, count) in &last {
        println!(
            "key {key}: {count} (one uninterrupted run: {})",
            expected(*key)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let lost: Vec<u64> = (0..KEYS)
        .filter(|k| last.get(k) != Some(&expected(*k)))
        .collect();
    if lost.is_empty() {
        println!("every key's count is exact across the upgrade");
        Ok(())
    } else {
        Err(format!("keys whose count is wrong: {lost:?}").into())
    }
}
