//! Claim mode (`execution.state-recovery.claim-mode`): restoring from a savepoint in `CLAIM`
//! mode makes it the job's oldest retained checkpoint — a restart before any other completes
//! restores from it, and it is disposed of once newer checkpoints subsume it — while `NO_CLAIM`
//! (the default) never touches it. Output stays exactly once either way.

mod common;

use common::kinds::sorted;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weir::savepoint::CompletedSavepoint;
use weir::{
    CommittedCollector, Configuration, ExternalizedCheckpointRetention, Fault, FaultInjector,
    RecoveryClaimMode, RestartStrategyConfig, StreamEnvironment, Target,
};

const JOB: &str = "claim-mode";
const TOTAL: u64 = 4_000;
const PER_KEY: u64 = 40;

type Out = CommittedCollector<(u64, u64, u64)>;

fn env(base: &Path, seed: u64) -> StreamEnvironment {
    let mut env = deterministic_env(seed);
    env.set_parallelism(2).set_job_id(JOB);
    env.enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = 1;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

fn job(env: &StreamEnvironment, progress: &Progress, out: &Out) {
    paced(env, "numbers", TOTAL, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .collect_committed(out)
        .uid("out");
}

/// Runs until a quarter is processed and stops with a savepoint; returns it and the output.
fn stopped_run(tmp: &Path) -> (CompletedSavepoint, Out) {
    let env = env(&tmp.join("chk"), 1);
    let (progress, out) = (Progress::default(), Out::new());
    job(&env, &progress, &out);
    let client = spawn_running(&env);
    progress.wait_for(TOTAL / 4);
    let savepoint = block_on(client.stop_with_savepoint(tmp.join("sp"))).expect("taken");
    finish(client).0.expect("stopped");
    (savepoint, out)
}

fn metadata(savepoint: &CompletedSavepoint) -> PathBuf {
    savepoint.path.join("_metadata")
}

#[test]
fn a_claimed_savepoint_is_disposed_of_once_subsumed_and_an_unclaimed_one_never() {
    for mode in [RecoveryClaimMode::Claim, RecoveryClaimMode::NoClaim] {
        let tmp = tempfile::tempdir().unwrap();
        let (savepoint, out) = stopped_run(tmp.path());
        let mut second = env(&tmp.path().join("chk2"), 2);
        second.set_claim_mode(mode);
        second
            .restore_from_savepoint(&savepoint.path)
            .expect("restores");
        let progress = Progress::default();
        job(&second, &progress, &out);
        let client = spawn_running(&second);
        progress.wait_for(10);
        assert!(
            metadata(&savepoint).is_file(),
            "{mode:?}: kept until subsumed"
        );
        trigger(&client).expect("the first checkpoint completes");
        let kept = savepoint.path.exists();
        assert_eq!(kept, mode == RecoveryClaimMode::NoClaim, "{mode:?}");
        finish(client).0.expect("the resumed run ends");
        assert_eq!(
            sorted(out.records()),
            expected_sequence(TOTAL, PER_KEY),
            "{mode:?}"
        );
    }
}

#[test]
fn a_restart_before_the_first_checkpoint_restores_from_the_claimed_savepoint() {
    let tmp = tempfile::tempdir().unwrap();
    let (savepoint, out) = stopped_run(tmp.path());
    let mut second = env(&tmp.path().join("chk2"), 3);
    let mut conf = Configuration::new();
    conf.set("execution.state-recovery.claim-mode", "CLAIM")
        .expect("CLAIM is a claim mode");
    second.configure(&conf).expect("configured");
    assert_eq!(second.claim_mode(), RecoveryClaimMode::Claim);
    second.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 3,
        delay: Duration::from_millis(5),
    });
    second.set_fault_injector(FaultInjector::new().with(Fault::FailAtRecord {
        target: Target::first_attempt("sequence", 0),
        record: 200,
    }));
    second
        .restore_from_savepoint(&savepoint.path)
        .expect("restores");
    job(&second, &Progress::default(), &out);
    let result = second.execute().expect("restarted and finished");
    assert_eq!(result.restarts.len(), 1, "the fault fired once");
    assert_eq!(sorted(out.records()), expected_sequence(TOTAL, PER_KEY));
    // The job finished: its checkpoints, the claimed savepoint among them, are discarded.
    assert!(!savepoint.path.exists());
}
