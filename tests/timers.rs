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

/// Emits each event at its poll (one poll per millisecond of processing time in deterministic
/// mode), then finishes after `end` polls. Its position is the number of polls made.
struct AtPolls {
    events: Arc<Vec<(u64, Rec)>>,
    end: u64,
    poll: u64,
}

impl SourceReader<Rec> for AtPolls {
    fn read(&mut self, _max: usize, out: &mut Vec<Rec>) -> Result<SourceStatus, BoxError> {
        if self.poll >= self.end {
            return Ok(SourceStatus::Finished);
        }
        let now = self.poll;
        out.extend(
            self.events
                .iter()
                .filter(|(at, _)| *at == now)
                .map(|(_, r)| *r),
        );
        self.poll += 1;
        Ok(SourceStatus::Idle)
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(postcard::to_allocvec(&self.poll)?)
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.poll = postcard::from_bytes(position)?;
        Ok(())
    }
}

/// A record asking to stamp a TTL state and register a timer 2 s later; `(REGISTER, poll)`.
const REGISTER: u64 = 0;
/// A record asking what the clock reads and whether the stamp lives; `(PROBE, poll)`.
const PROBE: u64 = 1;
/// What [`Clocked`] reports: `(REGISTERED | PROBED | FIRED, the record's poll, processing
/// time, detail)`, the detail being the timer's time, whether the stamp lives (0 or 1), or the
/// fired timer's time.
type Report = (u8, u64, u64, u64);
const REGISTERED: u8 = 0;
const PROBED: u8 = 1;
const FIRED: u8 = 2;

/// Stamps a value with a 1 s time-to-live and registers a timer 2 s ahead; reports the clock.
#[derive(Clone, Default)]
struct Clocked {
    stamped: ValueState<u64>,
}

impl KeyedProcessFunction<u64, Rec, Report> for Clocked {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        let ttl = weir::StateTtlConfig::new(Duration::from_millis(1000));
        self.stamped = ctx.with_ttl(ttl).value_state("stamped")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<Report>,
    ) -> Result<(), BoxError> {
        let now = ctx.timer_service().current_processing_time();
        if value.0 == REGISTER {
            self.stamped.update(ctx, now);
            ctx.timer_service()
                .register_processing_time_timer(now + 2000);
            out.push((REGISTERED, value.1, now, now + 2000));
        } else {
            let lives = self.stamped.value(ctx).is_some();
            out.push((PROBED, value.1, now, u64::from(lives)));
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<Report>,
    ) -> Result<(), BoxError> {
        let now = ctx.timer_service().current_processing_time();
        out.push((FIRED, 0, now, timestamp));
        Ok(())
    }
}

/// The clock job in `dir`: a register at poll 5, probes at `probes`, 2 100 polls in all.
fn clock_job(
    dir: &std::path::Path,
    probes: &[u64],
) -> (StreamEnvironment, weir::CollectSink<Report>) {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(1)
        .set_batch_size(16)
        .set_deterministic(3)
        .set_job_id("clock")
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(dir)
        .set_restart_strategy(RestartStrategyConfig::NoRestart);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    let mut events = vec![(5, (REGISTER, 5))];
    events.extend(probes.iter().map(|&p| (p, (PROBE, p))));
    let events = Arc::new(events);
    let out = env
        .add_source_reader("Polls", move |_| {
            Ok(AtPolls {
                events: events.clone(),
                end: 2_100,
                poll: 0,
            })
        })
        .uid("polls")
        .key_by(|_: &Rec| 0u64)
        .process(Clocked::default())
        .uid("clocked")
        .collect();
    (env, out)
}

#[test]
fn after_a_restore_from_an_earlier_run_timers_fire_and_state_expires_at_their_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Probes around the TTL (1 s after poll 5) and the timer (2 s after poll 5).
    let probes = [500, 990, 1_020, 1_990, 2_020];
    let (mut first, first_out) = clock_job(dir.path(), &probes);
    // The first run dies at its second record (the probe at poll 500), long after checkpoints
    // holding the stamp and the timer completed.
    first.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("clocked", 0),
        record: 2,
    }));
    assert!(
        first.execute().is_err(),
        "the injected failure ends the first run"
    );
    let registered = first_out.records();
    let (_, poll, stamp, timer) = registered[0];
    assert_eq!((registered.len(), poll), (1, 5), "{registered:?}");
    // Processing time minus the source's polls, in the first run.
    let offset = stamp as i64 - poll as i64;

    let (mut second, second_out) = clock_job(dir.path(), &probes);
    second
        .restore_from_latest(dir.path())
        .expect("a checkpoint completed");
    second.execute().expect("the restored run finishes");
    let reports = second_out.records();
    let probed: Vec<&Report> = reports.iter().filter(|r| r.0 == PROBED).collect();
    assert_eq!(probed.len(), probes.len(), "{reports:?}");
    for (_, poll, now, _) in &probed {
        let drift = *now as i64 - *poll as i64 - offset;
        assert!(
            drift.abs() <= 2,
            "processing time continues from the checkpoint: {reports:?}"
        );
    }
    let lives = |at: u64| probed.iter().find(|r| r.1 == at).map(|r| r.3);
    assert_eq!(lives(990), Some(1), "985 ms after its stamp: {reports:?}");
    assert_eq!(
        lives(1_020),
        Some(0),
        "1 015 ms after its stamp: {reports:?}"
    );
    let fired: Vec<&Report> = reports.iter().filter(|r| r.0 == FIRED).collect();
    assert_eq!(fired.len(), 1, "{reports:?}");
    let (_, _, at, timestamp) = *fired[0];
    assert_eq!(timestamp, timer);
    assert!(
        at >= timestamp && at <= timestamp + 1,
        "fires at its time: {reports:?}"
    );
    let position = |r: &Report| reports.iter().position(|x| x == r).expect("reported");
    let probe_at = |at: u64| position(probed.iter().find(|r| r.1 == at).expect("probed"));
    let (before, after) = (probe_at(1_990), probe_at(2_020));
    let firing = position(fired[0]);
    assert!(
        before < firing && firing < after,
        "between the probes around it: {reports:?}"
    );
}
