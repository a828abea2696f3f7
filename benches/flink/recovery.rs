//! Recovery time on weir, for `benches/vs_flink.sh`; Flink's side is
//! `benches/flink/src/weir/bench/flink/RecoveryJob.java`.
//!
//! The job is the keyed count over `keys` keys (hashmap state, 1 s checkpoints) followed by a
//! probe operator, chained to the count, then the counting sink:
//! `generate_sequence(0, N-1) → key_by(x % keys) → Count → Probe → check → sink`, parallelism 2,
//! with a fixed-delay restart strategy of delay 0.
//!
//! - In attempt 0, the probe of subtask 0 notes how many records it had seen when each checkpoint
//!   passed it; once a checkpoint taken after at least `keys` of its records (by then each source
//!   split has emitted about `keys` numbers, so every key's state is in it) is complete, it
//!   notes the time and fails at its next batch. A record count alone could not promise a
//!   completed checkpoint on a machine whose speed varies, so the failure is raised by the
//!   probe, on both engines, rather than by a `Fault::FailAtRecord`.
//! - In any later attempt, every probe subtask notes the time of its first batch; the earliest is
//!   the first record processed after the restore (source position, count state and all).
//!
//! Recovery time = first record after restore − failure. The sink checks the restore on its way:
//! it counts the records whose count reached the key's exact total (every key must, once: a lost
//! or doubled state would not) and the records whose count exceeded it (none may).

use crate::count::Count;
use crate::{counting_sink, Args, Totals};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir::task::operator::{Operator, OperatorInfo};
use weir::{BoxError, RestartStrategyConfig, StreamEnvironment, TaskError};

/// What the probes saw, over all attempts.
#[derive(Default)]
struct Probed {
    failed_at: Option<Instant>,
    first_after_restore: Option<Instant>,
}

/// Passes records on; fails once after a complete checkpoint with full state (attempt 0,
/// subtask 0), and notes its first batch in later attempts.
struct Probe {
    attempt: u32,
    fails: bool,
    threshold: u64,
    seen: u64,
    seen_at_checkpoint: Vec<(u64, u64)>,
    armed: bool,
    first_noted: bool,
    probed: Arc<Mutex<Probed>>,
}

impl Operator<(u64, u64), (u64, u64)> for Probe {
    fn process_batch(
        &mut self,
        input: Vec<(u64, u64)>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        if self.attempt > 0 && !self.first_noted {
            self.first_noted = true;
            let now = Instant::now();
            let mut p = self.probed.lock().expect("probe lock");
            p.first_after_restore = Some(p.first_after_restore.map_or(now, |t| t.min(now)));
        }
        if self.armed {
            self.armed = false;
            self.probed.lock().expect("probe lock").failed_at = Some(Instant::now());
            return Err("recovery benchmark: failure injected after a complete checkpoint".into());
        }
        self.seen += input.len() as u64;
        out.extend(input);
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        checkpoint: weir::runtime::CheckpointId,
    ) -> Result<Option<weir::task::operator::StateWriter>, BoxError> {
        self.seen_at_checkpoint.push((checkpoint, self.seen));
        Ok(None)
    }

    fn notify_checkpoint_complete(
        &mut self,
        checkpoint: weir::runtime::CheckpointId,
    ) -> Result<(), BoxError> {
        let full = self
            .seen_at_checkpoint
            .iter()
            .any(|&(c, seen)| c == checkpoint && seen >= self.threshold);
        if self.fails && full {
            self.fails = false;
            self.armed = true;
        }
        Ok(())
    }
}

/// What the recovery job's records must count up to: `records` numbers over `keys` keys.
struct Exact {
    keys: u64,
    records: u64,
}

impl Exact {
    /// The number of records key `k` gets from `0..records`.
    fn total(&self, key: u64) -> u64 {
        self.records / self.keys + u64::from(key < self.records % self.keys)
    }
}

/// The recovery job's sink record: (key, count) mapped to (1 if count is the key's total,
/// 1 if count exceeds it), so that the counting sink sums both.
fn check(exact: &Exact, (key, count): (u64, u64)) -> (u64, u64) {
    let total = exact.total(key);
    (u64::from(count == total), u64::from(count > total))
}

/// Runs the recovery job once and prints its `RESULT` line.
pub fn run_once(args: &Args, run: u32) -> Result<(), String> {
    let n = args.records;
    let keys = args.keys;
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2).set_arbiters(2);
    let dir = std::env::temp_dir().join(format!(
        "weir-vs-flink-recovery-{}-{run}",
        std::process::id()
    ));
    env.enable_checkpointing(Duration::from_millis(args.checkpoint_ms.max(1)))
        .set_checkpoint_dir(&dir);
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 3,
        delay: Duration::ZERO,
    });
    let probed = Arc::new(Mutex::new(Probed::default()));
    let totals = Arc::new(Mutex::new(Totals::default()));
    let p = probed.clone();
    let make_probe = move |info: &OperatorInfo| -> Result<Probe, TaskError> {
        Ok(Probe {
            attempt: info.subtask.attempt,
            fails: info.subtask.attempt == 0 && info.subtask.index == 0,
            threshold: keys,
            seen: 0,
            seen_at_checkpoint: Vec::new(),
            armed: false,
            first_noted: false,
            probed: p.clone(),
        })
    };
    let exact = Arc::new(Exact { keys, records: n });
    env.generate_sequence(0, n - 1)
        .uid("numbers")
        .key_by(move |x| x % keys)
        .process(Count::default())
        .uid("count")
        .transform("Probe", make_probe)
        .uid("probe")
        .map(move |r| check(&exact, r))
        .add_sink("Sink: Counting discard", counting_sink(&totals));
    let started = Instant::now();
    let client = env
        .spawn()
        .map_err(|e| format!("job does not start: {e}"))?;
    let checkpoints = client.subscribe_checkpoints();
    // Polled rather than awaited so the client can still be asked for its downtime at the end.
    while !client.status().is_terminal() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let downtime = client.downtime();
    let result = client.wait_blocking();
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let restarts = result.map_err(|e| format!("job failed: {e}"))?.restarts;
    let last_checkpoint = checkpoints.borrow().as_ref().map_or(0, |s| s.id);
    let p = probed.lock().expect("probe lock");
    let (Some(failed), Some(first)) = (p.failed_at, p.first_after_restore) else {
        return Err(format!(
            "no failure and restore happened (failed: {}, restored: {}); the job ended before a \
             complete checkpoint with full state: raise --records",
            p.failed_at.is_some(),
            p.first_after_restore.is_some()
        ));
    };
    let recovery = first.saturating_duration_since(failed);
    let t = *totals.lock().expect("totals lock");
    println!(
        "RESULT engine=weir workload={} run={run} records={n} elapsed_ms={} wall_ms={} \
         records_per_s={:.0} recovery_ms={:.3} restarts={} downtime_ms={} sink_records={} \
         sum_a={} sum_b={} finished_sinks={} last_checkpoint={last_checkpoint}",
        args.workload,
        elapsed.as_millis(),
        elapsed.as_millis(),
        n as f64 / elapsed.as_secs_f64(),
        recovery.as_secs_f64() * 1e3,
        restarts.len(),
        downtime.as_millis(),
        t.records,
        t.sum_a,
        t.sum_b,
        t.finished,
    );
    Ok(())
}
