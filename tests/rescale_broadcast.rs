//! Broadcast state across a rescale: a `BroadcastProcessFunction` keeps rules (set, changed and
//! removed by a broadcast stream) in broadcast state; a checkpoint at parallelism 2 restored at
//! 1, 3 and 4 gives every subtask the full, identical rule set (what it finds when it opens and
//! what its first main-stream element sees), and a restore at 2 the same set unchanged. HashMap
//! state backend (broadcast state is operator state: it does not depend on the backend).

mod common;

use common::phased::{phased, Phases};
use common::*;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir::state::operator::{BroadcastContext, ReadOnlyContext};
use weir::{
    BoxError, BroadcastProcessFunction, BroadcastStateDescriptor, CheckpointStatus,
    ExternalizedCheckpointRetention, OperatorStateContext, StreamEnvironment,
};

const JOB: &str = "rescale-broadcast";
const RULES: BroadcastStateDescriptor<String, u64> = BroadcastStateDescriptor::new("rules");

/// A rule update: set `name` to the value, or remove it (`None`).
type Update = (String, Option<u64>);

/// What the subtasks of one run saw of the rules: (subtask, rules), sorted.
type Seen = Vec<(u32, Vec<(String, u64)>)>;

/// Where the subtasks of one run record what they saw.
type Views = Arc<Mutex<Seen>>;

/// The rule updates the first run broadcasts: some set twice, one removed.
fn updates() -> Vec<Update> {
    let mut updates: Vec<Update> = (0..12).map(|i| (format!("rule-{i:02}"), Some(i))).collect();
    updates.push(("rule-03".to_string(), Some(300)));
    updates.push(("rule-07".to_string(), None));
    updates.push(("rule-11".to_string(), Some(1_100)));
    updates
}

/// The rules [`updates`] leave, in key order.
fn expected_rules() -> Vec<(String, u64)> {
    let mut rules = BTreeMap::new();
    for (name, value) in updates() {
        match value {
            Some(v) => rules.insert(name, v),
            None => rules.remove(&name),
        };
    }
    rules.into_iter().collect()
}

/// Applies rule updates to broadcast state; records what it finds of the rules when it opens
/// restored and when its first main-stream element arrives; emits (element, rule count).
#[derive(Clone, Default)]
struct Rules {
    opened: Views,
    first_use: Views,
    used: bool,
    updates: Progress,
}

impl BroadcastProcessFunction<u64, Update, (u64, usize)> for Rules {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        if ctx.is_restored() {
            let rules = ctx.broadcast_state(&RULES)?.entries();
            self.opened.lock().push((ctx.subtask_index(), rules));
        }
        Ok(())
    }

    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut ReadOnlyContext<'_>,
        out: &mut Vec<(u64, usize)>,
    ) -> Result<(), BoxError> {
        let rules = ctx.broadcast_state(&RULES)?;
        if !self.used {
            self.used = true;
            self.first_use
                .lock()
                .push((ctx.subtask_index(), rules.entries()));
        }
        out.push((value, rules.len()));
        Ok(())
    }

    fn process_broadcast_element(
        &mut self,
        (name, value): Update,
        ctx: &mut BroadcastContext<'_>,
        _out: &mut Vec<(u64, usize)>,
    ) -> Result<(), BoxError> {
        let rules = ctx.broadcast_state(&RULES)?;
        match value {
            Some(v) => rules.put(name, v),
            None => rules.remove(&name),
        };
        self.updates.add(1);
        Ok(())
    }
}

impl Rules {
    /// What the subtasks found when they opened and at their first element, each sorted.
    fn views(&self) -> (Seen, Seen) {
        let mut opened = self.opened.lock().clone();
        opened.sort();
        let mut first_use = self.first_use.lock().clone();
        first_use.sort();
        (opened, first_use)
    }
}

fn env(dir: &Path, parallelism: u32) -> StreamEnvironment {
    let mut env = deterministic_env(9);
    env.set_parallelism(parallelism)
        .set_job_id(JOB)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir);
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// The job: `numbers` (spread round-robin) connected with `rules`, processed by `function`.
fn job(
    env: &StreamEnvironment,
    names: (&str, &str),
    numbers: &Arc<Phases<u64>>,
    rules: &Arc<Phases<Update>>,
    function: Rules,
) {
    let rules = phased(env, names.1, rules).set_parallelism(1);
    phased(env, names.0, numbers)
        .rebalance()
        .connect(&rules)
        .process(function)
        .uid("rules")
        .discard()
        .uid("out");
}

/// The first run at 2: every rule update reaches both subtasks, then checkpoint 1 is taken and
/// the job cancelled; returns the checkpoint's directory.
fn checkpointed_run(dir: &Path) -> PathBuf {
    let env = env(dir, 2);
    let function = Rules::default();
    let applied = function.updates.clone();
    let numbers = Phases::endless(vec![(0..100).collect()]);
    job(
        &env,
        ("numbers", "updates"),
        &numbers,
        &Phases::endless(vec![updates()]),
        function,
    );
    let client = spawn_running(&env);
    applied.wait_for(2 * updates().len() as u64);
    let checkpoint = trigger(&client);
    assert_eq!(
        checkpoint.map(|s| (s.id, s.status)),
        Ok((1, CheckpointStatus::Completed))
    );
    client.cancel();
    let _ = finish(client);
    dir.join(JOB).join("chk-1")
}

/// Restores `checkpoint` at `parallelism` with new sources (the old ones' positions are
/// dropped): no rule update, four numbers per subtask. Returns what the subtasks saw when they
/// opened and at their first number.
fn restored_views(checkpoint: &Path, dir: &Path, parallelism: u32) -> (Seen, Seen) {
    let mut env = env(dir, parallelism);
    env.set_allow_non_restored_state(true);
    env.restore_from_checkpoint(checkpoint)
        .expect("the checkpoint loads");
    let function = Rules::default();
    let numbers = Phases::all(vec![(0..4 * u64::from(parallelism)).collect()]);
    job(
        &env,
        ("more-numbers", "no-updates"),
        &numbers,
        &Phases::all(Vec::new()),
        function.clone(),
    );
    env.execute().expect("the restored run finishes");
    function.views()
}

#[test]
fn every_subtask_restores_the_full_identical_broadcast_state_at_any_parallelism() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = checkpointed_run(&tmp.path().join("first"));
    let rules = expected_rules();
    for new in [1, 2, 3, 4] {
        let what = format!("checkpoint at 2, restored at {new}");
        let dir = tmp.path().join(format!("p{new}"));
        let (opened, first_use) = restored_views(&checkpoint, &dir, new);
        let every: Seen = (0..new).map(|i| (i, rules.clone())).collect();
        assert_eq!(
            opened, every,
            "{what}: what each subtask found when it opened"
        );
        assert_eq!(
            first_use, every,
            "{what}: what each subtask's first element saw"
        );
    }
}
