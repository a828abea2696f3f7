//! Every kind of keyed state (list, map, reducing, aggregating, next to value) through a keyed
//! process function job, each against a plain-Rust computation of the same result; a checkpointed
//! job using all of them, killed and restored, against the failure-free run; and a restore that
//! finds a state under another kind fails the job, naming the state.
//!
//! Each key's records come from one source subtask (key = x / 500 over contiguous source shares),
//! so a key sees its records in input order and the plain-Rust model can replay them in order.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::{
    AggregateFunction, AggregatingState, BoxError, CommittedCollector,
    ExternalizedCheckpointRetention, KeyedContext, KeyedProcessFunction, ListState, MapState,
    ReducingState, RestartStrategyConfig, RuntimeContext, StreamEnvironment, ValueState,
};

/// Records of the plain jobs: 20 keys per source subtask at parallelism 3.
const N: u64 = 30_000;
const BLOCK: u64 = 500;

fn env(parallelism: u32) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism).set_batch_size(64);
    env
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Runs `function` over `0..n` keyed by `x / BLOCK` at `parallelism`; returns the sorted output.
fn run<O, F>(parallelism: u32, n: u64, function: F) -> Vec<O>
where
    O: weir::Record + Ord,
    F: KeyedProcessFunction<u64, u64, O> + Clone + Sync,
{
    let env = env(parallelism);
    let out = env
        .generate_sequence(0, n - 1)
        .key_by(|x| x / BLOCK)
        .process(function)
        .collect();
    env.execute().expect("job runs");
    sorted(out.records())
}

/// The plain-Rust model: each key's state `S`, fed the records in input order.
fn model<S: Default, O: Ord>(n: u64, mut step: impl FnMut(&mut S, u64, &mut Vec<O>)) -> Vec<O> {
    let mut states: HashMap<u64, S> = HashMap::new();
    let mut out = Vec::new();
    for x in 0..n {
        step(states.entry(x / BLOCK).or_default(), x, &mut out);
    }
    sorted(out)
}

/// Per key, a list that grows by one to three values a record; every 11th record emits it and
/// keeps only its last two values; every 97th record clears it.
#[derive(Clone, Default)]
struct ListWindow {
    list: ListState<u64>,
}

impl KeyedProcessFunction<u64, u64, (u64, Vec<u64>)> for ListWindow {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.list = ctx.list_state("window")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        x: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, Vec<u64>)>,
    ) -> Result<(), BoxError> {
        self.list.add_all(ctx, (0..x % 3).map(|i| x * 10 + i));
        self.list.add(ctx, x);
        if x % 11 == 0 {
            let items = self.list.get(ctx).to_vec();
            let tail = items[items.len().saturating_sub(2)..].to_vec();
            out.push((*ctx.current_key(), items));
            self.list.update(ctx, tail);
        }
        if x % 97 == 0 {
            self.list.clear(ctx);
        }
        Ok(())
    }
}

#[test]
fn list_state_keeps_each_keys_values_in_the_order_they_were_added() {
    let got = run(3, N, ListWindow::default());
    let expected = model(N, |list: &mut Vec<u64>, x, out| {
        for i in 0..x % 3 {
            list.push(x * 10 + i);
        }
        list.push(x);
        if x % 11 == 0 {
            out.push((x / BLOCK, list.clone()));
            let tail = list.split_off(list.len().saturating_sub(2));
            *list = tail;
        }
        if x % 97 == 0 {
            list.clear();
        }
    });
    assert!(expected.len() > 2000);
    assert_eq!(got, expected);
}

/// What [`SubKeyCounts`] emits: the key, its entries, keys and values (sorted), and whether its
/// map is empty.
type MapView = (u64, Vec<(u64, u64)>, Vec<u64>, Vec<u64>, bool);

/// Per key, a count per sub-key `x² mod 13`; every 7th record removes a sub-key, every 125th adds
/// two entries at once, every 250th clears the map; every 50th emits the whole map.
#[derive(Clone, Default)]
struct SubKeyCounts {
    counts: MapState<u64, u64>,
}

impl SubKeyCounts {
    fn emit(&self, ctx: &mut KeyedContext<'_, u64>, out: &mut Vec<MapView>) {
        let entries = sorted(self.counts.entries(ctx).map(|(k, v)| (*k, *v)).collect());
        let keys = sorted(self.counts.keys(ctx).copied().collect());
        let values = sorted(self.counts.values(ctx).copied().collect());
        let empty = self.counts.is_empty(ctx);
        out.push((*ctx.current_key(), entries, keys, values, empty));
    }
}

impl KeyedProcessFunction<u64, u64, MapView> for SubKeyCounts {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.counts = ctx.map_state("counts")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        x: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<MapView>,
    ) -> Result<(), BoxError> {
        let sub = (x * x) % 13;
        let n = if self.counts.contains(ctx, &sub) {
            self.counts.get(ctx, &sub).unwrap_or(0) + 1
        } else {
            1
        };
        self.counts.put(ctx, sub, n);
        if x % 7 == 0 {
            self.counts.remove(ctx, &((x / 7) % 13));
        }
        if x % 125 == 124 {
            self.counts.put_all(ctx, [(100, x), (101, x + 1)]);
        }
        if x % 50 == 49 {
            self.emit(ctx, out);
        }
        if x % 250 == 249 {
            self.counts.clear(ctx);
            self.emit(ctx, out);
        }
        Ok(())
    }
}

#[test]
fn map_state_counts_per_key_and_sub_key() {
    let got = run(2, N, SubKeyCounts::default());
    let expected = model(
        N,
        |counts: &mut BTreeMap<u64, u64>, x, out: &mut Vec<MapView>| {
            *counts.entry((x * x) % 13).or_default() += 1;
            if x % 7 == 0 {
                counts.remove(&((x / 7) % 13));
            }
            if x % 125 == 124 {
                counts.insert(100, x);
                counts.insert(101, x + 1);
            }
            let mut emit = |counts: &BTreeMap<u64, u64>| {
                out.push((
                    x / BLOCK,
                    counts.iter().map(|(k, v)| (*k, *v)).collect(),
                    counts.keys().copied().collect(),
                    sorted(counts.values().copied().collect()),
                    counts.is_empty(),
                ))
            };
            if x % 50 == 49 {
                emit(counts);
            }
            if x % 250 == 249 {
                counts.clear();
                emit(counts);
            }
        },
    );
    assert!(expected.iter().any(|v| v.4) && expected.iter().any(|v| v.1.len() > 5));
    assert_eq!(got, expected);
}

/// Per key, a rolling sum through a reducing state, restarted every 100th record.
#[derive(Clone, Default)]
struct RollingSum {
    sum: ReducingState<u64>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64, u64)> for RollingSum {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.sum = ctx.reducing_state("sum", |a: u64, b: u64| a + b)?;
        Ok(())
    }

    fn process_element(
        &mut self,
        x: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        if x % 100 == 0 {
            self.sum.clear(ctx);
        }
        self.sum.add(ctx, x);
        let sum = self
            .sum
            .get(ctx)
            .ok_or("a reducing state is empty after add")?;
        out.push((*ctx.current_key(), x, sum));
        Ok(())
    }
}

#[test]
fn reducing_state_keeps_a_rolling_sum_per_key() {
    let got = run(3, N, RollingSum::default());
    let expected = model(N, |sum: &mut u64, x, out| {
        if x % 100 == 0 {
            *sum = 0;
        }
        *sum += x;
        out.push((x / BLOCK, x, *sum));
    });
    assert_eq!(got.len() as u64, N);
    assert_eq!(got, expected);
}

/// The mean of `u64`s, kept as a sum and a count.
struct Average;

impl AggregateFunction for Average {
    type Input = u64;
    type Accumulator = (u64, u64);
    type Output = f64;

    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, value: u64, acc: &mut (u64, u64)) {
        acc.0 += value;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(u64, u64)) -> f64 {
        acc.0 as f64 / acc.1 as f64
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

/// Per key, the running average of `x mod 1000`, emitted (as bits, to compare exactly) every
/// 10th record and restarted every 200th.
#[derive(Clone, Default)]
struct RunningAverage {
    average: AggregatingState<u64, f64>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64, u64)> for RunningAverage {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.average = ctx.aggregating_state("average", Average)?;
        Ok(())
    }

    fn process_element(
        &mut self,
        x: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        self.average.add(ctx, x % 1000);
        if x % 10 == 9 {
            let average = self.average.get(ctx).ok_or("empty after add")?;
            out.push((*ctx.current_key(), x, average.to_bits()));
        }
        if x % 200 == 199 {
            self.average.clear(ctx);
        }
        Ok(())
    }
}

#[test]
fn aggregating_state_keeps_a_running_average_per_key() {
    let got = run(2, N, RunningAverage::default());
    let expected = model(N, |acc: &mut (u64, u64), x, out| {
        acc.0 += x % 1000;
        acc.1 += 1;
        if x % 10 == 9 {
            let average = acc.0 as f64 / acc.1 as f64;
            out.push((x / BLOCK, x, average.to_bits()));
        }
        if x % 200 == 199 {
            *acc = (0, 0);
        }
    });
    assert_eq!(got.len() as u64, N / 10);
    assert_eq!(got, expected);
}

// ---- checkpointed: all five kinds, killed and restored ----

const RECORDS: u64 = 150_000;

/// One output per record: key, record, per-key sequence (value), list length and sum (the last
/// 16 values), sub-key count and map size, rolling sum (reducing), running average bits
/// (aggregating).
type AllKindsOut = [u64; 9];

/// Every kind of state at once; with `recent_as_value`, it declares its list state "recent" as a
/// value state instead (and nothing else).
#[derive(Clone, Default)]
struct AllKinds {
    recent_as_value: bool,
    seq: ValueState<u64>,
    recent: ListState<u64>,
    counts: MapState<u64, u64>,
    sum: ReducingState<u64>,
    average: AggregatingState<u64, f64>,
}

impl KeyedProcessFunction<u64, u64, AllKindsOut> for AllKinds {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        if self.recent_as_value {
            let _recent: ValueState<Vec<u64>> = ctx.value_state("recent")?;
            return Ok(());
        }
        self.seq = ctx.value_state("seq")?;
        self.recent = ctx.list_state("recent")?;
        self.counts = ctx.map_state("counts")?;
        self.sum =
            ctx.reducing_state("sum", |a: u64, b: u64| a.wrapping_mul(31).wrapping_add(b))?;
        self.average = ctx.aggregating_state("average", Average)?;
        Ok(())
    }

    fn process_element(
        &mut self,
        x: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<AllKindsOut>,
    ) -> Result<(), BoxError> {
        let seq = *self.seq.modify(ctx, || 0, |s| *s += 1);
        self.recent.add(ctx, x);
        if self.recent.get(ctx).len() > 16 {
            let tail = self.recent.get(ctx)[1..].to_vec();
            self.recent.update(ctx, tail);
        }
        let recent = self.recent.get(ctx);
        let (len, recent_sum) = (recent.len() as u64, recent.iter().sum::<u64>());
        let sub = x % 17;
        let count = self.counts.get(ctx, &sub).unwrap_or(0) + 1;
        self.counts.put(ctx, sub, count);
        if x % 5 == 0 {
            self.counts.remove(ctx, &((x / 5) % 17));
        }
        let map_len = self.counts.keys(ctx).count() as u64;
        // A non-commutative reduce: the order of a key's records shows in the result.
        self.sum.add(ctx, x);
        let sum = self.sum.get(ctx).ok_or("empty after add")?;
        self.average.add(ctx, x % 1000);
        let average = self.average.get(ctx).ok_or("empty after add")?;
        let key = *ctx.current_key();
        out.push([
            key,
            x,
            seq,
            len,
            recent_sum,
            count,
            map_len,
            sum,
            average.to_bits(),
        ]);
        Ok(())
    }
}

fn all_kinds_model() -> Vec<AllKindsOut> {
    #[derive(Default)]
    struct S {
        seq: u64,
        recent: Vec<u64>,
        counts: HashMap<u64, u64>,
        sum: Option<u64>,
        acc: (u64, u64),
    }
    model(RECORDS, |s: &mut S, x, out| {
        s.seq += 1;
        s.recent.push(x);
        if s.recent.len() > 16 {
            s.recent.remove(0);
        }
        let count = s.counts.get(&(x % 17)).copied().unwrap_or(0) + 1;
        s.counts.insert(x % 17, count);
        if x % 5 == 0 {
            s.counts.remove(&((x / 5) % 17));
        }
        let sum = s.sum.map_or(x, |a| a.wrapping_mul(31).wrapping_add(x));
        s.sum = Some(sum);
        s.acc = (s.acc.0 + x % 1000, s.acc.1 + 1);
        let (len, recent_sum) = (s.recent.len() as u64, s.recent.iter().sum());
        let average = s.acc.0 as f64 / s.acc.1 as f64;
        let map_len = s.counts.len() as u64;
        out.push([
            x / BLOCK,
            x,
            s.seq,
            len,
            recent_sum,
            count,
            map_len,
            sum,
            average.to_bits(),
        ]);
    })
}

/// Builds the checkpointed job; `kill_at` makes the map panic at that record once.
fn build(
    env: &StreamEnvironment,
    out: &CommittedCollector<AllKindsOut>,
    kill_at: Option<u64>,
    function: AllKinds,
) {
    let seen = Arc::new(AtomicU64::new(0));
    env.generate_sequence(0, RECORDS - 1)
        .uid("numbers")
        .map(move |x| {
            if let Some(k) = kill_at {
                if seen.fetch_add(1, Ordering::Relaxed) == k {
                    panic!("injected failure at record {k}");
                }
            }
            // Some work per record, so the job spans many 10 ms checkpoints.
            let mut h = x;
            for i in 0..400u64 {
                h = std::hint::black_box(h.rotate_left(7) ^ i);
            }
            std::hint::black_box(h);
            x
        })
        .uid("maybe-fail")
        .key_by(|x| x / BLOCK)
        .process(function)
        .uid("all-kinds")
        .collect_committed(out)
        .uid("committed");
}

fn checkpointed_env(dir: &std::path::Path) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(64)
        .set_job_id("keyed-state-kinds")
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(dir);
    let cp = env.checkpoint_config_mut();
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    cp.num_retained = 2;
    // The failure must end the first run: the second run restores from what it left.
    env.set_restart_strategy(RestartStrategyConfig::NoRestart);
    env
}

/// Kills the job at `kill_at`, restores it from its latest checkpoint and finishes it; returns
/// the committed output of both runs and whether the second run restored.
fn killed_and_restored(kill_at: u64) -> (Vec<AllKindsOut>, bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = CommittedCollector::new();
    let env1 = checkpointed_env(dir.path());
    build(&env1, &out, Some(kill_at), AllKinds::default());
    assert!(env1.execute().is_err(), "the injected failure ends the run");
    let mut env2 = checkpointed_env(dir.path());
    // A failure before the first checkpoint leaves nothing to restore: start from scratch.
    let restored = match env2.restore_from_latest(dir.path()) {
        Ok(_) => true,
        Err(weir::Error::Restore(weir::RestoreError::NoCompleteCheckpoint { .. })) => false,
        Err(e) => panic!("kill at {kill_at}: restore failed: {e}"),
    };
    build(&env2, &out, None, AllKinds::default());
    env2.execute().expect("the restored run finishes");
    (sorted(out.records()), restored)
}

#[test]
fn every_kind_restored_from_a_checkpoint_gives_the_failure_free_output() {
    let expected = all_kinds_model();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = CommittedCollector::new();
    let env = checkpointed_env(dir.path());
    build(&env, &out, None, AllKinds::default());
    env.execute().expect("failure-free run");
    assert!(
        sorted(out.records()) == expected,
        "the failure-free run differs from the plain-Rust model"
    );

    let mut restores = 0;
    for kill_at in [RECORDS / 3, RECORDS / 2, RECORDS * 2 / 3, RECORDS * 5 / 6] {
        let (got, restored) = killed_and_restored(kill_at);
        restores += u32::from(restored);
        assert_eq!(got.len(), expected.len(), "kill at {kill_at}: record count");
        assert!(
            got == expected,
            "kill at {kill_at}: committed output differs from the failure-free run"
        );
    }
    assert!(
        restores >= 2,
        "most runs restored from a checkpoint ({restores})"
    );
}

#[test]
fn restoring_a_list_state_as_a_value_state_fails_the_job_naming_the_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = CommittedCollector::new();
    let env1 = checkpointed_env(dir.path());
    build(&env1, &out, Some(RECORDS - 1), AllKinds::default());
    assert!(env1.execute().is_err(), "the injected failure ends the run");

    let mut env2 = checkpointed_env(dir.path());
    env2.restore_from_latest(dir.path())
        .expect("the first run completed a checkpoint");
    let recent_as_value = AllKinds {
        recent_as_value: true,
        ..AllKinds::default()
    };
    build(&env2, &out, None, recent_as_value);
    let err = env2
        .execute()
        .expect_err("a state changed kind")
        .to_string();
    for part in [
        "\"recent\"",
        "all-kinds",
        "ListState<u64>",
        "ValueState<alloc::vec::Vec<u64>>",
    ] {
        assert!(err.contains(part), "{err:?} does not name {part:?}");
    }
}
