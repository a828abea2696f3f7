//! Processing-time timers follow their key groups across a rescale: a job at parallelism 2 or 4
//! registers one timer per key (1 s of job time after the key's first record), a checkpoint is
//! taken before any of them fires, and a restore at 1, 3 and 7 (and at the old parallelism) fires
//! every key's timer exactly once, at its time, in the subtask that owns the key's key group now,
//! with the key's restored count: none lost, none twice. HashMap and RocksDB backends. A
//! rescaled run checkpoints the timers it restored again: 2 → 3 → 7 fires each once too.
//!
//! Everything runs in deterministic mode, so the checkpoint (periodic, every 300 ms of job time)
//! is taken at the same job time in every run, well before the timers (at about 1 000 ms).

mod common;

use common::phased::{phased, Phases};
use common::*;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::runtime::graph::key_group::{assign_to_key_group, operator_index_for_key_group};
use weir::{
    BoxError, CheckpointStatus, ExternalizedCheckpointRetention, KeyedContext,
    KeyedProcessFunction, Operator, RuntimeContext, StateBackend, StreamEnvironment, TaskError,
    ValueState,
};

const JOB: &str = "rescale-timers";
const KEYS: u64 = 96;
/// A key's timer fires this long (job time, ms) after its first record.
const DELAY: u64 = 1_000;
/// The periodic checkpoint interval: checkpoint 1 is taken at 300 ms of job time.
const INTERVAL: Duration = Duration::from_millis(300);
/// The max parallelism every run derives (Flink's default for parallelism up to 85).
const MAX_PARALLELISM: u32 = 128;

/// A record: (key, value).
type Rec = (u64, u64);

/// How many records key `key` gets: 1 to 5, so a restored count tells keys apart.
fn records_of(key: u64) -> u64 {
    1 + key % 5
}

/// Every key's records, all keys' first records first.
fn input() -> Vec<Rec> {
    let mut records = Vec::new();
    for round in 0..5 {
        records.extend(
            (0..KEYS)
                .filter(|&k| round < records_of(k))
                .map(|k| (k, round)),
        );
    }
    records
}

/// A timer firing as the job reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Fired {
    key: u64,
    /// The key's count when its timer fired.
    count: u64,
    /// The time the timer was registered for.
    timestamp: u64,
    /// The job clock when it fired.
    at: u64,
    /// The subtask it fired in (set by [`Tag`]).
    subtask: u32,
}

/// Counts each key's records; registers one timer per key, `DELAY` after its first record;
/// a firing reports the key's count.
#[derive(Clone, Default)]
struct CountThenFire {
    count: ValueState<u64>,
}

impl KeyedProcessFunction<u64, Rec, Fired> for CountThenFire {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.count = ctx.value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        _out: &mut Vec<Fired>,
    ) -> Result<(), BoxError> {
        if *self.count.modify(ctx, || 0, |n| *n += 1) == 1 {
            let mut timers = ctx.timer_service();
            let at = timers.current_processing_time() + DELAY;
            timers.register_processing_time_timer(at);
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
            count: self.count.value(ctx).unwrap_or(0),
            timestamp,
            at: ctx.timer_service().current_processing_time(),
            subtask: u32::MAX,
        });
        Ok(())
    }
}

/// The firings a run's [`Tag`] subtasks saw, and how many.
#[derive(Clone, Default)]
struct Seen {
    firings: Arc<Mutex<Vec<Fired>>>,
    count: Progress,
}

impl Seen {
    /// Every firing seen, sorted.
    fn sorted(&self) -> Vec<Fired> {
        let mut firings = self.firings.lock().clone();
        firings.sort();
        firings
    }
}

/// Stamps each firing with the index of the subtask it runs in and keeps it in [`Seen`];
/// forward-connected to the timed operator, so that is the index of the subtask the timer
/// fired in.
struct Tag {
    subtask: u32,
    seen: Seen,
}

impl Operator<Fired, Fired> for Tag {
    fn process_batch(&mut self, input: Vec<Fired>, _out: &mut Vec<Fired>) -> Result<(), BoxError> {
        let n = input.len() as u64;
        self.seen
            .firings
            .lock()
            .extend(input.into_iter().map(|f| Fired {
                subtask: self.subtask,
                ..f
            }));
        self.seen.count.add(n);
        Ok(())
    }
}

/// Deterministic at `parallelism` with `backend`, checkpoints into `dir`, every one retained.
fn env(
    dir: &Path,
    parallelism: u32,
    backend: StateBackend,
    interval: Duration,
) -> StreamEnvironment {
    let mut env = deterministic_env(3);
    env.set_parallelism(parallelism)
        .set_job_id(JOB)
        .set_state_backend(backend)
        .enable_checkpointing(interval)
        .set_checkpoint_dir(dir);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = 100;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// The job at `parallelism`: `script` (at most 2 source subtasks) keyed into [`CountThenFire`]
/// (uid `timed`), its firings tagged into the returned [`Seen`].
fn job(env: &StreamEnvironment, parallelism: u32, source: &str, script: &Arc<Phases<Rec>>) -> Seen {
    let seen = Seen::default();
    let tagged = seen.clone();
    phased(env, source, script)
        .set_parallelism(parallelism.min(2))
        .key_by(|r: &Rec| r.0)
        .process(CountThenFire::default())
        .uid("timed")
        .forward()
        .transform("Tag", move |info| {
            Ok::<_, TaskError>(Tag {
                subtask: info.subtask.index,
                seen: tagged.clone(),
            })
        })
        .uid("tag")
        .discard()
        .uid("out");
    seen
}

/// A run at `parallelism` checkpointing every 300 ms of job time, until every timer fired; then
/// it is cancelled. Without `from` it reads every key's records; restored from `from` it reads
/// nothing (the old source's positions are dropped). Returns its first completed checkpoint's
/// directory (taken before any timer fired) and the firings.
fn run_until_fired(
    dir: &Path,
    parallelism: u32,
    backend: StateBackend,
    from: Option<&Path>,
) -> (PathBuf, Vec<Fired>) {
    let mut env = env(dir, parallelism, backend, INTERVAL);
    let (source, records) = match from {
        None => ("script", vec![input()]),
        Some(checkpoint) => {
            env.set_allow_non_restored_state(true);
            env.restore_from_checkpoint(checkpoint)
                .expect("the checkpoint loads");
            ("idle", Vec::new())
        }
    };
    let seen = job(&env, parallelism, source, &Phases::endless(records));
    let client = spawn_running(&env);
    seen.count.wait_for(KEYS);
    client.cancel();
    let (_, stats) = finish(client);
    let first = stats.first().map(|s| (s.id, s.status.clone()));
    let Some((id, CheckpointStatus::Completed)) = first else {
        panic!("the first checkpoint did not complete: {first:?}");
    };
    (dir.join(JOB).join(format!("chk-{id}")), seen.sorted())
}

/// Restores `checkpoint` at `parallelism` with an input of no record (the old source's
/// positions are dropped) that lasts 1.5 s of job time; returns the firings, sorted.
fn restored_run(
    checkpoint: &Path,
    dir: &Path,
    parallelism: u32,
    backend: StateBackend,
) -> Vec<Fired> {
    let mut env = env(dir, parallelism, backend, MANUAL_ONLY);
    env.set_allow_non_restored_state(true);
    env.restore_from_checkpoint(checkpoint)
        .expect("the checkpoint loads");
    let script = Phases::lingering(Vec::new(), 1_500);
    let seen = job(&env, parallelism, "idle", &script);
    env.execute().expect("the restored run finishes");
    seen.sorted()
}

/// Every key fired exactly once, at its time, in the subtask of `parallelism` that owns its
/// key group, with its full count.
fn assert_each_key_fired_once_in_its_owner(firings: &[Fired], parallelism: u32, what: &str) {
    let keys: Vec<u64> = firings.iter().map(|f| f.key).collect();
    assert_eq!(
        keys,
        (0..KEYS).collect::<Vec<_>>(),
        "{what}: one firing per key"
    );
    for f in firings {
        let group = assign_to_key_group(&f.key, MAX_PARALLELISM);
        let owner = operator_index_for_key_group(MAX_PARALLELISM, parallelism, group);
        assert_eq!(f.subtask, owner, "{what}: key {} fired in its owner", f.key);
        assert_eq!(f.count, records_of(f.key), "{what}: key {}'s count", f.key);
        assert!(
            f.timestamp >= DELAY && f.at >= f.timestamp && f.at <= f.timestamp + 20,
            "{what}: fires at its time: {f:?}"
        );
    }
}

/// Checkpoints at 2 and at 4, restores at 1, 3, 7 and at the old parallelism.
fn timers_follow_their_key_groups(backend: fn() -> StateBackend) {
    for old in [2, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let first = tmp.path().join("first");
        let (checkpoint, reference) = run_until_fired(&first, old, backend(), None);
        assert_each_key_fired_once_in_its_owner(&reference, old, "the first run");
        // Where and when each key's timer is due: the same after any restore.
        let due: BTreeMap<u64, u64> = reference.iter().map(|f| (f.key, f.timestamp)).collect();
        for new in [1, 3, 7, old] {
            let what = format!("checkpoint at {old}, restored at {new}");
            let dir = tmp.path().join(format!("p{new}"));
            let firings = restored_run(&checkpoint, &dir, new, backend());
            assert_each_key_fired_once_in_its_owner(&firings, new, &what);
            let restored_due: BTreeMap<u64, u64> =
                firings.iter().map(|f| (f.key, f.timestamp)).collect();
            assert_eq!(restored_due, due, "{what}: the restored timers' times");
        }
    }
}

#[test]
fn hashmap_timers_fire_once_in_the_subtask_owning_their_key_after_a_rescale() {
    timers_follow_their_key_groups(|| StateBackend::HashMap);
}

#[test]
fn rocksdb_timers_fire_once_in_the_subtask_owning_their_key_after_a_rescale() {
    timers_follow_their_key_groups(StateBackend::rocksdb);
}

/// Timers a rescaled run restored are in its own checkpoints: 2 → 3 (checkpointed before any
/// timer fired) → 7 fires every key's timer once, in its owner, at its first run's time.
#[test]
fn timers_restored_by_a_rescale_are_checkpointed_again() {
    for backend in [StateBackend::HashMap, StateBackend::rocksdb()] {
        let tmp = tempfile::tempdir().unwrap();
        let at = |name: &str| tmp.path().join(name);
        let (first, reference) = run_until_fired(&at("first"), 2, backend.clone(), None);
        let (second, firings) = run_until_fired(&at("second"), 3, backend.clone(), Some(&first));
        assert_each_key_fired_once_in_its_owner(&firings, 3, "2 → 3");
        let firings = restored_run(&second, &at("third"), 7, backend);
        assert_each_key_fired_once_in_its_owner(&firings, 7, "2 → 3 → 7");
        let due = |f: &[Fired]| f.iter().map(|f| (f.key, f.timestamp)).collect::<Vec<_>>();
        assert_eq!(
            due(&firings),
            due(&reference),
            "2 → 3 → 7: the timers' times"
        );
    }
}
