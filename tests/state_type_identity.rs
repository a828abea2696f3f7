//! A state's recorded type identity across a restore, in whole jobs on the hashmap and the
//! RocksDB backend: a count type moved to another module restores; a count declared with an
//! explicit identity restores into a renamed type with the same identity; another identity is
//! refused with an error naming the operator and the state.

mod common;

use common::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use weir::{
    BoxError, ExternalizedCheckpointRetention, KeyedContext, KeyedProcessFunction, RuntimeContext,
    StateBackend, StreamEnvironment, ValueState,
};

const JOB: &str = "type-identity";
const TOTAL: u64 = 4_000;
const PER_KEY: u64 = 40;
const KEYS: u64 = TOTAL / PER_KEY;

/// Two count types of the same shape in different modules, and one under another name.
mod v1 {
    /// The first version's count.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    pub struct Count(pub u64);
}
mod v2 {
    /// The count, moved to another module.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    pub struct Count(pub u64);
    /// The count, renamed.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    pub struct Tally(pub u64);
}

/// A count kept in value state.
trait Count: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    fn of(n: u64) -> Self;
    fn get(&self) -> u64;
}

macro_rules! count {
    ($t:ty) => {
        impl Count for $t {
            fn of(n: u64) -> Self {
                Self(n)
            }
            fn get(&self) -> u64 {
                self.0
            }
        }
    };
}
count!(v1::Count);
count!(v2::Count);
count!(v2::Tally);

/// Counts records per key in value state "count" of `C`, declared with the explicit type
/// identity `id` if there is one; emits `(key, count)`.
struct Counting<C> {
    id: Option<&'static str>,
    count: ValueState<C>,
    progress: Progress,
}

impl<C> Clone for Counting<C> {
    fn clone(&self) -> Self {
        Counting {
            id: self.id,
            count: self.count.clone(),
            progress: self.progress.clone(),
        }
    }
}

impl<C: Count> KeyedProcessFunction<u64, u64, (u64, u64)> for Counting<C> {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.count = match self.id {
            Some(id) => ctx.with_type_id(id).value_state("count")?,
            None => ctx.value_state("count")?,
        };
        Ok(())
    }

    fn process_element(
        &mut self,
        _: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        let n = self.count.value(ctx).map_or(0, |c| c.get()) + 1;
        self.count.update(ctx, C::of(n));
        out.push((*ctx.current_key(), n));
        self.progress.add(1);
        Ok(())
    }
}

fn counting<C: Count>(id: Option<&'static str>, progress: &Progress) -> Counting<C> {
    Counting {
        id,
        count: ValueState::default(),
        progress: progress.clone(),
    }
}

/// Deterministic at parallelism 2 with `backend`, checkpoints into `dir` retained.
fn env(dir: &Path, backend: StateBackend) -> StreamEnvironment {
    let mut env = deterministic_env(17);
    env.set_parallelism(2)
        .set_job_id(JOB)
        .set_state_backend(backend)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir);
    let cp = env.checkpoint_config_mut();
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// A run counting `0..TOTAL` per key with `C` declared under `id` that completes checkpoint 1
/// part way and is cancelled; returns the checkpoint's directory.
fn checkpointed_run<C: Count>(
    dir: &Path,
    backend: StateBackend,
    id: Option<&'static str>,
) -> PathBuf {
    let env = env(dir, backend);
    let progress = Progress::default();
    let _out = paced(&env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v / PER_KEY)
        .process(counting::<C>(id, &progress))
        .uid("counter")
        .collect();
    let client = spawn_running(&env);
    progress.wait_for(TOTAL / 4);
    assert_eq!(trigger(&client).map(|s| s.id), Ok(1));
    client.cancel();
    let _ = finish(client);
    dir.join(JOB).join("chk-1")
}

/// Restores `checkpoint` into a job declaring the count as `C` under `id`, feeding one more
/// record to every key; returns each key's count after it, or the job's error.
fn restored<C: Count>(
    checkpoint: &Path,
    dir: &Path,
    backend: StateBackend,
    id: Option<&'static str>,
) -> Result<BTreeMap<u64, u64>, String> {
    let mut env = env(dir, backend);
    env.set_allow_non_restored_state(true);
    env.restore_from_checkpoint(checkpoint)
        .expect("the checkpoint loads");
    let out = env
        .from_vec((0..KEYS).map(|k| k * PER_KEY).collect())
        .uid("more")
        .key_by(|v| v / PER_KEY)
        .process(counting::<C>(id, &Progress::default()))
        .uid("counter")
        .collect();
    env.execute().map_err(|e| e.to_string())?;
    Ok(out.records().into_iter().collect())
}

/// The counts restored with the first run's own declaration: every key present, and at least
/// the records before the checkpoint counted.
fn baseline<C: Count>(
    checkpoint: &Path,
    dir: &Path,
    backend: StateBackend,
    id: Option<&'static str>,
) -> BTreeMap<u64, u64> {
    let counts = restored::<C>(checkpoint, dir, backend, id).expect("the same declaration");
    assert_eq!(counts.len() as u64, KEYS);
    let before: u64 = counts.values().map(|n| n - 1).sum();
    assert!(
        before >= TOTAL / 4,
        "only {before} records' counts were restored"
    );
    counts
}

fn assert_names(error: &str, parts: &[&str]) {
    for part in parts {
        assert!(error.contains(part), "{error:?} does not name {part:?}");
    }
}

/// A count of `v1::Count` restores as `v2::Count` (the type moved); declaring it with an
/// explicit identity the checkpoint does not have is refused.
fn a_moved_type_restores(backend: fn() -> StateBackend) {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = checkpointed_run::<v1::Count>(&tmp.path().join("first"), backend(), None);
    let same = baseline::<v1::Count>(&checkpoint, &tmp.path().join("same"), backend(), None);
    let moved = restored::<v2::Count>(&checkpoint, &tmp.path().join("moved"), backend(), None);
    assert_eq!(moved, Ok(same));

    let with_id = restored::<v2::Count>(
        &checkpoint,
        &tmp.path().join("with-id"),
        backend(),
        Some("count/v1"),
    );
    let e = with_id.expect_err("the checkpoint has the type's own identity");
    assert_names(
        &e,
        &[
            "counter",
            "\"count\"",
            "ValueState<Count>",
            "ValueState<count/v1>",
        ],
    );
}

/// A count declared with id `count/v1` restores into `v2::Tally` under the same id, and is
/// refused under `count/v2`.
fn an_explicit_id_decides(backend: fn() -> StateBackend) {
    let tmp = tempfile::tempdir().unwrap();
    let id = Some("count/v1");
    let checkpoint = checkpointed_run::<v1::Count>(&tmp.path().join("first"), backend(), id);
    let same = baseline::<v1::Count>(&checkpoint, &tmp.path().join("same"), backend(), id);
    let renamed = restored::<v2::Tally>(&checkpoint, &tmp.path().join("renamed"), backend(), id);
    assert_eq!(renamed, Ok(same));

    let changed = restored::<v2::Tally>(
        &checkpoint,
        &tmp.path().join("changed"),
        backend(),
        Some("count/v2"),
    );
    let e = changed.expect_err("another id");
    assert_names(
        &e,
        &[
            "counter",
            "\"count\"",
            "ValueState<count/v1>",
            "ValueState<count/v2>",
        ],
    );
}

#[test]
fn hashmap_a_type_moved_to_another_module_restores() {
    a_moved_type_restores(|| StateBackend::HashMap);
}

#[test]
fn rocksdb_a_type_moved_to_another_module_restores() {
    a_moved_type_restores(StateBackend::rocksdb);
}

#[test]
fn hashmap_an_explicit_type_id_restores_a_renamed_type_and_refuses_another_id() {
    an_explicit_id_decides(|| StateBackend::HashMap);
}

#[test]
fn rocksdb_an_explicit_type_id_restores_a_renamed_type_and_refuses_another_id() {
    an_explicit_id_decides(StateBackend::rocksdb);
}
