//! What operators emit at end of input reaches exactly-once sinks: a bounded job ends with a
//! final checkpoint taken after every subtask's end of input, and checkpoints taken while part of
//! the job has ended ask the ended subtasks directly instead of waiting for a barrier.

mod common;

use common::{deterministic_env, finish, paced, Pace};
use std::time::Duration;
use weir::task::operator::Operator;
use weir::{
    BoxError, CheckpointFailureReason, CheckpointStatus, CommittedCollector, StreamEnvironment,
};

/// Holds every record back and emits them all at end of input.
struct HoldUntilEnd(Vec<u64>);

impl Operator<u64, u64> for HoldUntilEnd {
    fn process_batch(&mut self, input: Vec<u64>, _out: &mut Vec<u64>) -> Result<(), BoxError> {
        self.0.extend(input);
        Ok(())
    }

    fn end_of_input(&mut self, out: &mut Vec<u64>) -> Result<(), BoxError> {
        out.append(&mut self.0);
        Ok(())
    }
}

fn checkpointed_env(seed: u64) -> StreamEnvironment {
    let mut env = deterministic_env(seed);
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(10));
    env.checkpoint_config_mut().timeout = Duration::from_secs(1);
    env
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

#[test]
fn records_emitted_at_end_of_input_are_committed_by_the_final_checkpoint() {
    let env = checkpointed_env(1);
    let out = CommittedCollector::new();
    paced(
        &env,
        "numbers",
        1_000,
        Pace::Every {
            burst: 20,
            polls: 1,
        },
    )
    .rebalance()
    .transform("Hold", |_| Ok(HoldUntilEnd(Vec::new())))
    .uid("hold")
    .collect_committed(&out);
    env.execute().expect("job finishes");
    assert_eq!(sorted(out.records()), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn checkpoints_after_one_branch_ended_ask_its_subtasks_directly_and_complete() {
    let env = checkpointed_env(2);
    let out = CommittedCollector::new();
    let short = paced(
        &env,
        "short",
        100,
        Pace::Every {
            burst: 10,
            polls: 1,
        },
    )
    .rebalance()
    .transform("Hold", |_| Ok(HoldUntilEnd(Vec::new())))
    .uid("hold");
    let long = paced(
        &env,
        "long",
        4_000,
        Pace::Every {
            burst: 10,
            polls: 1,
        },
    )
    .map(|x| x + 1_000);
    short.union(&[long]).collect_committed(&out);
    let (result, stats) = finish(env.spawn().expect("job starts"));
    result.expect("job finishes");
    let mut expected: Vec<u64> = (0..100).chain(1_000..5_000).collect();
    expected.sort_unstable();
    assert_eq!(sorted(out.records()), expected);
    let expired: Vec<u64> = stats
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                CheckpointStatus::Failed(CheckpointFailureReason::Expired(_))
            )
        })
        .map(|s| s.id)
        .collect();
    assert!(
        expired.is_empty(),
        "checkpoints expired waiting for ended subtasks: {expired:?}"
    );
    assert!(
        stats
            .iter()
            .filter(|s| s.status == CheckpointStatus::Completed)
            .count()
            > 20,
        "checkpoints went on after the short branch ended"
    );
}
