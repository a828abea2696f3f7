//! Savepoints: a savepoint taken mid-run and a run resumed from it give, together, exactly the
//! failure-free output (HashMap and RocksDB, incremental checkpoints included, without the
//! job's own checkpoint directory); a moved savepoint
//! restores; a damaged or foreign file is a typed error naming it; retention never touches a
//! savepoint and a restored run never touches the files it restored from (`NO_CLAIM`); a failed
//! savepoint leaves the job running; stop-with-savepoint commits up to the savepoint and nothing
//! after it, also across random failures (a seed sweep); dispose deletes exactly the savepoint.

mod common;

use common::kinds::sorted;
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weir::runtime::checkpoint::storage::StorageError;
use weir::savepoint::{dispose, CompletedSavepoint, SavepointError};
use weir::{
    CommittedCollector, Configuration, Error, ExternalizedCheckpointRetention, Fault,
    FaultInjector, JobClient, JobError, RestartStrategyConfig, RestoreError, StateBackend,
    StreamEnvironment,
};

const JOB: &str = "savepoints";
const TOTAL: u64 = 6_000;
const PER_KEY: u64 = 50;

type Out = CommittedCollector<(u64, u64, u64)>;

/// Deterministic, two subtasks, job id `savepoints`, checkpoints under `base` every `interval`,
/// `retained` kept.
fn env(base: &Path, seed: u64, interval: Duration, retained: u32) -> StreamEnvironment {
    let mut env = deterministic_env(seed);
    env.set_parallelism(2).set_job_id(JOB);
    env.enable_checkpointing(interval).set_checkpoint_dir(base);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = retained;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// Paced `0..TOTAL` keyed by `value / 50` into a per-key sequence, committed into `out`.
fn job(env: &StreamEnvironment, progress: &Progress, out: &Out) {
    job_of(env, TOTAL, progress, out);
}

/// [`job`] over `0..total`.
fn job_of(env: &StreamEnvironment, total: u64, progress: &Progress, out: &Out) {
    paced(env, "numbers", total, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .collect_committed(out)
        .uid("out");
}

/// Takes a savepoint into `dir` (stopping the job when `stop`), retrying while a restart
/// refuses it; fails the test if the job ends first.
fn savepoint(client: &JobClient, dir: &Path, stop: bool) -> CompletedSavepoint {
    loop {
        let outcome = if stop {
            block_on(client.stop_with_savepoint(dir))
        } else {
            block_on(client.trigger_savepoint(dir))
        };
        match outcome {
            Ok(savepoint) => return savepoint,
            Err(e) => assert!(
                !client.status().is_terminal(),
                "the job ended before its savepoint: {e}"
            ),
        }
    }
}

/// Runs the job until `records` were processed, stops it with a savepoint under `dir`; returns
/// the savepoint and the committed output.
fn run_to_savepoint(env: StreamEnvironment, dir: &Path, records: u64) -> (CompletedSavepoint, Out) {
    let (progress, out) = (Progress::default(), Out::new());
    job(&env, &progress, &out);
    let client = spawn_running(&env);
    progress.wait_for(records);
    let savepoint = savepoint(&client, dir, true);
    finish(client).0.expect("the stopped job ends Finished");
    (savepoint, out)
}

/// Runs the job restored from `path` to its end, committing into `out` (the first run's: the
/// restored sink commits the savepoint's transaction again, which `out` counts once, as a
/// transactional target does).
fn resume(mut env: StreamEnvironment, path: &Path, out: &Out) {
    env.restore_from_savepoint(path).expect("restores");
    job(&env, &Progress::default(), out);
    env.execute().expect("resumed run ends");
}

/// What both runs committed is exactly the failure-free run's output.
fn assert_exactly_once(out: &Out) {
    let all = sorted(out.records());
    assert_same(&all, &expected_sequence(TOTAL, PER_KEY), "both runs");
}

/// `actual == expected`, telling the sizes and the first difference otherwise.
fn assert_same(actual: &[(u64, u64, u64)], expected: &[(u64, u64, u64)], what: &str) {
    if actual != expected {
        let first = actual.iter().zip(expected).position(|(a, e)| a != e);
        panic!(
            "{what}: {} records, {} expected; first difference at {first:?}: {:?} for {:?}",
            actual.len(),
            expected.len(),
            first.map(|i| actual[i]),
            first.map(|i| expected[i]),
        );
    }
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("lists") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), fs::read(&path).expect("reads"));
        }
    }
    out
}

fn state_file(savepoint: &Path, subtask: u32) -> PathBuf {
    savepoint.join(format!("sequence-{subtask}.state"))
}

fn backends() -> Vec<(&'static str, StateBackend, bool)> {
    vec![
        ("hashmap", StateBackend::HashMap, false),
        ("rocksdb", StateBackend::rocksdb(), false),
        ("rocksdb incremental", StateBackend::rocksdb(), true),
    ]
}

#[test]
fn a_run_resumed_from_a_savepoint_continues_exactly_where_it_was_taken_on_every_backend() {
    for (name, backend, incremental) in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
        let configure = |mut env: StreamEnvironment| {
            env.set_state_backend(backend.clone());
            env.checkpoint_config_mut().incremental = incremental;
            env
        };
        let first = configure(env(&base, 1, Duration::from_millis(20), 1));
        let (savepoint, out1) = run_to_savepoint(first, &dir, 2_000);
        let expected_name = format!("savepoint-{JOB}-{}", savepoint.checkpoint_id);
        assert_eq!(savepoint.path, dir.join(expected_name), "{name}");
        assert!(!out1.is_empty(), "{name}: the first run committed nothing");
        // The savepoint holds everything: the job's own checkpoints are not needed.
        let _ = fs::remove_dir_all(&base);
        let committed = out1.len();
        resume(
            configure(env(&base, 2, Duration::from_millis(20), 1)),
            &savepoint.path,
            &out1,
        );
        assert!(
            out1.len() > committed,
            "{name}: the resumed run committed nothing"
        );
        assert_exactly_once(&out1);
    }
}

#[test]
fn a_moved_savepoint_restores_without_the_jobs_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
    let (savepoint, out1) = run_to_savepoint(env(&base, 3, MANUAL_ONLY, 1), &dir, 1_500);
    let moved = tmp.path().join("elsewhere").join("copy");
    fs::create_dir_all(moved.parent().unwrap()).unwrap();
    fs::rename(&savepoint.path, &moved).unwrap();
    fs::remove_dir_all(&base).unwrap();
    let metadata = moved.join("_metadata");
    resume(env(&base, 4, MANUAL_ONLY, 1), &metadata, &out1);
    assert_exactly_once(&out1);
}

#[test]
fn a_savepoint_has_its_metadata_at_its_top_and_one_in_the_earlier_layout_still_restores() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
    let (savepoint, out1) = run_to_savepoint(env(&base, 3, MANUAL_ONLY, 1), &dir, 1_500);
    let id = savepoint.checkpoint_id;
    assert!(
        savepoint.path.join("_metadata").is_file(),
        "as Flink lays one out"
    );
    assert!(state_file(&savepoint.path, 0).is_file());
    // An earlier weir kept the files in `chk-<n>/` inside the savepoint's directory.
    let chk = savepoint.path.join(format!("chk-{id}"));
    fs::create_dir(&chk).unwrap();
    for entry in fs::read_dir(&savepoint.path).unwrap() {
        let path = entry.unwrap().path();
        if path != chk && path.file_name().is_some_and(|n| n != "shared") {
            fs::rename(&path, chk.join(path.file_name().unwrap())).unwrap();
        }
    }
    fs::remove_dir_all(&base).unwrap();
    resume(env(&base, 4, MANUAL_ONLY, 1), &savepoint.path, &out1);
    assert_exactly_once(&out1);
}

#[test]
fn a_damaged_truncated_or_foreign_savepoint_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
    let (savepoint, _) = run_to_savepoint(env(&base, 5, MANUAL_ONLY, 1), &dir, 1_000);
    let metadata = savepoint.path.join("_metadata");
    let state = state_file(&savepoint.path, 0);
    type Damage = (&'static str, PathBuf, fn(&[u8]) -> Vec<u8>);
    let damages: [Damage; 5] = [
        ("flipped state byte", state.clone(), |b| {
            let mut b = b.to_vec();
            let middle = b.len() / 2;
            b[middle] ^= 0x10;
            b
        }),
        ("truncated state", state.clone(), |b| {
            b[..b.len() - 9].to_vec()
        }),
        ("foreign state", state.clone(), |_| {
            b"not a weir file at all".to_vec()
        }),
        ("truncated metadata", metadata.clone(), |b| {
            b[..b.len() / 2].to_vec()
        }),
        ("foreign metadata", metadata.clone(), |_| {
            b"{\"job\": 1}".to_vec()
        }),
    ];
    for (what, file, damage) in damages {
        let copy = tmp.path().join(format!("copy-{}", what.replace(' ', "-")));
        copy_tree(&savepoint.path, &copy);
        let target = copy.join(file.strip_prefix(&savepoint.path).unwrap());
        let bytes = fs::read(&target).unwrap();
        fs::write(&target, damage(&bytes)).unwrap();
        let mut env = env(&base, 6, MANUAL_ONLY, 1);
        match env.restore_from_savepoint(&copy) {
            Err(Error::Restore(RestoreError::Storage(e))) => {
                assert_eq!(e.path(), target.as_path(), "{what}: {e}");
                let typed = matches!(
                    e,
                    StorageError::Corrupt { .. }
                        | StorageError::Truncated { .. }
                        | StorageError::Foreign { .. }
                        | StorageError::DiffersFromMetadata { .. }
                );
                assert!(typed, "{what}: {e:?}");
            }
            other => panic!("{what}: expected a storage error, got {other:?}"),
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else {
            fs::copy(&path, &dest).unwrap();
        }
    }
}

/// Starts the job and takes 20 checkpoints (records flowing between them), then cancels it.
fn run_twenty_checkpoints(env: &StreamEnvironment, progress: &Progress) -> Vec<u64> {
    let client = spawn_running(env);
    let mut ids = Vec::new();
    let start = progress.count();
    for _ in 0..20 {
        ids.push(trigger(&client).expect("checkpoint completes").id);
    }
    assert!(
        progress.count() > start,
        "no record between the checkpoints"
    );
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    ids
}

#[test]
fn retention_never_touches_a_savepoint_and_a_restored_run_never_touches_its_files() {
    // Long enough that no run reads all of it during its 20 checkpoints, however loaded the
    // machine (the job's virtual time runs ahead of the test's real time).
    const LONG: u64 = TOTAL * 50;
    let tmp = tempfile::tempdir().unwrap();
    let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
    // Run 1: a savepoint, then 20 checkpoints with one retained.
    let env1 = env(&base, 7, MANUAL_ONLY, 1);
    let (progress, out) = (Progress::default(), Out::new());
    job_of(&env1, LONG, &progress, &out);
    let client = spawn_running(&env1);
    progress.wait_for(300);
    let sp = savepoint(&client, &dir, false);
    let before = files(&sp.path);
    let client_ids = {
        let mut ids = Vec::new();
        for _ in 0..20 {
            ids.push(trigger(&client).expect("checkpoint completes").id);
        }
        client.cancel();
        assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
        ids
    };
    assert_eq!(chk_dirs(&base.join(JOB)), [(client_ids[19], true)]);
    assert_eq!(files(&sp.path), before, "retention changed the savepoint");
    // Run 2, restored from the savepoint (NO_CLAIM): 20 checkpoints, one retained.
    let mut env2 = env(&tmp.path().join("chk2"), 8, MANUAL_ONLY, 1);
    env2.restore_from_savepoint(&sp.path).expect("restores");
    let progress = Progress::default();
    job_of(&env2, LONG, &progress, &Out::new());
    let ids = run_twenty_checkpoints(&env2, &progress);
    assert_eq!(ids.len(), 20);
    assert_eq!(
        files(&sp.path),
        before,
        "the restored run changed the savepoint"
    );
    // Restoring a retained checkpoint of the job's own directory: it is left as it was too.
    let own = base.join(JOB).join(format!("chk-{}", client_ids[19]));
    let before = files(&own);
    let mut env3 = env(&base, 9, MANUAL_ONLY, 1);
    env3.restore_from_savepoint(&own).expect("restores");
    let progress = Progress::default();
    job_of(&env3, LONG, &progress, &Out::new());
    run_twenty_checkpoints(&env3, &progress);
    assert_eq!(
        files(&own),
        before,
        "the restored run changed its checkpoint"
    );
}

#[test]
fn a_failed_savepoint_leaves_the_job_running_with_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("chk");
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let env = env(&base, 10, MANUAL_ONLY, 1);
    let (progress, out) = (Progress::default(), Out::new());
    job(&env, &progress, &out);
    let client = spawn_running(&env);
    progress.wait_for(200);
    match block_on(client.stop_with_savepoint(&not_a_dir)) {
        Err(SavepointError::Failed { dir, .. }) => assert_eq!(dir, not_a_dir),
        other => panic!("expected a failed savepoint, got {other:?}"),
    }
    assert!(!client.status().is_terminal());
    assert!(trigger(&client).is_ok(), "checkpoints go on after it");
    assert_eq!(
        block_on(client.trigger_savepoint_default()).unwrap_err(),
        SavepointError::NoDirectory
    );
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
}

#[test]
fn the_default_savepoint_directory_comes_from_the_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, dir) = (tmp.path().join("chk"), tmp.path().join("default"));
    let mut first = env(&base, 11, MANUAL_ONLY, 1);
    let mut conf = Configuration::new();
    conf.set(
        "execution.checkpointing.savepoint-dir",
        dir.to_str().unwrap(),
    )
    .expect("supported");
    first.configure(&conf).expect("valid");
    let (progress, out) = (Progress::default(), Out::new());
    job(&first, &progress, &out);
    let client = spawn_running(&first);
    assert_eq!(client.job_id(), JOB);
    progress.wait_for(200);
    let sp = block_on(client.trigger_savepoint_default()).expect("savepoint");
    assert!(sp.path.starts_with(&dir));
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    // execution.state-recovery.path restores it.
    let mut conf = Configuration::new();
    conf.set("execution.state-recovery.path", sp.path.to_str().unwrap())
        .expect("supported");
    let mut resumed = env(&base, 12, MANUAL_ONLY, 1);
    resumed.configure(&conf).expect("restores");
}

#[test]
fn dispose_deletes_exactly_the_savepoint_and_refuses_anything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
    let first = env(&base, 13, MANUAL_ONLY, 1);
    job(&first, &Progress::default(), &Out::new());
    let client = spawn_running(&first);
    let sp = savepoint(&client, &dir, false);
    trigger(&client).expect("a checkpoint is retained");
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    let neighbour = dir.join("unrelated.txt");
    fs::write(&neighbour, b"keep me").unwrap();
    // A retained checkpoint of the job is not a savepoint: refused, nothing deleted.
    let job_files = files(&base.join(JOB));
    let chk = chk_dirs(&base.join(JOB));
    let own = base.join(JOB).join(format!("chk-{}", chk[0].0));
    assert!(matches!(
        dispose(&own),
        Err(SavepointError::NotASavepoint { .. })
    ));
    assert!(matches!(
        dispose(tmp.path()),
        Err(SavepointError::NotASavepoint { .. })
    ));
    assert_eq!(files(&base.join(JOB)), job_files);
    // A copy with a foreign file: everything else goes, the foreign file stays and is named.
    let copy = dir.join(format!("savepoint-{JOB}-copy"));
    copy_tree(&sp.path, &copy);
    let foreign = copy.join("notes.txt");
    fs::write(&foreign, b"mine").unwrap();
    let report = dispose(&copy).expect("disposes");
    assert_eq!(report.kept, std::slice::from_ref(&foreign));
    assert_eq!(files(&copy).keys().collect::<Vec<_>>(), [&foreign]);
    // The savepoint itself: gone entirely, its neighbours untouched.
    let count = files(&sp.path).len();
    let report = dispose(&sp.path).expect("disposes");
    assert_eq!((report.deleted.len(), report.kept.len()), (count, 0));
    assert!(!sp.path.exists());
    assert_eq!(fs::read(&neighbour).unwrap(), b"keep me");
}

#[test]
fn exactly_once_across_stop_with_savepoint_and_resume_with_random_failures() {
    let seeds = seed_count("WEIR_SAVEPOINT_SEEDS", 20);
    let (mut restarts_before, mut restarts_after) = (0, 0);
    for seed in 0..seeds {
        let tmp = tempfile::tempdir().unwrap();
        let (base, dir) = (tmp.path().join("chk"), tmp.path().join("sp"));
        let faulty = |seed: u64, base: &Path| {
            let mut env = env(base, seed, Duration::from_millis(30), 1);
            env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
                attempts: 1_000,
                delay: Duration::from_millis(10),
            });
            env.set_fault_injector(FaultInjector::new().with(Fault::Random {
                seed,
                probability: 0.0005,
                uid: Some("sequence".into()),
            }));
            env
        };
        let first = faulty(seed, &base);
        let (progress, out1) = (Progress::default(), Out::new());
        job(&first, &progress, &out1);
        let client = spawn_running(&first);
        progress.wait_for(3_000);
        let sp = savepoint(&client, &dir, true);
        restarts_before += client.restart_history().len();
        finish(client).0.expect("the stopped job ends Finished");
        let mut second = faulty(seed + 1_000, &tmp.path().join("chk2"));
        second.restore_from_savepoint(&sp.path).expect("restores");
        job(&second, &Progress::default(), &out1);
        let result = second.execute().expect("resumed run ends");
        restarts_after += result.restarts.len();
        let all = sorted(out1.records());
        assert_same(
            &all,
            &expected_sequence(TOTAL, PER_KEY),
            &format!("seed {seed}"),
        );
    }
    assert!(restarts_before > 0, "no failure before the savepoint fired");
    assert!(restarts_after > 0, "no failure after the resume fired");
}
