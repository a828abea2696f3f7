//! Operator state restored at another parallelism: list state split evenly (each subtask its
//! own list at the same parallelism), every element in exactly one subtask; union list state whole in every subtask (Flink's redistribution rules).

mod common;

use common::*;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir::state::operator::{ListState, UnionListState};
use weir::{
    BoxError, CheckpointedFunction, ExternalizedCheckpointRetention, OperatorStateContext,
    StreamEnvironment,
};

const JOB: &str = "rescale-operator-state";
const TOTAL: u64 = 8_000;

/// What a subtask found when it opened after a restore: (subtask, list share, union).
type Restored = Arc<Mutex<Vec<(u32, Vec<u64>, Vec<u64>)>>>;

/// Keeps every value it sees in a list state and in a union list state.
#[derive(Clone, Default)]
struct Keeper {
    list: Option<ListState<u64>>,
    union: Option<UnionListState<u64>>,
    progress: Progress,
    restored: Restored,
}

impl CheckpointedFunction<u64, u64> for Keeper {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        let list = ctx.list_state::<u64>("kept")?;
        let union = ctx.union_list_state::<u64>("everywhere")?;
        if ctx.is_restored() {
            let mut share = list.get();
            share.sort();
            let mut all = union.get();
            all.sort();
            self.restored.lock().push((ctx.subtask_index(), share, all));
        }
        self.list = Some(list);
        self.union = Some(union);
        Ok(())
    }

    fn process_element(&mut self, value: u64, _out: &mut Vec<u64>) -> Result<(), BoxError> {
        self.list.as_ref().ok_or("not opened")?.add(value);
        self.union.as_ref().ok_or("not opened")?.add(value);
        self.progress.add(1);
        Ok(())
    }
}

fn env(dir: &Path, parallelism: u32) -> StreamEnvironment {
    let mut env = deterministic_env(5);
    env.set_parallelism(parallelism)
        .set_job_id(JOB)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// Runs at `parallelism` until a quarter of the input is kept, checkpoints, cancels; returns
/// the checkpoint's directory.
fn checkpointed_run(dir: &Path, parallelism: u32) -> PathBuf {
    let env = env(dir, parallelism);
    let keeper = Keeper::default();
    let progress = keeper.progress.clone();
    paced(&env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v % 16)
        .process_with_state(keeper)
        .uid("keeper")
        .discard()
        .uid("out");
    let client = spawn_running(&env);
    progress.wait_for(TOTAL / 4);
    assert_eq!(trigger(&client).map(|s| s.id), Ok(1));
    client.cancel();
    let _ = finish(client);
    dir.join(JOB).join("chk-1")
}

/// What each subtask of a restore of `checkpoint` at `parallelism` found, by subtask.
fn restore(checkpoint: &Path, dir: &Path, parallelism: u32) -> Vec<(u32, Vec<u64>, Vec<u64>)> {
    let mut env = env(dir, parallelism);
    env.set_allow_non_restored_state(true); // the old source's positions
    env.restore_from_checkpoint(checkpoint)
        .expect("the checkpoint loads");
    let keeper = Keeper::default();
    let restored = keeper.restored.clone();
    env.from_vec(Vec::<u64>::new())
        .uid("nothing")
        .key_by(|v| v % 16)
        .process_with_state(keeper)
        .uid("keeper")
        .discard()
        .uid("out");
    env.execute().expect("the restored run finishes");
    let mut found = restored.lock().clone();
    found.sort();
    found
}

#[test]
fn list_state_is_split_evenly_and_union_state_reaches_every_subtask_at_any_parallelism() {
    for old in [2, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let checkpoint = checkpointed_run(&tmp.path().join("first"), old);
        // What the checkpoint holds: every old subtask's list, as a restore at `old` finds it.
        let same = restore(&checkpoint, &tmp.path().join("same"), old);
        let mut kept: Vec<u64> = same.iter().flat_map(|(_, l, _)| l.clone()).collect();
        kept.sort();
        assert!(kept.len() as u64 >= TOTAL / 4, "only {} kept", kept.len());
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "a value kept twice");
        for new in [1, 2, 3, 4, 7] {
            let found = restore(&checkpoint, &tmp.path().join(format!("p{new}")), new);
            let what = format!("checkpoint at {old}, restored at {new}");
            let indices: Vec<u32> = found.iter().map(|(i, _, _)| *i).collect();
            assert_eq!(indices, (0..new).collect::<Vec<_>>(), "{what}");
            let mut shares: Vec<u64> = found.iter().flat_map(|(_, l, _)| l.clone()).collect();
            shares.sort();
            assert_eq!(shares, kept, "{what}: every element exactly once");
            let sizes: Vec<usize> = found.iter().map(|(_, l, _)| l.len()).collect();
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            // At the same parallelism each subtask keeps its own list; rescaled, it is split evenly.
            if new != old {
                assert!(
                    max.zip(min).is_some_and(|(a, b)| a - b <= 1),
                    "{what}: {sizes:?}"
                );
            }
            for (i, _, union) in &found {
                assert_eq!(union, &kept, "{what}: the union in subtask {i}");
            }
        }
    }
}
