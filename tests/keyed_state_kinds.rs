//! Every kind of keyed state (list, map, reducing, aggregating, next to value) through a keyed
//! process function job, each against a plain-Rust computation of the same result (checkpointed
//! and restored: `keyed_state_restore.rs`).
//!
//! Each key's records come from one source subtask (key = x / 500 over contiguous source shares),
//! so a key sees its records in input order and the plain-Rust model can replay them in order.

mod common;

use common::kinds::{model, sorted, Average, BLOCK};
use std::collections::BTreeMap;
use weir::{
    AggregatingState, BoxError, KeyedContext, KeyedProcessFunction, ListState, MapState,
    ReducingState, RuntimeContext, StreamEnvironment,
};

/// Records of the plain jobs: 20 keys per source subtask at parallelism 3.
const N: u64 = 30_000;

fn env(parallelism: u32) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism).set_batch_size(64);
    env
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
