//! The transactional file sink (weir::sink::transactional_file) in whole jobs: exactly-once
//! visible lines over many seeds with failures in every step (processing, pre-commit, between
//! completion and commit, commit, restore), no hidden file left, empty checkpoints, rolling by
//! size, leftovers of a crashed deployment, a directory that cannot be written, and a job
//! stopped after a pre-commit and restored in a new environment.

mod common;

#[path = "common/flaky_file_sink.rs"]
mod flaky_file_sink;

use flaky_file_sink::{Fired, Flaky, Step};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::sink::transactional_file::{
    FileSink, FileSinkError, RollingPolicy, TransactionalFileSink,
};
use weir::sink::two_phase_commit::{TransactionId, TransactionStats, TwoPhaseCommitConfig};
use weir::{
    DataStream, ExternalizedCheckpointRetention, Fault, FaultInjector, RestartStrategyConfig,
    StreamEnvironment, Target,
};

const RECORDS: u64 = 20_000;

/// The visible and the hidden files of a sink's directory.
struct Listing {
    /// Files whose names do not start with `.`, with their contents.
    visible: BTreeMap<String, String>,
    /// The names of the others.
    hidden: Vec<String>,
}

fn list(dir: &Path) -> Listing {
    let mut listing = Listing {
        visible: BTreeMap::new(),
        hidden: Vec::new(),
    };
    for entry in std::fs::read_dir(dir).expect("list the sink's directory") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8");
        match name.starts_with('.') {
            true => listing.hidden.push(name),
            false => {
                let text = std::fs::read_to_string(dir.join(&name)).expect("read a part");
                listing.visible.insert(name, text);
            }
        }
    }
    listing
}

/// Every line of the visible files, sorted (a multiset), each checked to end in `\n`.
fn visible_lines(listing: &Listing) -> Vec<u64> {
    let mut lines = Vec::new();
    for (name, text) in &listing.visible {
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} ends in a partial line"
        );
        lines.extend(text.lines().map(|l| l.parse::<u64>().expect("a number")));
    }
    lines.sort_unstable();
    lines
}

fn configure(env: &mut StreamEnvironment, job: &str, seed: u64) {
    env.set_parallelism(2)
        .set_batch_size(32)
        .enable_checkpointing(Duration::from_millis(50))
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(10),
        });
    env.set_job_id(&format!("{job}-{seed}-{}", std::process::id()));
}

/// A real-time environment: the sink's fsyncs take real time, which the paused clock of
/// deterministic mode would skip over (a checkpoint waiting for a pre-commit would expire).
fn env(job: &str, seed: u64) -> StreamEnvironment {
    let mut env = common::no_restart_env();
    configure(&mut env, job, seed);
    env
}

fn config() -> TwoPhaseCommitConfig {
    TwoPhaseCommitConfig::default()
        .with_commit_attempts(2)
        .with_retry_backoff(Duration::from_millis(1))
}

/// Paced numbers (16 per millisecond and subtask, so that a run spans checkpoints) → key_by →
/// running count per key, as `key * 1_000_000 + count`, rebalanced (so the sink is a task of
/// its own, which faults can aim at by the uid "sink").
fn counts(env: &StreamEnvironment, records: u64) -> DataStream<u64> {
    let pace = common::Pace::Every {
        burst: 16,
        polls: 1,
    };
    common::paced(env, "numbers", records, pace)
        .key_by(|x| x % 13)
        .map(|x| x % 13)
        .uid("key")
        .key_by(|k| *k)
        .reduce(|a, _| a + 1_000_000)
        .uid("count")
        .rebalance()
}

fn failure_free() -> Vec<u64> {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = env("failure-free", 0);
    counts(&env, RECORDS)
        .sink_to_files(FileSink::for_lines(dir.path()).with_config(config()))
        .uid("sink");
    env.execute().expect("failure-free run");
    let listing = list(dir.path());
    assert!(listing.hidden.is_empty(), "{:?}", listing.hidden);
    visible_lines(&listing)
}

fn seeds() -> u64 {
    common::seed_count("WEIR_FILE_SINK_SEEDS", 20)
}

/// The faults the runtime injects in run `seed`: random failures while counting, a failed
/// snapshot (pre-commit) and a failed commit notification of the sink.
fn runtime_faults(seed: u64) -> FaultInjector {
    let sink = |subtask| Target {
        uid: "sink".into(),
        subtask,
        attempt: None,
    };
    FaultInjector::new()
        .with(Fault::Random {
            seed,
            probability: 0.000_05,
            uid: Some("count".into()),
        })
        .with(Fault::FailInSnapshot {
            target: sink((seed % 2) as u32),
            checkpoint: 2 + seed % 4,
        })
        .with(Fault::FailInCommit {
            target: sink(((seed + 1) % 2) as u32),
            checkpoint: 3 + seed % 5,
        })
}

#[test]
fn every_line_is_visible_exactly_once_whatever_step_fails_and_no_hidden_file_is_left() {
    let expected = failure_free();
    assert_eq!(expected.len() as u64, RECORDS);
    let fired: Fired = Arc::default();
    let mut runtime_fired = BTreeMap::<&str, u64>::new();
    let mut restored = 0;
    for seed in 1..=seeds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = env("sweep", seed);
        env.set_fault_injector(runtime_faults(seed));
        let (path, fired_here) = (dir.path().to_path_buf(), fired.clone());
        let settings = FileSink::for_lines(&path).with_rolling(RollingPolicy::by_size(4096));
        counts(&env, RECORDS)
            .sink_to_two_phase_commit(config(), move |info| {
                let s = &info.subtask;
                Ok(Flaky {
                    inner: TransactionalFileSink::open(&settings, s.index)?,
                    rng: (seed << 20) ^ ((s.attempt as u64) << 8) ^ (s.index as u64 + 1),
                    per_mille: 12,
                    fired: fired_here.clone(),
                })
            })
            .uid("sink");
        let result = env.execute().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        restored += result.restarts.iter().any(|r| r.restored_from.is_some()) as u64;
        for restart in &result.restarts {
            let cause = restart.cause.to_string();
            for kind in [
                "in the snapshot of checkpoint",
                "committing checkpoint",
                "at record",
            ] {
                if cause.contains(kind) {
                    *runtime_fired.entry(kind).or_insert(0) += 1;
                }
            }
        }
        let listing = list(&path);
        assert!(
            listing.hidden.is_empty(),
            "seed {seed}: left {:?}",
            listing.hidden
        );
        assert!(
            visible_lines(&listing) == expected,
            "seed {seed}: lines differ"
        );
    }
    let fired = fired.lock().expect("lock").clone();
    eprintln!(
        "{} seeds, {restored} restored; sink failures {fired:?}; runtime failures {runtime_fired:?}",
        seeds()
    );
    common::assert_most_restored(restored, seeds(), "the file sink sweep");
    for step in [
        Step::Invoke,
        Step::PreCommit,
        Step::AfterCommit,
        Step::RecoverCommit,
    ] {
        assert!(
            fired.get(&step).is_some_and(|n| *n > 0),
            "no failure at {step:?}: {fired:?}"
        );
    }
    for kind in ["in the snapshot of checkpoint", "committing checkpoint"] {
        assert!(
            runtime_fired.contains_key(kind),
            "no failure {kind}: {runtime_fired:?}"
        );
    }
}

#[test]
fn checkpoints_without_records_make_no_visible_file_and_no_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stats = TransactionStats::new();
    let mut env = env("empty", 0);
    // 100 records every 50 ms per subtask, checkpoints every 10 ms: most transactions are empty.
    env.enable_checkpointing(Duration::from_millis(10));
    let pace = common::Pace::Every {
        burst: 100,
        polls: 50,
    };
    common::paced(&env, "numbers", 2_000, pace)
        .sink_to_files(FileSink::for_lines(dir.path()).with_config(config().with_stats(&stats)))
        .uid("sink");
    env.execute().expect("runs");
    let listing = list(dir.path());
    assert!(listing.hidden.is_empty(), "{:?}", listing.hidden);
    assert_eq!(visible_lines(&listing), (0..2_000).collect::<Vec<_>>());
    assert!(
        listing.visible.values().all(|text| !text.is_empty()),
        "an empty part was made visible"
    );
    let files = listing.visible.len() as u64;
    assert!(
        stats.committed() > 2 * files,
        "most committed transactions were empty: {} committed, {files} files",
        stats.committed()
    );
    assert_eq!(stats.pending(), 0);
}

#[test]
fn rolling_by_size_makes_several_whole_parts_per_checkpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = env("rolling", 0);
    // Few checkpoints (the job's final ones, on real time): about one transaction per subtask.
    env.enable_checkpointing(common::MANUAL_ONLY);
    let sink = FileSink::for_lines(dir.path())
        .with_rolling(RollingPolicy::by_size(1_000))
        .with_part_prefix("numbers")
        .with_part_suffix(".txt");
    env.generate_sequence(0, 9_999)
        .uid("numbers")
        .sink_to_files(sink)
        .uid("sink");
    env.execute().expect("runs");
    let listing = list(dir.path());
    assert!(listing.hidden.is_empty(), "{:?}", listing.hidden);
    assert_eq!(visible_lines(&listing), (0..10_000).collect::<Vec<_>>());
    // By transaction (the name without its part number): each part but the last is full.
    let mut parts = BTreeMap::<String, Vec<(u32, usize)>>::new();
    for (name, text) in &listing.visible {
        assert!(
            name.starts_with("numbers-") && name.ends_with(".txt"),
            "{name}"
        );
        let stem = name.trim_end_matches(".txt");
        let (transaction, part) = stem.rsplit_once('-').expect("a part number");
        let part = part.parse().expect("a part number");
        parts
            .entry(transaction.to_string())
            .or_default()
            .push((part, text.len()));
    }
    assert!(
        (2..=4).contains(&parts.len()),
        "about one transaction per subtask: {:?}",
        parts.keys()
    );
    assert!(
        parts.values().any(|sizes| sizes.len() >= 10),
        "a transaction of many parts: {parts:?}"
    );
    for (transaction, mut sizes) in parts {
        sizes.sort_unstable();
        let numbers: Vec<u32> = sizes.iter().map(|s| s.0).collect();
        assert_eq!(numbers, (0..sizes.len() as u32).collect::<Vec<_>>());
        let full = &sizes[..sizes.len() - 1];
        assert!(
            full.iter().all(|&(_, len)| (1_000..1_006).contains(&len)),
            "{transaction}: {sizes:?}"
        );
    }
}

#[test]
fn leftover_hidden_files_of_the_job_are_deleted_on_start_and_others_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = env("leftover", 0);
    let job = env.job_id();
    let ours = [
        TransactionId::subtask_prefix(&job, "sink", 1) + "1-0-99.0.pending",
        TransactionId::subtask_prefix(&job, "sink", 1) + "1-0-99.1.pending",
        TransactionId::subtask_prefix(&job, "sink", 0) + "1-0-98.0.inprogress",
    ];
    let theirs = TransactionId::subtask_prefix("another-job", "sink", 1) + "1-0-0.0.pending";
    for name in ours.iter().chain([&theirs]) {
        std::fs::write(dir.path().join(format!(".{name}")), "424242\n").expect("write");
    }
    counts(&env, 1_000)
        .sink_to_files(FileSink::for_lines(dir.path()).with_config(config()))
        .uid("sink");
    env.execute().expect("runs");
    let listing = list(dir.path());
    assert_eq!(
        listing.hidden,
        [format!(".{theirs}")],
        "only the other job's file stays"
    );
    let lines = visible_lines(&listing);
    assert_eq!(lines.len(), 1_000);
    assert!(!lines.contains(&424_242), "a leftover was committed");
}

#[test]
fn a_directory_that_cannot_be_created_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write");
    let target = file.join("out");
    match TransactionalFileSink::open(&FileSink::<u64>::for_lines(&target), 0) {
        Err(FileSinkError::Io {
            operation, path, ..
        }) => {
            assert_eq!(path, target);
            assert_eq!(operation, "create the directory");
        }
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("a sink under a regular file"),
    }
    let bad_prefix = FileSink::<u64>::for_lines(dir.path()).with_part_prefix(".hidden");
    assert!(matches!(
        TransactionalFileSink::open(&bad_prefix, 0),
        Err(FileSinkError::InvalidPartPrefix { .. })
    ));
    // In a job, the failure names the directory.
    let mut env = env("unwritable", 0);
    env.set_restart_strategy(RestartStrategyConfig::NoRestart);
    counts(&env, 100)
        .sink_to_files(FileSink::for_lines(&target))
        .uid("sink");
    let error = env
        .execute()
        .expect_err("the sink cannot start")
        .to_string();
    assert!(error.contains(&target.display().to_string()), "{error}");
}

/// Paced numbers → the file sink, checkpointed under `checkpoints`; no restarts.
fn paced_job(env: &mut StreamEnvironment, job: &str, checkpoints: &Path, out: &Path) {
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(checkpoints)
        .set_job_id(&format!("{job}-{}", std::process::id()));
    // Kept when the job fails, as a crashed process would leave them.
    env.checkpoint_config_mut().externalized_retention =
        ExternalizedCheckpointRetention::RetainOnCancellation;
    let pace = common::Pace::Every {
        burst: 20,
        polls: 1,
    };
    common::paced(env, "numbers", 5_000, pace)
        .rebalance()
        .sink_to_files(FileSink::for_lines(out).with_config(config()))
        .uid("sink");
}

#[test]
fn a_job_stopped_after_a_pre_commit_and_restored_in_a_new_environment_is_exactly_once() {
    let checkpoints = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let mut first = common::no_restart_env();
    paced_job(&mut first, "stopped", checkpoints.path(), out.path());
    // Checkpoint 3 completes, but subtask 0 fails before committing it: its parts stay
    // pending, and nothing restarts the job.
    first.set_fault_injector(FaultInjector::new().with(Fault::FailInCommit {
        target: Target::first_attempt("sink", 0),
        checkpoint: 3,
    }));
    let error = first
        .execute()
        .expect_err("the job fails and is not restarted");
    assert!(
        error.to_string().contains("committing checkpoint 3"),
        "{error}"
    );
    let stopped = list(out.path());
    let pending: Vec<&String> = (stopped.hidden.iter())
        .filter(|n| n.ends_with(".pending"))
        .collect();
    assert!(
        !pending.is_empty(),
        "a pre-committed part is pending: {:?}",
        stopped.hidden
    );
    assert!(
        visible_lines(&stopped).len() < 5_000,
        "the first run did not finish"
    );

    let mut second = common::no_restart_env();
    paced_job(&mut second, "stopped", checkpoints.path(), out.path());
    let report = second
        .restore_from_latest(checkpoints.path())
        .expect("a checkpoint");
    assert!(report.checkpoint_id >= 3, "{report:?}");
    second.execute().expect("the restored job finishes");
    let listing = list(out.path());
    assert!(listing.hidden.is_empty(), "left {:?}", listing.hidden);
    assert_eq!(visible_lines(&listing), (0..5_000).collect::<Vec<_>>());
    for name in pending {
        assert!(
            !out.path().join(name).exists(),
            "{name} was committed or deleted"
        );
    }
}
