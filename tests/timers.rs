//! Keyed processing-time timers: they fire once, at their time, with their key's state; deleting
//! prevents them; a (key, time) is one timer; they fire in timestamp order; they are checkpointed
//! and restored; an idle job still fires them. Every test runs in deterministic mode, so the job
//! clock is virtual time (each source poll takes 1 ms of it).

use std::sync::Arc;
use std::time::Duration;
use weir::runtime::graph::task::SourceStatus;
use weir::source::SourceReader;
use weir::{
    BoxError, CommittedCollector, DataStream, ExternalizedCheckpointRetention, Fault,
    FaultInjector, KeyedContext, KeyedProcessFunction, RestartStrategyConfig, RuntimeContext,
    StreamEnvironment, Target, ValueState,
};

/// A record: (key, value).
type Rec = (u64, u64);

/// Emits its share of `records` (`per_poll` at a time, one poll per millisecond), then stays idle
/// for `idle_polls` polls, then finishes. Its position is checkpointed.
struct ScriptReader {
    records: Vec<Rec>,
    per_poll: usize,
    idle_polls: u64,
    next: usize,
    idled: u64,
}

impl SourceReader<Rec> for ScriptReader {
    fn read(&mut self, _max: usize, out: &mut Vec<Rec>) -> Result<SourceStatus, BoxError> {
        if self.next < self.records.len() {
            let end = (self.next + self.per_poll).min(self.records.len());
            out.extend_from_slice(&self.records[self.next..end]);
            self.next = end;
            return Ok(SourceStatus::Idle);
        }
        if self.idled < self.idle_polls {
            self.idled += 1;
            return Ok(SourceStatus::Idle);
        }
        Ok(SourceStatus::Finished)
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(postcard::to_allocvec(&(self.next as u64, self.idled))?)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        let (next, idled): (u64, u64) = postcard::from_bytes(position)?;
        self.next = usize::try_from(next)?;
        self.idled = idled;
        Ok(())
    }
}

/// A source of `records`, split round-robin over its subtasks.
fn script(
    env: &StreamEnvironment,
    records: Vec<Rec>,
    per_poll: usize,
    idle_polls: u64,
) -> DataStream<Rec> {
    let records = Arc::new(records);
    env.add_source_reader("Script", move |info| {
        let s = &info.subtask;
        let mine = records
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 % s.parallelism == s.index)
            .map(|(_, r)| *r)
            .collect();
        Ok(ScriptReader {
            records: mine,
            per_poll,
            idle_polls,
            next: 0,
            idled: 0,
        })
    })
    .uid("script")
}

fn env(parallelism: u32) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(parallelism)
        .set_batch_size(16)
        .set_deterministic(7);
    env
}

/// What a firing reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Fired {
    key: u64,
    timestamp: u64,
    /// The fired key's state when it fired.
    state: u64,
    /// The job clock when it fired.
    at: u64,
}

/// Added to a time to ask for the deletion of the timer at that time.
const DELETE: u64 = 1_000_000;

/// The action a record asks for.
#[derive(Clone, Copy)]
enum Action {
    /// Add the value to the key's sum and register a timer 100 ms from now.
    SumThenIn100,
    /// Register a timer at the value (job-clock ms), counting registrations in the state.
    RegisterAt,
    /// Delete the timer at the value minus [`DELETE`].
    DeleteAt,
}

#[derive(Clone)]
struct Timed {
    action: fn(&Rec) -> Action,
    state: ValueState<u64>,
}

impl Timed {
    fn new(action: fn(&Rec) -> Action) -> Self {
        Timed {
            action,
            state: ValueState::default(),
        }
    }
}

impl KeyedProcessFunction<u64, Rec, Fired> for Timed {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.state = ctx.value_state("state")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Vec<Fired>,
    ) -> Result<(), BoxError> {
        match (self.action)(&value) {
            Action::SumThenIn100 => {
                self.state.modify(ctx, || 0, |s| *s += value.1);
                let mut timers = ctx.timer_service();
                let at = timers.current_processing_time() + 100;
                timers.register_processing_time_timer(at);
            }
            Action::RegisterAt => {
                self.state.modify(ctx, || 0, |s| *s += 1);
                ctx.timer_service().register_processing_time_timer(value.1);
            }
            Action::DeleteAt => ctx
                .timer_service()
                .delete_processing_time_timer(value.1 - DELETE),
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<Fired>,
    ) -> Result<(), BoxError> {
        out.push(Fired {
            key: *ctx.current_key(),
            timestamp,
            state: self.state.value(ctx).unwrap_or(0),
            at: ctx.timer_service().current_processing_time(),
        });
        Ok(())
    }
}

/// Runs `records` through [`Timed`] and returns the firings in the order they were collected.
fn run(
    parallelism: u32,
    records: Vec<Rec>,
    per_poll: usize,
    action: fn(&Rec) -> Action,
) -> Vec<Fired> {
    let env = env(parallelism);
    let fired = script(&env, records, per_poll, 600)
        .key_by(|r: &Rec| r.0)
        .process(Timed::new(action))
        .uid("timed")
        .set_parallelism(1)
        .collect();
    env.execute().expect("the job runs");
    fired.records()
}

#[test]
fn a_timer_fires_once_at_its_time_with_its_key_and_the_keys_state() {
    let records: Vec<Rec> = (0..6).map(|k| (k, 10 * k + 1)).collect();
    let mut fired = run(2, records, 1, |_| Action::SumThenIn100);
    fired.sort();
    assert_eq!(fired.len(), 6, "one firing per key: {fired:?}");
    for (k, f) in fired.iter().enumerate() {
        assert_eq!(f.key, k as u64);
        assert_eq!(f.state, 10 * f.key + 1, "the fired key's state");
        assert!(f.timestamp >= 100, "registered 100 ms after a record");
        assert!(
            f.at >= f.timestamp && f.at <= f.timestamp + 2,
            "fires at its time: {f:?}"
        );
    }
}

#[test]
fn a_deleted_timer_never_fires() {
    // Every key registers a timer at 200 + key; odd keys delete theirs again.
    let mut records: Vec<Rec> = (0..8).map(|k| (k, 200 + k)).collect();
    records.extend((0..8).filter(|k| k % 2 == 1).map(|k| (k, DELETE + 200 + k)));
    let fired = run(1, records, 1, |r| match r.1 >= DELETE {
        true => Action::DeleteAt,
        false => Action::RegisterAt,
    });
    let keys: Vec<u64> = {
        let mut k: Vec<u64> = fired.iter().map(|f| f.key).collect();
        k.sort_unstable();
        k
    };
    assert_eq!(keys, vec![0, 2, 4, 6]);
}

#[test]
fn registering_a_key_and_time_twice_is_one_timer() {
    // Each key registers a timer at 300 three times.
    let records: Vec<Rec> = (0..3).flat_map(|_| (0..4).map(|k| (k, 300))).collect();
    let mut fired = run(2, records, 2, |_| Action::RegisterAt);
    fired.sort();
    assert_eq!(fired.len(), 4, "one firing per key: {fired:?}");
    for f in &fired {
        assert_eq!((f.timestamp, f.state), (300, 3));
    }
}

#[test]
fn timers_fire_in_timestamp_order() {
    // All registered in one batch: ten already past (fired together, in one round) and forty
    // in the future, in shuffled order over several keys.
    let mut records: Vec<Rec> = (0..10u64).map(|i| (i % 3, (i * 7) % 10)).collect();
    records.extend((0..40u64).map(|i| (i % 5, 100 + (i * 17) % 40 * 5)));
    let fired = run(1, records, 64, |_| Action::RegisterAt);
    assert_eq!(fired.len(), 50);
    let times: Vec<u64> = fired.iter().map(|f| f.timestamp).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "timers fire in timestamp order");
}

/// Counts each key's firings; a firing reports (key, timestamp, the key's count so far).
#[derive(Clone, Default)]
struct CountFirings {
    fired: ValueState<u64>,
}

impl KeyedProcessFunction<u64, Rec, (u64, u64, u64)> for CountFirings {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.fired = ctx.value_state("fired")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        ctx.timer_service().register_processing_time_timer(value.1);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        let n = *self.fired.modify(ctx, || 0, |n| *n += 1);
        out.push((*ctx.current_key(), timestamp, n));
        Ok(())
    }
}

/// 400 records, each registering a timer at 150 + its index, over about 100 ms; the source then
/// idles for 1.5 s so every timer fires before end of input.
fn restorable_job(seed: u64, out: &CommittedCollector<(u64, u64, u64)>) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(16)
        .set_deterministic(seed)
        .enable_checkpointing(Duration::from_millis(20));
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    let records: Vec<Rec> = (0..400).map(|i| (i % 13, 150 + i)).collect();
    script(&env, records, 2, 1500)
        .key_by(|r: &Rec| r.0)
        .process(CountFirings::default())
        .uid("timed")
        .collect_committed(out)
        .uid("out");
    env
}

#[test]
fn timers_survive_a_failure_and_the_output_equals_the_failure_free_run() {
    let expected = {
        let out = CommittedCollector::new();
        restorable_job(1, &out).execute().expect("failure-free run");
        let mut v = out.records();
        v.sort_unstable();
        v
    };
    assert_eq!(expected.len(), 400, "every timer fires once");

    let out = CommittedCollector::new();
    let mut env = restorable_job(1, &out);
    // Restarted 200 ms later, so timers restored from the checkpoint are already due.
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 3,
        delay: Duration::from_millis(200),
    });
    env.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("timed", 0),
        record: 100,
    }));
    let result = env.execute().expect("the job finishes after one restart");
    assert_eq!(result.restarts.len(), 1);
    let mut got = out.records();
    got.sort_unstable();
    assert!(got == expected, "output differs from the failure-free run");
}

/// Registers a timer 250 ms after its record; each firing registers the next, 50 ms later, five
/// times per key.
#[derive(Clone, Default)]
struct Ticker {
    ticks: ValueState<u64>,
}

impl KeyedProcessFunction<u64, Rec, (u64, u64)> for Ticker {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.ticks = ctx.value_state("ticks")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        let mut timers = ctx.timer_service();
        let at = timers.current_processing_time() + 250;
        timers.register_processing_time_timer(at);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        let n = *self.ticks.modify(ctx, || 0, |n| *n += 1);
        out.push((*ctx.current_key(), timestamp));
        if n < 5 {
            ctx.timer_service()
                .register_processing_time_timer(timestamp + 50);
        }
        Ok(())
    }
}

#[test]
fn an_idle_job_fires_timers_as_time_passes() {
    let env = env(2);
    let ticks = script(&env, vec![(1, 0), (2, 0)], 2, 1000)
        .key_by(|r: &Rec| r.0)
        .process(Ticker::default())
        .uid("ticker")
        .collect();
    env.execute().expect("the job runs");
    for key in [1, 2] {
        let times: Vec<u64> = ticks
            .records()
            .into_iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(times.len(), 5, "five ticks of key {key}: {times:?}");
        assert!(times.windows(2).all(|w| w[1] == w[0] + 50));
    }
}
