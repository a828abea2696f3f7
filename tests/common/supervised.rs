//! The supervision tests' job: a keyed rolling max into a committed sink, in deterministic mode
//! (two subtasks, batches of 16, checkpoints every 100 ms), run failure-free or with a planned
//! fault and fixed-delay restarts.

use std::time::Duration;
use weir::{
    CommittedCollector, ExternalizedCheckpointRetention, FailureCause, Fault, FaultInjector,
    RestartStrategyConfig, StreamEnvironment,
};

/// The supervision tests' environment, deterministic with `seed`.
pub fn env(seed: u64) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(16)
        .set_deterministic(seed)
        .enable_checkpointing(Duration::from_millis(100));
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// sequence → key_by → rolling max per key → committed sink; the stateful operator has uid "max".
pub fn keyed_job(env: &StreamEnvironment, records: u64, out: &CommittedCollector<u64>) {
    env.generate_sequence(0, records - 1)
        .uid("numbers")
        .key_by(|x| x / 1000)
        .reduce(|a, b| a.max(b))
        .uid("max")
        .map(|x| x * 2)
        .uid("double")
        .collect_committed(out)
        .uid("out");
}

/// The committed output of the failure-free run over `records`, sorted.
pub fn failure_free(records: u64) -> Vec<u64> {
    let out = CommittedCollector::new();
    let env = env(0);
    keyed_job(&env, records, &out);
    env.execute().expect("failure-free run");
    let mut v = out.records();
    v.sort_unstable();
    v
}

/// Runs [`keyed_job`] over `records` with fixed-delay(`attempts`, 1 s) restarts and `fault`
/// injected, after `configure` adjusts the environment; returns how the job ended and its
/// committed output in commit order.
pub fn run_with_fault(
    seed: u64,
    records: u64,
    attempts: u32,
    fault: Fault,
    configure: impl FnOnce(&mut StreamEnvironment),
) -> (Result<weir::JobResult, weir::Error>, Vec<u64>) {
    let mut env = env(seed);
    configure(&mut env);
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts,
        delay: Duration::from_secs(1),
    });
    env.set_fault_injector(FaultInjector::new().with(fault));
    let out = CommittedCollector::new();
    keyed_job(&env, records, &out);
    let result = env.execute();
    (result, out.records())
}

/// The failed subtask's message, or "" for a failure of the whole job.
pub fn message(cause: &FailureCause) -> &str {
    cause
        .task_failure()
        .map_or("", |f| f.error.message.as_str())
}

/// `v`, sorted.
pub fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}
