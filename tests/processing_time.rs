//! Processing time is continuous across restores: a job started from a checkpoint of an
//! earlier run continues its clock from the checkpoint, so a restored timer fires at its time and
//! a restored time-to-live stamp keeps its age. Deterministic mode: the clock is virtual time and
//! each source poll takes 1 ms of it.

use std::sync::Arc;
use std::time::Duration;
use weir::runtime::graph::task::SourceStatus;
use weir::source::SourceReader;
use weir::{
    BoxError, ExternalizedCheckpointRetention, Fault, FaultInjector, KeyedContext,
    KeyedProcessFunction, RestartStrategyConfig, RuntimeContext, StreamEnvironment, Target,
    ValueState,
};

/// A record: (what it asks for, the poll it was read at).
type Rec = (u64, u64);

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
