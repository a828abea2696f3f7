//! Operator state end to end: list state, union list state and broadcast state restored after
//! injected failures give the failure-free run's output record for record; a state restored with
//! another type fails with an error naming the operator uid and the state. Every job runs in
//! deterministic mode (paused tokio clock), so restarts and checkpoints take no real time.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use weir::state::operator::{BroadcastContext, ListState, ReadOnlyContext, UnionListState};
use weir::{
    BoxError, BroadcastProcessFunction, BroadcastStateDescriptor, CheckpointedFunction,
    CommittedCollector, ExternalizedCheckpointRetention, Fault, FaultInjector, JobError,
    OperatorStateContext, RestartStrategyConfig, StreamEnvironment, Target, TaskErrorKind,
};

fn env(seed: u64, restarts: u32) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(16)
        .set_deterministic(seed)
        .enable_checkpointing(Duration::from_millis(100));
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env.set_restart_strategy(if restarts == 0 {
        RestartStrategyConfig::NoRestart
    } else {
        RestartStrategyConfig::FixedDelay {
            attempts: restarts,
            delay: Duration::from_secs(1),
        }
    });
    env
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn fail_at(uid: &str, subtask: u32, record: u64) -> FaultInjector {
    FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt(uid, subtask),
        record,
    })
}

/// What a function saw of its state when it opened after a restore: (subtask, contents).
type Restores<T> = Arc<Mutex<Vec<(u32, T)>>>;

// ---------------------------------------------------------------------------------------------
// List state: Flink's buffering example. Records are buffered in list state and emitted in
// batches of 100 as (subtask, batch number, sum, first, last); the batch counter lives in a field
// that `snapshot_state` copies into list state. (What is still buffered at the end is not
// emitted: the committed sink commits only what a checkpoint covers, and the end of input is not
// followed by one.)

/// One emitted batch: (subtask, batch number, sum, first, last).
type BatchOut = (u32, u64, u64, u64, u64);

#[derive(Clone, Default)]
struct Batcher {
    buffer: Option<ListState<u64>>,
    batches_state: Option<ListState<u64>>,
    batches: u64,
    subtask: u32,
    restores: Restores<(usize, u64)>,
}

impl Batcher {
    fn flush(&mut self, out: &mut Vec<BatchOut>) -> Result<(), BoxError> {
        let buffer = self.buffer.as_ref().ok_or("not opened")?;
        let items = buffer.get();
        if let (Some(first), Some(last)) = (items.first(), items.last()) {
            out.push((
                self.subtask,
                self.batches,
                items.iter().sum(),
                *first,
                *last,
            ));
            self.batches += 1;
            buffer.clear();
        }
        Ok(())
    }
}

impl CheckpointedFunction<u64, BatchOut> for Batcher {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        let buffer = ctx.list_state::<u64>("buffer")?;
        let batches = ctx.list_state::<u64>("batches")?;
        self.batches = batches.get().first().copied().unwrap_or(0);
        self.subtask = ctx.subtask_index();
        if ctx.is_restored() {
            self.restores
                .lock()
                .push((self.subtask, (buffer.len(), self.batches)));
        }
        self.buffer = Some(buffer);
        self.batches_state = Some(batches);
        Ok(())
    }

    fn process_element(&mut self, value: u64, out: &mut Vec<BatchOut>) -> Result<(), BoxError> {
        let buffer = self.buffer.as_ref().ok_or("not opened")?;
        buffer.add(value);
        if buffer.len() >= 100 {
            self.flush(out)?;
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: u64) -> Result<(), BoxError> {
        let state = self.batches_state.as_ref().ok_or("not opened")?;
        state.update(vec![self.batches]);
        Ok(())
    }
}

const BATCHER_RECORDS: u64 = 60_005;

/// `0..records` from one source subtask, spread over the next operator's subtasks by `x % 16`:
/// each subtask receives its records from one channel, in the same order in every run, so two
/// runs can be compared record for record. (Record faults hit the operator's own task, which
/// is not chained to the source.)
fn numbers(env: &StreamEnvironment, records: u64) -> weir::KeyedStream<u64, u64> {
    env.generate_sequence(0, records - 1)
        .uid("numbers")
        .set_parallelism(1)
        .key_by(|x| x % 16)
}

fn batcher_job(env: &StreamEnvironment, batcher: Batcher, out: &CommittedCollector<BatchOut>) {
    numbers(env, BATCHER_RECORDS)
        .process_with_state(batcher)
        .uid("batcher")
        .collect_committed(out)
        .uid("out");
}

/// A batcher run: the job's result, its committed output (sorted), and what each restore found
/// (subtask, (buffered records, batches emitted)).
type BatcherRun = (weir::JobResult, Vec<BatchOut>, Vec<(u32, (usize, u64))>);

fn batcher_run(faults: Option<FaultInjector>) -> BatcherRun {
    let mut env = env(7, 3);
    if let Some(f) = faults {
        env.set_fault_injector(f);
    }
    let batcher = Batcher::default();
    let restores = batcher.restores.clone();
    let out = CommittedCollector::new();
    batcher_job(&env, batcher, &out);
    let result = env.execute().expect("the job finishes");
    let seen = restores.lock().clone();
    (result, sorted(out.records()), seen)
}

#[test]
fn list_state_restored_after_failures_gives_the_failure_free_output() {
    let (_, expected, _) = batcher_run(None);
    assert!(
        expected.len() as u64 >= BATCHER_RECORDS / 100 - 2,
        "nearly every record batched"
    );
    let faults = fail_at("batcher", 1, 10_050).with(Fault::FailAtRecord {
        target: Target {
            uid: "batcher".to_string(),
            subtask: 0,
            attempt: Some(1),
        },
        record: 5_030,
    });
    let (result, got, restores) = batcher_run(Some(faults));
    assert_eq!(
        result.restarts.len(),
        2,
        "two injected failures, two restarts"
    );
    assert!(
        restores
            .iter()
            .any(|(_, (buffered, batches))| *buffered > 0 && *batches > 0),
        "a restart restored a partly filled buffer and a batch count: {restores:?}"
    );
    assert!(
        got == expected,
        "committed output differs from the failure-free run"
    );
}

// ---------------------------------------------------------------------------------------------
// Union list state: each subtask keeps one entry (its index, records counted so far); after a
// restore every subtask sees every subtask's entry and keeps its own.

#[derive(Clone, Default)]
struct Counter {
    counts: Option<UnionListState<(u32, u64)>>,
    count: u64,
    subtask: u32,
    restores: Restores<Vec<(u32, u64)>>,
    finals: Restores<u64>,
}

impl CheckpointedFunction<u64, (u32, u64)> for Counter {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        let counts = ctx.union_list_state::<(u32, u64)>("counts")?;
        self.subtask = ctx.subtask_index();
        let all = counts.get();
        if ctx.is_restored() {
            self.restores
                .lock()
                .push((self.subtask, sorted(all.clone())));
        }
        self.count = all
            .iter()
            .find(|(s, _)| *s == self.subtask)
            .map_or(0, |(_, c)| *c);
        counts.update(vec![(self.subtask, self.count)]);
        self.counts = Some(counts);
        Ok(())
    }

    /// Emits the count at every thousandth record.
    fn process_element(&mut self, _value: u64, out: &mut Vec<(u32, u64)>) -> Result<(), BoxError> {
        self.count += 1;
        if self.count % 1000 == 0 {
            out.push((self.subtask, self.count));
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: u64) -> Result<(), BoxError> {
        let counts = self.counts.as_ref().ok_or("not opened")?;
        counts.update(vec![(self.subtask, self.count)]);
        Ok(())
    }

    fn end_of_input(&mut self, _out: &mut Vec<(u32, u64)>) -> Result<(), BoxError> {
        self.finals.lock().push((self.subtask, self.count));
        Ok(())
    }
}

const COUNTER_RECORDS: u64 = 90_000;

/// Runs the counter at parallelism 3; returns the job's result, its committed output, what each
/// subtask saw of the union at a restore, and each subtask's final count.
fn counter_run(faults: Option<FaultInjector>) -> CounterRun {
    let mut env = env(11, 3);
    env.set_parallelism(3);
    if let Some(f) = faults {
        env.set_fault_injector(f);
    }
    let counter = Counter::default();
    let (restores, finals) = (counter.restores.clone(), counter.finals.clone());
    let out = CommittedCollector::new();
    numbers(&env, COUNTER_RECORDS)
        .process_with_state(counter)
        .uid("counter")
        .collect_committed(&out)
        .uid("out");
    let result = env.execute().expect("the job finishes");
    let restores = restores.lock().clone();
    let finals = sorted(finals.lock().clone());
    (result, sorted(out.records()), restores, finals)
}

type CounterRun = (
    weir::JobResult,
    Vec<(u32, u64)>,
    Vec<(u32, Vec<(u32, u64)>)>,
    Vec<(u32, u64)>,
);

#[test]
fn union_list_state_gives_every_subtask_every_entry_exactly_once_after_a_restore() {
    let (_, expected, _, expected_finals) = counter_run(None);
    assert_eq!(
        expected_finals.iter().map(|(_, c)| c).sum::<u64>(),
        COUNTER_RECORDS
    );
    let (result, got, restores, finals) = counter_run(Some(fail_at("counter", 2, 12_000)));
    assert_eq!(result.restarts.len(), 1);

    let subtasks: Vec<u32> = sorted(restores.iter().map(|(s, _)| *s).collect());
    assert_eq!(subtasks, vec![0, 1, 2], "every subtask restored once");
    let first = &restores[0].1;
    for (subtask, entries) in &restores {
        let owners: Vec<u32> = entries.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            owners,
            vec![0, 1, 2],
            "subtask {subtask}: one entry per subtask"
        );
        assert_eq!(entries, first, "subtask {subtask} sees the same union");
    }
    assert!(
        first.iter().all(|(_, c)| *c > 0),
        "restored counts: {first:?}"
    );
    // Each subtask counted its whole share exactly once.
    assert_eq!(finals, expected_finals);
    assert!(
        got == expected,
        "committed output differs from the failure-free run"
    );
}

// ---------------------------------------------------------------------------------------------
// Broadcast state: rules arrive on a broadcast stream and are applied to every number; numbers
// that arrive before the rules are complete wait in list state.

const RULES: BroadcastStateDescriptor<String, u64> = BroadcastStateDescriptor::new("rules");

#[derive(Clone, Default)]
struct ApplyRules {
    pending: Option<ListState<u64>>,
    restores: Restores<Vec<(String, u64)>>,
}

fn apply(rules: &std::collections::BTreeMap<String, u64>, x: u64) -> Option<u64> {
    Some(x * rules.get("mult")? + rules.get("add")?)
}

impl BroadcastProcessFunction<u64, (String, u64), (u64, Option<u64>)> for ApplyRules {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        self.pending = Some(ctx.list_state::<u64>("pending")?);
        if ctx.is_restored() {
            let rules = ctx.broadcast_state(&RULES)?;
            self.restores
                .lock()
                .push((ctx.subtask_index(), rules.entries()));
        }
        Ok(())
    }

    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut ReadOnlyContext<'_>,
        out: &mut Vec<(u64, Option<u64>)>,
    ) -> Result<(), BoxError> {
        match ctx
            .broadcast_state(&RULES)?
            .with(|rules| apply(rules, value))
        {
            Some(result) => out.push((value, Some(result))),
            None => self.pending.as_ref().ok_or("not opened")?.add(value),
        }
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        (name, value): (String, u64),
        ctx: &mut BroadcastContext<'_>,
        out: &mut Vec<(u64, Option<u64>)>,
    ) -> Result<(), BoxError> {
        let rules = ctx.broadcast_state(&RULES)?;
        rules.put(name, value);
        let pending = self.pending.as_ref().ok_or("not opened")?;
        let waiting = pending.get();
        let applied: Option<Vec<_>> = rules.with(|r| {
            waiting
                .iter()
                .map(|&x| apply(r, x).map(|y| (x, Some(y))))
                .collect()
        });
        if let Some(applied) = applied {
            out.extend(applied);
            pending.clear();
        }
        Ok(())
    }

    /// Numbers the rules never reached are emitted as they are, so a lost rule shows.
    fn end_of_input(
        &mut self,
        _ctx: &mut ReadOnlyContext<'_>,
        out: &mut Vec<(u64, Option<u64>)>,
    ) -> Result<(), BoxError> {
        let pending = self.pending.as_ref().ok_or("not opened")?;
        out.extend(pending.get().into_iter().map(|x| (x, None)));
        Ok(())
    }
}

#[test]
fn broadcast_rules_are_applied_to_the_main_stream_and_survive_a_restart() {
    let records = 40_000;
    let mut env = env(5, 3);
    env.set_fault_injector(fail_at("apply", 1, 15_000));
    let function = ApplyRules::default();
    let restores = function.restores.clone();
    let rules = env
        .from_vec(vec![("mult".to_string(), 3u64), ("add".to_string(), 1)])
        .uid("rules");
    let out = CommittedCollector::new();
    env.generate_sequence(0, records - 1)
        .uid("numbers")
        .connect(&rules)
        .process(function)
        .uid("apply")
        .collect_committed(&out)
        .uid("out");
    let result = env.execute().expect("the job finishes");
    assert_eq!(result.restarts.len(), 1);

    let restores = restores.lock().clone();
    assert_eq!(restores.len(), 2, "both subtasks restored: {restores:?}");
    for (subtask, rules) in &restores {
        assert_eq!(
            rules,
            &vec![("add".to_string(), 1), ("mult".to_string(), 3)],
            "subtask {subtask} restored the full rule set"
        );
    }
    let expected: Vec<(u64, Option<u64>)> = (0..records).map(|x| (x, Some(x * 3 + 1))).collect();
    assert!(
        sorted(out.records()) == expected,
        "every number transformed by both rules, exactly once"
    );
}

// ---------------------------------------------------------------------------------------------
// A state restored with another type.

#[derive(Clone, Default)]
struct Retyped;

impl CheckpointedFunction<u64, BatchOut> for Retyped {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        ctx.list_state::<String>("buffer")?;
        Ok(())
    }

    fn process_element(&mut self, _value: u64, _out: &mut Vec<BatchOut>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_state_restored_with_another_type_fails_naming_the_uid_and_the_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut first = env(3, 0);
    first
        .set_job_id("retyped")
        .set_checkpoint_dir(dir.path())
        .set_fault_injector(fail_at("batcher", 0, 8_000));
    let out = CommittedCollector::new();
    batcher_job(&first, Batcher::default(), &out);
    assert!(
        first.execute().is_err(),
        "the injected failure ends the first run"
    );

    let mut second = env(3, 0);
    second.set_job_id("retyped").set_checkpoint_dir(dir.path());
    second
        .restore_from_latest(dir.path())
        .expect("the first run left a complete checkpoint");
    numbers(&second, BATCHER_RECORDS)
        .process_with_state(Retyped)
        .uid("batcher")
        .collect_committed(&out)
        .uid("out");
    match second.execute() {
        Err(weir::Error::Job(JobError::TaskFailed(failure))) => {
            let error = &failure.error;
            assert_eq!(error.kind, TaskErrorKind::State);
            assert!(
                error.message.contains("operator \"batcher\"")
                    && error.message.contains("state \"buffer\"")
                    && error.message.contains("u64")
                    && error.message.contains("String"),
                "{}",
                error.message
            );
        }
        other => panic!("expected the restore to fail on the retyped state, got {other:?}"),
    }
}
