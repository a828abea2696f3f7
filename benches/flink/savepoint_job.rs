//! Savepoint time and size, and restore time, on weir, for `benches/vs_flink.sh`; Flink's side
//! is `benches/flink/src/weir/bench/flink/SavepointJob.java`. Both engines measure the same
//! figures of the same state, the same way:
//!
//! 1. **Fill**: a source emitting `keys × fill-per-key` numbers (each subtask a contiguous
//!    share) and then idling without finishing (weir: [`SourceStatus::Idle`]; Flink: a source
//!    sleeping 1 ms at a time) → `key_by(x % keys)` → count in keyed `ValueState<u64>` (uid
//!    `count`, state `count`) → discard, parallelism 2, checkpointing on with a 1 h interval
//!    (so no periodic checkpoint runs). Once the count has processed every number, a savepoint
//!    through the engine's client (weir: [`JobClient::trigger_savepoint`]; Flink:
//!    `MiniCluster#triggerSavepoint`, canonical format), **savepoint time** = from the trigger
//!    call to the returned path, **savepoint size** = bytes of every file under that
//!    directory; then the job is cancelled.
//! 2. **Start without state**: the verification job below without a savepoint, cancelled at
//!    its first record: submission to the first record the count processed (job start alone).
//! 3. **Restore** at parallelism 2 and at `--changed-parallelism` (3 by default): `0..keys`
//!    from a new source (uid `verify-numbers`; the fill source's state is left unclaimed,
//!    `allow_non_restored_state`) → the same count → the counting sink; **restore time** = from
//!    the restore call (weir: `env.restore_from_savepoint`, which reads and checks every file,
//!    then `spawn`; Flink: job submission with the savepoint path) to the first record the
//!    restored count processed (its state is loaded by then on both engines). The job then runs
//!    to its end; its sink's checksum (records = keys, Σ counts = keys × (fill-per-key + 1),
//!    Σ keys) shows every key's count came back, at either parallelism.
//!
//! Result line: `RESULT engine=weir workload=W run=I records=K keys=K backend=B fill_per_key=F
//! fill_ms=.. savepoint_ms=.. savepoint_bytes=.. same_parallelism=2 changed_parallelism=P
//! start_empty_ms=.. restore_same_ms=.. restore_same_job_ms=.. restore_same_sink_records=..
//! restore_same_sum_a=.. restore_same_sum_b=.. restore_same_finished_sinks=.. restore_changed_…`.

use crate::{counting_sink, state_backend, Args, Totals};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir::source::SourceReader;
use weir::{
    BoxError, JobClient, KeyedContext, KeyedProcessFunction, RuntimeContext, SourceStatus,
    StreamEnvironment, ValueState,
};

/// When the first record of the current job reached a count subtask.
type First = Arc<Mutex<Option<Instant>>>;

/// The keyed count of `benches/common/count.rs`, noting the first record it processed.
#[derive(Clone, Default)]
struct TimedCount {
    count: ValueState<u64>,
    first: First,
    noted: bool,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for TimedCount {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.count = ctx.value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        if !self.noted {
            self.noted = true;
            let now = Instant::now();
            let mut first = self
                .first
                .lock()
                .map_err(|_| "first-record lock poisoned")?;
            *first = Some(first.map_or(now, |t| t.min(now)));
        }
        let n = *self.count.modify(ctx, || 0, |c| *c += 1);
        out.push((*ctx.current_key(), n));
        Ok(())
    }
}

/// Emits `next..end`, then idles (never finishes); its position is not restored (the
/// verification job reads from another source).
struct FillReader {
    next: u64,
    end: u64,
}

impl SourceReader<u64> for FillReader {
    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        if self.next >= self.end {
            return Ok(SourceStatus::Idle);
        }
        let to = self.end.min(self.next + max as u64);
        out.extend(self.next..to);
        self.next = to;
        Ok(SourceStatus::More)
    }
}

/// What one verification job measured.
#[derive(Default)]
struct Restored {
    first_ms: f64,
    job_ms: f64,
    totals: Totals,
}

fn environment(args: &Args, parallelism: u32, dir: &Path) -> Result<StreamEnvironment, String> {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism)
        .set_arbiters(2)
        .enable_checkpointing(Duration::from_secs(3600))
        .set_checkpoint_dir(dir.join("checkpoints"));
    state_backend(&mut env, &args.backend)?;
    Ok(env)
}

fn counted(client: &JobClient) -> u64 {
    (client.operator_counts().iter())
        .find(|o| o.uid == "count")
        .map_or(0, |o| o.records_in)
}

fn cancel(client: JobClient) {
    client.cancel();
    let _ = client.wait_blocking();
}

/// Fills the state, takes the savepoint; returns (fill ms, savepoint ms, savepoint path).
fn fill_and_savepoint(
    args: &Args,
    dir: &Path,
    wait: &tokio::runtime::Runtime,
) -> Result<(f64, f64, std::path::PathBuf), String> {
    let env = environment(args, 2, dir)?;
    let (keys, total) = (args.keys, args.keys * args.fill_per_key);
    env.add_source_reader("Source: Fill", move |info| {
        let (i, p) = (
            u64::from(info.subtask.index),
            u64::from(info.subtask.parallelism),
        );
        Ok(FillReader {
            next: total * i / p,
            end: total * (i + 1) / p,
        })
    })
    .uid("fill")
    .key_by(move |x| x % keys)
    .process(TimedCount::default())
    .uid("count")
    .discard()
    .uid("out");
    let started = Instant::now();
    let client = env
        .spawn()
        .map_err(|e| format!("fill job does not start: {e}"))?;
    while counted(&client) < total {
        if client.status().is_terminal() {
            return Err(format!("fill job ended: {:?}", client.status()));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let fill_ms = started.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let savepoint = wait
        .block_on(client.trigger_savepoint(dir.join("savepoints")))
        .map_err(|e| format!("savepoint failed: {e}"));
    let savepoint_ms = t0.elapsed().as_secs_f64() * 1e3;
    cancel(client);
    Ok((fill_ms, savepoint_ms, savepoint?.path))
}

/// Runs the verification job at `parallelism`, from `savepoint` (None: without state, cancelled
/// at its first record).
fn verify(
    args: &Args,
    parallelism: u32,
    savepoint: Option<&Path>,
    dir: &Path,
) -> Result<Restored, String> {
    let t0 = Instant::now();
    let mut env = environment(args, parallelism, dir)?;
    if let Some(path) = savepoint {
        env.set_allow_non_restored_state(true);
        env.restore_from_savepoint(path)
            .map_err(|e| format!("restore from {}: {e}", path.display()))?;
    }
    let keys = args.keys;
    let first = First::default();
    let totals = Arc::new(Mutex::new(Totals::default()));
    env.generate_sequence(0, keys - 1)
        .uid("verify-numbers")
        .key_by(move |x| x % keys)
        .process(TimedCount {
            first: first.clone(),
            ..TimedCount::default()
        })
        .uid("count")
        .add_sink("Sink: Counting discard", counting_sink(&totals))
        .uid("out");
    let client = env
        .spawn()
        .map_err(|e| format!("verification job does not start: {e}"))?;
    let first_at = loop {
        if let Some(t) = *first.lock().map_err(|_| "first-record lock poisoned")? {
            break t;
        }
        if client.status().is_terminal() {
            break Instant::now();
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    let first_ms = first_at.saturating_duration_since(t0).as_secs_f64() * 1e3;
    if savepoint.is_none() {
        cancel(client);
        return Ok(Restored {
            first_ms,
            ..Restored::default()
        });
    }
    client
        .wait_blocking()
        .map_err(|e| format!("restored job failed: {e}"))?;
    let job_ms = t0.elapsed().as_secs_f64() * 1e3;
    let totals = *totals.lock().map_err(|_| "totals lock poisoned")?;
    Ok(Restored {
        first_ms,
        job_ms,
        totals,
    })
}

fn fields(prefix: &str, r: &Restored) -> String {
    format!(
        " {prefix}_ms={:.3} {prefix}_job_ms={:.1} {prefix}_sink_records={} {prefix}_sum_a={} \
         {prefix}_sum_b={} {prefix}_finished_sinks={}",
        r.first_ms, r.job_ms, r.totals.records, r.totals.sum_a, r.totals.sum_b, r.totals.finished
    )
}

fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    (entries.flatten())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => bytes_under(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Runs the savepoint workload once and prints its `RESULT` line.
pub fn run_once(args: &Args, run: u32) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!(
        "weir-vs-flink-savepoint-{}-{run}",
        std::process::id()
    ));
    let wait = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let outcome = (|| {
        let (fill_ms, savepoint_ms, path) = fill_and_savepoint(args, &dir.join("fill"), &wait)?;
        let bytes = bytes_under(&path);
        let empty = verify(args, 2, None, &dir.join("empty"))?;
        let same = verify(args, 2, Some(&path), &dir.join("same"))?;
        let changed = args.changed_parallelism;
        let other = verify(args, changed, Some(&path), &dir.join("changed"))?;
        println!(
            "RESULT engine=weir workload={} run={run} records={k} keys={k} backend={} \
             fill_per_key={} fill_ms={fill_ms:.1} savepoint_ms={savepoint_ms:.3} \
             savepoint_bytes={bytes} same_parallelism=2 changed_parallelism={changed} \
             start_empty_ms={:.3}{}{}",
            args.workload,
            args.backend,
            args.fill_per_key,
            empty.first_ms,
            fields("restore_same", &same),
            fields("restore_changed", &other),
            k = args.keys,
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
