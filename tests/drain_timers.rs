//! A draining stop (Flink's `stop --drain`) fires every processing-time timer still pending
//! before end of input, so what waits for time is flushed into the final savepoint; a plain
//! stop-with-savepoint fires none (they stay in the savepoint, for the resumed job). Timers the
//! drained firings register are dropped with end of input. Real time: every timer is an hour
//! away, so none can fire by itself during the test.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use weir::{BoxError, KeyedContext, KeyedProcessFunction, RuntimeContext, StreamEnvironment};
use weir::{CollectHandle, ValueState};

const KEYS: u64 = 20;
const TOTAL: u64 = 3_000;
/// A key's timer is this far (ms) after its first record.
const HOUR_MS: u64 = 3_600_000;

/// Registers a timer an hour after each key's first record; a firing reports the key, the
/// timer's time and the clock when it fired, and registers the next one an hour later.
#[derive(Clone)]
struct HourlyReport {
    seen: ValueState<bool>,
    progress: Progress,
}

impl KeyedProcessFunction<u64, u64, (u64, u64, u64)> for HourlyReport {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.seen = ctx.value_state("seen")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        if self.seen.value(ctx).is_none() {
            self.seen.update(ctx, true);
            let mut timers = ctx.timer_service();
            let at = timers.current_processing_time() + HOUR_MS;
            timers.register_processing_time_timer(at);
        }
        self.progress.add(1);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        let mut timers = ctx.timer_service();
        let now = timers.current_processing_time();
        timers.register_processing_time_timer(timestamp + HOUR_MS);
        out.push((*ctx.current_key(), timestamp, now));
        Ok(())
    }
}

fn env(base: &Path) -> StreamEnvironment {
    let mut env = no_restart_env();
    env.set_parallelism(2).set_job_id("drain-timers");
    env.enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    env
}

fn job(env: &StreamEnvironment, progress: &Progress) -> CollectHandle<(u64, u64, u64)> {
    let report = HourlyReport {
        seen: ValueState::default(),
        progress: progress.clone(),
    };
    paced(env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v % KEYS)
        .process(report)
        .uid("report")
        .collect()
        .uid("out")
        .handle()
}

/// Stops the job with a savepoint (draining or not) once every key has been seen; what the
/// sink received.
fn stopped_run(drain: bool) -> Vec<(u64, u64, u64)> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let env = env(&tmp.path().join("chk"));
    let progress = Progress::default();
    let out = job(&env, &progress);
    let client = spawn_running(&env);
    // Each source subtask reads consecutive numbers: 10 rounds of keys are every key.
    progress.wait_for(KEYS * 10);
    let dir = tmp.path().join("sp");
    let stopped = match drain {
        true => block_on(client.stop_with_savepoint_and_drain(&dir)),
        false => block_on(client.stop_with_savepoint(&dir)),
    };
    stopped.unwrap_or_else(|e| panic!("drain {drain}: {e}"));
    finish(client).0.expect("the stopped job ends Finished");
    out.records()
}

#[test]
fn a_draining_stop_fires_every_pending_timer_once_and_a_plain_stop_none() {
    let fired = stopped_run(true);
    let mut per_key: BTreeMap<u64, u64> = BTreeMap::new();
    for &(key, timestamp, now) in &fired {
        *per_key.entry(key).or_default() += 1;
        assert!(
            now < timestamp,
            "key {key}: fired by the drain, an hour early (at {now} for {timestamp})"
        );
    }
    assert_eq!(
        per_key,
        (0..KEYS).map(|k| (k, 1)).collect::<BTreeMap<_, _>>(),
        "every key's pending timer fired once; the ones its firing registered were dropped"
    );
    assert!(stopped_run(false).is_empty(), "a plain stop fires no timer");
}
