//! Every kind of keyed state in one checkpointed job, killed and restored, against the
//! failure-free run; and a restore that finds a state under another kind fails the job, naming
//! the state.

mod common;

use common::kinds::{model, sorted, Average, BLOCK};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::{
    AggregatingState, BoxError, CommittedCollector, ExternalizedCheckpointRetention, KeyedContext,
    KeyedProcessFunction, ListState, MapState, ReducingState, RestartStrategyConfig,
    RuntimeContext, StreamEnvironment, ValueState,
};

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
        "ValueState<Vec<u64>>",
    ] {
        assert!(err.contains(part), "{err:?} does not name {part:?}");
    }
}
