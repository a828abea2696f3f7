//! State matched by operator uid, whatever the chaining (Flink's rules): the same uid restores
//! wherever the operator now is — reordered, or in another chain; a new operator starts empty;
//! state whose uid is gone fails the restore naming the uid unless non-restored state is
//! allowed; `plan_restore` says all of this before anything runs.

mod common;

use common::*;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir::savepoint::RestorePlan;
use weir::state::operator::UnionListState;
use weir::{
    BoxError, CheckpointedFunction, DataStream, Error, ExternalizedCheckpointRetention,
    OperatorStateContext, RestoreError, StreamEnvironment,
};

const JOB: &str = "uid-matching";
const TOTAL: u64 = 40_000;

/// What a keeper subtask found when it opened: (its name, subtask, restored, the union's values).
type Opened = (String, u32, bool, Vec<u64>);

/// What every keeper subtask found.
type Found = Arc<Mutex<Vec<Opened>>>;

/// Keeps every value it sees in a union list state; reports what it found when opened.
#[derive(Clone)]
struct Keeper {
    name: &'static str,
    union: Option<UnionListState<u64>>,
    progress: Progress,
    found: Found,
}

impl Keeper {
    fn new(name: &'static str, found: &Found) -> Keeper {
        Keeper {
            name,
            union: None,
            progress: Progress::default(),
            found: found.clone(),
        }
    }
}

impl CheckpointedFunction<u64, u64> for Keeper {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        let union = ctx.union_list_state::<u64>("seen")?;
        let mut values = union.get();
        values.sort();
        let entry = (
            self.name.to_string(),
            ctx.subtask_index(),
            ctx.is_restored(),
        );
        self.found.lock().push((entry.0, entry.1, entry.2, values));
        self.union = Some(union);
        Ok(())
    }

    fn process_element(&mut self, value: u64, out: &mut Vec<u64>) -> Result<(), BoxError> {
        self.union.as_ref().ok_or("not opened")?.add(value);
        self.progress.add(1);
        out.push(value);
        Ok(())
    }
}

fn env(dir: &Path) -> StreamEnvironment {
    let mut env = deterministic_env(9);
    env.set_parallelism(2)
        .set_job_id(JOB)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// v1: source → map → keeper → sink, all chained; checkpointed once a quarter is kept.
fn first_version(dir: &Path, keeper_uid: Option<&str>) -> PathBuf {
    let env = env(dir);
    let found = Found::default();
    let keeper = Keeper::new("keeper", &found);
    let progress = keeper.progress.clone();
    let mapped = paced(&env, "src", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .map(|v| v)
        .uid("double");
    let kept = mapped.process_with_state(keeper);
    let kept = match keeper_uid {
        Some(uid) => kept.uid(uid),
        None => kept,
    };
    kept.discard().uid("out");
    let client = spawn_running(&env);
    progress.wait_for(TOTAL / 4);
    // The id is not always 1: a source that read everything asks for a checkpoint itself.
    let id = trigger(&client).expect("checkpoint completes").id;
    client.cancel();
    let _ = finish(client);
    dir.join(JOB).join(format!("chk-{id}"))
}

/// A restored job built by `build` from the source; what its keepers found.
fn restored_run(
    checkpoint: &Path,
    dir: &Path,
    allow: bool,
    build: impl FnOnce(DataStream<u64>, &Found),
) -> Result<Vec<Opened>, Error> {
    let mut env = env(dir);
    env.set_allow_non_restored_state(allow);
    env.restore_from_checkpoint(checkpoint)?;
    let found = Found::default();
    build(paced(&env, "src", TOTAL, Pace::Eager), &found);
    env.execute()?;
    let mut found = found.lock().clone();
    found.sort();
    Ok(found)
}

/// v1's graph again (same chaining): what the checkpoint holds for the keeper.
fn same_graph(source: DataStream<u64>, found: &Found) {
    (source.map(|v| v).uid("double"))
        .process_with_state(Keeper::new("keeper", found))
        .uid("keeper")
        .discard()
        .uid("out");
}

fn kept_values(found: &[Opened], name: &str) -> Vec<Vec<u64>> {
    let of = found.iter().filter(|f| f.0 == name);
    of.map(|f| f.3.clone()).collect()
}

fn plan_of(checkpoint: &Path, dir: &Path, build: impl FnOnce(DataStream<u64>)) -> RestorePlan {
    let env = env(dir);
    build(paced(&env, "src", TOTAL, Pace::Eager));
    env.plan_restore(checkpoint).expect("the plan is made")
}

#[test]
fn state_follows_its_uid_into_another_chain_and_another_order() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = first_version(&tmp.path().join("v1"), Some("keeper"));
    let same = restored_run(&checkpoint, &tmp.path().join("same"), false, same_graph).unwrap();
    let expected = kept_values(&same, "keeper");
    assert_eq!(expected.len(), 2);
    assert!(
        expected[0].len() as u64 >= TOTAL / 4,
        "the checkpoint kept values"
    );
    // v2: the keeper first, in a chain of its own after a rebalance; the map after it.
    let v2 = |source: DataStream<u64>, found: &Found| {
        (source.rebalance())
            .process_with_state(Keeper::new("keeper", found))
            .uid("keeper")
            .map(|v| v + 1)
            .uid("double")
            .discard()
            .uid("out");
    };
    let found = restored_run(&checkpoint, &tmp.path().join("v2"), false, v2).unwrap();
    assert_eq!(
        kept_values(&found, "keeper"),
        expected,
        "restored in its new chain"
    );
    assert!(found.iter().all(|f| f.2), "every keeper subtask restored");
}

#[test]
fn a_new_operator_starts_empty_and_state_whose_uid_is_gone_is_refused_or_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = first_version(&tmp.path().join("v1"), Some("keeper"));
    let with_new = |source: DataStream<u64>, found: &Found| {
        (source.process_with_state(Keeper::new("added", found)))
            .uid("added")
            .process_with_state(Keeper::new("keeper", found))
            .uid("keeper")
            .discard()
            .uid("out");
    };
    let found = restored_run(&checkpoint, &tmp.path().join("new"), false, with_new).unwrap();
    let added: Vec<_> = found.iter().filter(|f| f.0 == "added").collect();
    assert_eq!(added.len(), 2);
    assert!(added.iter().all(|f| !f.2 && f.3.is_empty()), "{added:?}");
    assert!(kept_values(&found, "keeper").iter().all(|v| !v.is_empty()));

    let without = |source: DataStream<u64>, _: &Found| {
        source.map(|v| v).uid("double").discard().uid("out");
    };
    let refused = restored_run(&checkpoint, &tmp.path().join("gone"), false, without);
    match refused {
        Err(Error::Restore(RestoreError::UnknownOperatorState { uid })) => {
            assert_eq!(uid, "keeper")
        }
        other => panic!("expected the keeper's state refused, got {other:?}"),
    }
    let dropped = restored_run(&checkpoint, &tmp.path().join("dropped"), true, without);
    assert!(dropped.is_ok(), "{dropped:?}");
}

#[test]
fn plan_restore_tells_what_goes_where_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = first_version(&tmp.path().join("v1"), Some("keeper"));
    let plan = plan_of(&checkpoint, &tmp.path().join("p"), |source| {
        let found = Found::default();
        (source.rebalance())
            .process_with_state(Keeper::new("keeper", &found))
            .uid("keeper")
            .map(|v| v)
            .discard()
            .uid("out");
    });
    let restored: Vec<&str> = plan
        .restored
        .iter()
        .map(|m| m.operator.uid.as_str())
        .collect();
    assert_eq!(restored, ["src", "keeper"], "{plan}");
    assert!(plan.restored.iter().all(|m| !m.is_rescaled()));
    let empty: Vec<&str> = plan.starts_empty.iter().map(|o| o.uid.as_str()).collect();
    assert!(empty.contains(&"out") && empty.len() == 2, "{plan}");
    assert!(plan.unclaimed.is_empty(), "{plan}");
    let generated = plan.generated_uids();
    assert_eq!(generated.len(), 1, "the map has no uid: {plan}");
    assert!(plan.check(false).is_ok());
    assert!(plan.to_string().contains("restored"), "{plan}");

    let gone = plan_of(&checkpoint, &tmp.path().join("g"), |source| {
        source.discard().uid("out");
    });
    let unclaimed: Vec<&str> = gone.unclaimed.iter().map(|s| s.uid.as_str()).collect();
    assert_eq!(unclaimed, ["keeper"], "{gone}");
    assert!(matches!(
        gone.check(false),
        Err(RestoreError::UnknownOperatorState { uid }) if uid == "keeper"
    ));
    assert!(gone.check(true).is_ok());
    // Nothing was started or written by planning.
    assert!(!tmp.path().join("g").exists() && !tmp.path().join("p").exists());
}

#[test]
fn a_generated_uid_changes_with_the_graph_and_the_refusal_says_to_set_one() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = first_version(&tmp.path().join("v1"), None);
    // The same keeper, but one more operator before it: its generated uid is another.
    let shifted = |source: DataStream<u64>, found: &Found| {
        (source.filter(|_| true).map(|v| v).uid("double"))
            .process_with_state(Keeper::new("keeper", found))
            .discard()
            .uid("out");
    };
    let refused = restored_run(&checkpoint, &tmp.path().join("v2"), false, shifted);
    let Err(Error::Restore(e @ RestoreError::UnknownOperatorState { .. })) = refused else {
        panic!("expected the old generated uid refused, got {refused:?}");
    };
    assert!(e.to_string().contains(".uid("), "{e}");
}

#[test]
fn a_changed_max_parallelism_is_in_the_plan_and_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = first_version(&tmp.path().join("v1"), Some("keeper"));
    let mut env = env(&tmp.path().join("m"));
    env.set_max_parallelism(256);
    paced(&env, "src", TOTAL, Pace::Eager).discard().uid("out");
    let plan = env.plan_restore(&checkpoint).expect("planned");
    assert_eq!(plan.max_parallelism, (128, 256));
    assert!(matches!(
        plan.check(true),
        Err(RestoreError::MaxParallelismChanged {
            checkpoint: 128,
            job: 256
        })
    ));
}
