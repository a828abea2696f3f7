//! Every operator and partitioner against a plain-Rust computation of the same result.

use std::collections::HashMap;
use weir::{
    BoxError, KeyedContext, KeyedProcessFunction, RuntimeContext, StreamEnvironment, ValueState,
};

fn env(parallelism: u32) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism).set_batch_size(64);
    env
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn map_filter_flat_map_match_iterators() {
    let input: Vec<u64> = (0..10_000).collect();
    let env = env(3);
    let out = env
        .from_vec(input.clone())
        .map(|x| x * 3)
        .filter(|x| x % 2 == 0)
        .flat_map(|x| vec![x; (x % 3) as usize + 1])
        .collect();
    env.execute().expect("job runs");
    let expected: Vec<u64> = input
        .iter()
        .map(|x| x * 3)
        .filter(|x| x % 2 == 0)
        .flat_map(|x| vec![x; (x % 3) as usize + 1])
        .collect();
    assert_eq!(sorted(out.records()), sorted(expected));
}

#[test]
fn generate_sequence_emits_each_number_once_at_any_parallelism() {
    for p in [1, 2, 5] {
        let env = env(p);
        let out = env.generate_sequence(10, 5009).collect();
        env.execute().expect("job runs");
        assert_eq!(
            sorted(out.records()),
            (10..=5009).collect::<Vec<u64>>(),
            "p={p}"
        );
    }
}

#[test]
fn from_iter_reads_a_single_iterator_in_order() {
    let env = env(1);
    let out = env.from_iter((0..3000u32).map(|x| x * 2)).collect();
    env.execute().expect("job runs");
    assert_eq!(
        out.records(),
        (0..3000u32).map(|x| x * 2).collect::<Vec<_>>()
    );
}

#[derive(Clone, Default)]
struct RunningCount {
    count: ValueState<u64>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for RunningCount {
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
        let n = self.count.value(ctx).unwrap_or(0) + 1;
        self.count.update(ctx, n);
        out.push((*ctx.current_key(), n));
        Ok(())
    }
}

#[test]
fn keyed_process_counts_per_key_in_order() {
    let env = env(3);
    let out = env
        .generate_sequence(0, 29_999)
        .key_by(|x| x % 97)
        .process(RunningCount::default())
        .collect();
    env.execute().expect("job runs");
    let mut per_key: HashMap<u64, Vec<u64>> = HashMap::new();
    for (k, n) in out.records() {
        per_key.entry(k).or_default().push(n);
    }
    assert_eq!(per_key.len(), 97);
    for (k, counts) in per_key {
        let expected_len = (0..30_000u64).filter(|x| x % 97 == k).count() as u64;
        // Counts of a key arrive in order, 1, 2, 3, ...: nothing lost, nothing reordered.
        assert_eq!(counts, (1..=expected_len).collect::<Vec<_>>(), "key {k}");
    }
}

#[test]
fn reduce_is_a_rolling_sum_per_key() {
    let env = env(2);
    let out = env
        .from_vec((0..5000u64).map(|x| (x % 10, x)).collect())
        .key_by(|r: &(u64, u64)| r.0)
        .reduce(|a, b| (a.0, a.1 + b.1))
        .collect();
    env.execute().expect("job runs");
    let mut last: HashMap<u64, u64> = HashMap::new();
    let mut previous: HashMap<u64, u64> = HashMap::new();
    for (k, sum) in out.records() {
        let prev = previous.insert(k, sum).unwrap_or(0);
        assert!(sum >= prev, "rolling sums of key {k} never decrease");
        last.insert(k, sum);
    }
    let mut expected: HashMap<u64, u64> = HashMap::new();
    for x in 0..5000u64 {
        *expected.entry(x % 10).or_default() += x;
    }
    assert_eq!(last, expected);
    assert_eq!(out.records().len(), 5000);
}

#[test]
fn key_by_sends_every_record_of_a_key_to_one_subtask() {
    let env = env(4);
    let out = env
        .generate_sequence(0, 9_999)
        .key_by(|x| x % 50)
        .transform("Tag", |info| Ok(TagSubtask(info.subtask.index)))
        .collect();
    env.execute().expect("job runs");
    let mut owner: HashMap<u64, u32> = HashMap::new();
    for (x, subtask) in out.records() {
        let k = x % 50;
        assert_eq!(
            *owner.entry(k).or_insert(subtask),
            subtask,
            "key {k} seen on two subtasks"
        );
    }
    assert_eq!(owner.len(), 50);
}

struct TagSubtask(u32);
impl weir::task::operator::Operator<u64, (u64, u32)> for TagSubtask {
    fn process_batch(
        &mut self,
        input: Vec<u64>,
        out: &mut Vec<(u64, u32)>,
    ) -> Result<(), BoxError> {
        out.extend(input.into_iter().map(|x| (x, self.0)));
        Ok(())
    }
}

#[test]
fn broadcast_sends_every_record_to_every_subtask() {
    let env = env(1);
    let out = env
        .from_vec((0..1000u64).collect())
        .broadcast()
        .transform("Tag", |info| Ok(TagSubtask(info.subtask.index)))
        .set_parallelism(3)
        .collect();
    env.execute().expect("job runs");
    let records = out.records();
    assert_eq!(records.len(), 3000);
    for s in 0..3 {
        let mut xs: Vec<u64> = records.iter().filter(|r| r.1 == s).map(|r| r.0).collect();
        xs.sort();
        assert_eq!(xs, (0..1000).collect::<Vec<_>>());
    }
}

#[test]
fn rebalance_spreads_records_evenly() {
    let env = env(1);
    let out = env
        .from_vec((0..9000u64).collect())
        .rebalance()
        .transform("Tag", |info| Ok(TagSubtask(info.subtask.index)))
        .set_parallelism(3)
        .collect();
    env.execute().expect("job runs");
    let records = out.records();
    for s in 0..3 {
        assert_eq!(records.iter().filter(|r| r.1 == s).count(), 3000);
    }
    assert_eq!(
        sorted(records.into_iter().map(|r| r.0).collect()),
        (0..9000).collect::<Vec<_>>()
    );
}

#[test]
fn forward_keeps_each_subtask_s_records_in_order() {
    let env = env(2);
    let out = env
        .generate_sequence(0, 9_999)
        .map(|x| x + 1)
        .rebalance()
        .map(|x| x)
        .set_parallelism(2)
        .forward()
        .transform("Tag", |info| Ok(TagSubtask(info.subtask.index)))
        .set_parallelism(2)
        .collect();
    env.execute().expect("job runs");
    assert_eq!(
        sorted(out.records().into_iter().map(|r| r.0).collect()),
        (1..=10_000).collect::<Vec<_>>()
    );
}

#[test]
fn union_merges_streams() {
    let env = env(2);
    let a = env.generate_sequence(0, 999);
    let b = env.generate_sequence(1000, 1999).map(|x| x);
    let c = env.from_vec(vec![5000u64, 5001]);
    let out = a.union(&[b, c]).map(|x| x * 2).collect();
    env.execute().expect("job runs");
    let mut expected: Vec<u64> = (0..2000).map(|x| x * 2).collect();
    expected.extend([10_000, 10_002]);
    assert_eq!(sorted(out.records()), expected);
}

#[test]
fn one_stream_feeding_two_operators_gives_each_all_records() {
    let env = env(2);
    let s = env.generate_sequence(0, 4999);
    let doubled = s.map(|x| x * 2).collect();
    let odd = s.filter(|x| x % 2 == 1).collect();
    env.execute().expect("job runs");
    assert_eq!(
        sorted(doubled.records()),
        (0..5000).map(|x| x * 2).collect::<Vec<_>>()
    );
    assert_eq!(
        sorted(odd.records()),
        (0..5000).filter(|x| x % 2 == 1).collect::<Vec<_>>()
    );
}

#[test]
fn text_file_lines_round_trip_at_any_parallelism() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.txt");
    let lines: Vec<String> = (0..5000)
        .map(|i| format!("line {i} {}", "x".repeat(i % 37)))
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
    for p in [1u32, 3] {
        let env = env(p);
        let out = env.read_text_file(&input).collect();
        env.execute().expect("job runs");
        assert_eq!(sorted(out.records()), sorted(lines.clone()), "p={p}");
    }
    let output = dir.path().join("out.txt");
    let env = env(2);
    env.read_text_file(&input)
        .map(|l| l.to_uppercase())
        .write_lines(&output)
        .set_parallelism(1);
    env.execute().expect("job runs");
    let written = std::fs::read_to_string(&output).expect("read output");
    let got: Vec<String> = written.lines().map(str::to_string).collect();
    assert_eq!(
        sorted(got),
        sorted(lines.iter().map(|l| l.to_uppercase()).collect())
    );
}

#[test]
fn execute_reports_per_operator_counts() {
    let env = env(2);
    env.generate_sequence(1, 1000)
        .uid("numbers")
        .filter(|x| x % 4 == 0)
        .uid("quarters")
        .discard()
        .uid("sink");
    let result = env.execute().expect("job runs");
    let numbers = result.operator("numbers").expect("source counted");
    assert_eq!(numbers.records_out, 1000);
    let quarters = result.operator("quarters").expect("filter counted");
    assert_eq!((quarters.records_in, quarters.records_out), (1000, 250));
    assert_eq!(
        result.operator("sink").expect("sink counted").records_in,
        250
    );
}
