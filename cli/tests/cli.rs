//! The `weir` binary on savepoints and checkpoints these tests make (HashMap, RocksDB full and
//! incremental; a split source, a keyed operator and operator list state; parallelism 2): the
//! `--json` output parsed back and checked against the metadata, errors naming the file with
//! exit code 1, incomplete checkpoints listed as such, `diff`, `dispose` and `plan`.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::Duration;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::CheckpointStorage;
use weir::{
    BoxError, CheckpointedFunction, CommittedCollector, ExternalizedCheckpointRetention, Operator,
    OperatorListState, OperatorStateContext, StateBackend, StateWriter, StreamEnvironment,
};

const JOB: &str = "cli-test";
const MAX_PARALLELISM: u64 = 128;

/// Keeps the last value it saw in operator list state.
#[derive(Clone, Default)]
struct Last {
    last: Option<OperatorListState<u64>>,
}

impl CheckpointedFunction<u64, u64> for Last {
    fn open(&mut self, ctx: &mut OperatorStateContext<'_>) -> Result<(), BoxError> {
        self.last = Some(ctx.list_state::<u64>("last")?);
        Ok(())
    }

    fn process_element(&mut self, value: u64, out: &mut Vec<u64>) -> Result<(), BoxError> {
        self.last.as_ref().ok_or("not opened")?.update(vec![value]);
        out.push(value);
        Ok(())
    }
}

/// Counts its records and snapshots the count in a format of its own: opaque to `weir`.
struct Tally(u64);

impl Operator<u64, u64> for Tally {
    fn process_batch(&mut self, input: Vec<u64>, out: &mut Vec<u64>) -> Result<(), BoxError> {
        self.0 += input.len() as u64;
        out.extend(input);
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: u64) -> Result<Option<StateWriter>, BoxError> {
        let text = format!("tally {}", self.0);
        Ok(Some(Box::new(move || Ok(text.into_bytes()))))
    }
}

/// What a test job left: its temporary directory, its savepoint, its job checkpoint directory.
struct Made {
    _dir: tempfile::TempDir,
    savepoint: PathBuf,
    checkpoints: PathBuf,
}

impl Made {
    fn job_dir(&self) -> PathBuf {
        self.checkpoints.join(JOB)
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), f).await })
        .expect("the job hangs")
}

/// Signals once, when the 2 000th record passed.
fn counter(tx: SyncSender<()>) -> impl Fn(u64) -> (u64, u64) + Clone + Send + Sync + 'static {
    let seen = Arc::new(AtomicU64::new(0));
    move |x| {
        if seen.fetch_add(1, Ordering::Relaxed) == 2_000 {
            let _ = tx.try_send(());
        }
        (x % 97, 1)
    }
}

/// Runs the job (parallelism 2) until 2 000 records passed, takes a checkpoint and a savepoint,
/// and cancels it. `last`: with the operator-list-state operator `last` after `plus`.
fn make(backend: StateBackend, incremental: bool, last: bool) -> Made {
    // RocksDB's in its native format (its files are what inspect shows), the heap's canonical.
    let format = match backend {
        StateBackend::HashMap => weir::savepoint::SavepointFormat::Canonical,
        _ => weir::savepoint::SavepointFormat::Native,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let checkpoints = dir.path().join("checkpoints");
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_job_id(JOB)
        .set_state_backend(backend)
        .enable_checkpointing(Duration::from_secs(3600))
        .set_checkpoint_dir(&checkpoints);
    let cp = env.checkpoint_config_mut();
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    cp.incremental = incremental;
    cp.num_retained = 5;
    let (tx, rx) = sync_channel(1);
    let plus = env
        .generate_sequence(0, u64::MAX - 1)
        .uid("numbers")
        .map(counter(tx))
        .uid("ones")
        .key_by(|(k, _)| *k)
        .reduce(|(k, a), (_, b)| (k, a + b))
        .uid("counts")
        .map(|(k, c)| k + c)
        .uid("plus");
    if last {
        let out = CommittedCollector::new();
        let last = plus.process_with_state(Last::default()).uid("last");
        let tally = last.transform("Tally", |_| Ok(Tally(0))).uid("tally");
        tally.collect_committed(&out).uid("out");
    } else {
        plus.discard().uid("out");
    }
    let client = env.spawn().expect("job starts");
    rx.recv().expect("records flow");
    block_on(client.trigger_checkpoint()).expect("checkpoint");
    let at = dir.path().join("savepoints");
    let savepoint = block_on(client.trigger_savepoint_with_format(at, format))
        .expect("savepoint")
        .path;
    // Cancelled, the job leaves its checkpoints in place (a finished job deletes them).
    client.cancel();
    let _ = client.wait_blocking();
    Made {
        _dir: dir,
        savepoint,
        checkpoints,
    }
}

fn weir(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    for arg in args {
        command.arg(arg);
    }
    command.output().expect("the weir binary runs")
}

/// Runs `weir … --json`, which must succeed, and parses its output.
fn json(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Value {
    let out = weir(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Runs `weir …`, which must fail with `code`; its stderr.
fn fails(code: i32, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let out = weir(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn operator<'a>(report: &'a Value, uid: &str) -> &'a Value {
    let ops = report["operators"].as_array().expect("operators");
    ops.iter()
        .find(|o| o["uid"] == uid)
        .unwrap_or_else(|| panic!("no operator {uid}: {report}"))
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The savepoint's directory (`_metadata` at its top) and its metadata, read by the library.
fn metadata(
    savepoint: &Path,
) -> (
    PathBuf,
    weir::runtime::checkpoint::storage::CheckpointMetadata,
) {
    let storage = FileSystemCheckpointStorage::at_snapshot_dir(savepoint);
    let id = storage
        .list()
        .expect("lists")
        .pop()
        .expect("a _metadata at the top");
    (
        savepoint.to_path_buf(),
        storage.load(id).expect("metadata loads"),
    )
}

/// The key-group ranges of `subtasks` cover `0..MAX_PARALLELISM` exactly once.
fn assert_key_groups_cover_all(subtasks: &Value) {
    let mut covered = vec![0u32; MAX_PARALLELISM as usize];
    for s in subtasks.as_array().expect("subtasks") {
        for g in u64_of(&s["key_groups"]["first"])..=u64_of(&s["key_groups"]["last"]) {
            covered[g as usize] += 1;
        }
    }
    assert!(covered.iter().all(|&c| c == 1), "{covered:?}");
}

/// What every backend's savepoint must show.
fn check_inspect(made: &Made, backend: &str) {
    let report = json(&[&"savepoint", &"inspect", &made.savepoint, &"--json"]);
    let (_, meta) = metadata(&made.savepoint);
    assert_eq!(report["kind"], "savepoint");
    assert_eq!(report["job_id"], JOB);
    assert_eq!(u64_of(&report["checkpoint_id"]), meta.checkpoint_id);
    assert_eq!(u64_of(&report["max_parallelism"]), MAX_PARALLELISM);
    assert_eq!(u64_of(&report["state_bytes"]), meta.state_size());
    let mut sum = 0;
    for v in report["vertices"].as_array().expect("vertices") {
        assert_eq!(u64_of(&v["parallelism"]), 2);
        assert_key_groups_cover_all(&v["subtasks"]);
        for s in v["subtasks"].as_array().expect("subtasks") {
            let recorded = meta
                .state_of(v["uid"].as_str().expect("uid"), u64_of(&s["index"]) as u32)
                .expect("a handle");
            assert_eq!(u64_of(&s["state_bytes"]), recorded.size);
            assert!(recorded.size > 0);
            sum += recorded.size;
        }
    }
    assert_eq!(sum, meta.state_size());
    let counts = operator(&report, "counts");
    assert_eq!(counts["backend"], backend);
    assert_eq!(u64_of(&counts["parallelism"]), 2);
    assert_key_groups_cover_all(&counts["subtasks"]);
    let state = &counts["states"][0];
    assert_eq!(state["name"], "reduce");
    assert_eq!(state["kind"], "ValueState");
    assert!(state["type_name"]
        .as_str()
        .expect("type")
        .starts_with("ValueState<"));
    assert_eq!(state["subtasks"], serde_json::json!([0, 1]));
    assert_eq!(counts["subtasks_with_state"], serde_json::json!([0, 1]));
    assert!(u64_of(&counts["state_bytes"]) > 0);
    for s in counts["subtasks"].as_array().expect("subtasks") {
        let format = match backend {
            "heap" => "keyed_canonical",
            _ => "keyed",
        };
        assert_eq!(s["format"], format);
        assert!(u64_of(&s["state_bytes"]) > 0);
    }
    let numbers = operator(&report, "numbers");
    assert_eq!(numbers["source_position"], true);
    for s in numbers["subtasks"].as_array().expect("subtasks") {
        assert!(!s["source"]["splits"].as_array().expect("splits").is_empty());
    }
    let table = weir(&[&"savepoint", &"inspect", &made.savepoint]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success());
    assert!(text.contains("counts") && text.contains("reduce"), "{text}");
    assert!(text.contains(&backend.replace('_', " ")), "{text}");
}

#[test]
fn inspect_shows_a_heap_savepoint_and_the_job_checkpoints() {
    let made = make(StateBackend::HashMap, false, false);
    check_inspect(&made, "heap");
    let (chk, _) = metadata(&made.savepoint);
    let whole = json(&[&"savepoint", &"inspect", &made.savepoint, &"--json"]);
    for path in [chk.clone(), chk.join("_metadata")] {
        assert_eq!(json(&[&"savepoint", &"inspect", &path, &"--json"]), whole);
    }
    let listing = json(&[&"checkpoint", &"list", &made.job_dir(), &"--json"]);
    let chk = &listing["jobs"][0]["checkpoints"][0];
    assert_eq!(chk["complete"], true);
    let report = json(&[
        &"checkpoint",
        &"inspect",
        &chk["path"].as_str().expect("path"),
        &"--json",
    ]);
    assert_eq!(report["kind"], "checkpoint");
    assert_eq!(operator(&report, "counts")["backend"], "heap");
}

#[test]
fn inspect_shows_a_rocksdb_full_savepoint() {
    check_inspect(&make(StateBackend::rocksdb(), false, false), "rocksdb_full");
}

#[test]
fn inspect_shows_a_rocksdb_incremental_savepoint() {
    let made = make(StateBackend::rocksdb(), true, false);
    check_inspect(&made, "rocksdb_incremental");
    let report = json(&[&"savepoint", &"inspect", &made.savepoint, &"--json"]);
    for s in operator(&report, "counts")["subtasks"]
        .as_array()
        .expect("subtasks")
    {
        assert!(u64_of(&s["rocksdb"]["shared_files"]) > 0, "{s}");
    }
}

#[test]
fn list_shows_unfinished_and_damaged_checkpoints_as_incomplete_and_changes_nothing() {
    let made = make(StateBackend::HashMap, false, false);
    let unfinished = made.job_dir().join("chk-999");
    fs::create_dir(&unfinished).expect("mkdir");
    fs::write(unfinished.join("counts-0.state"), b"half").expect("write");
    let listing = json(&[&"checkpoint", &"list", &made.checkpoints, &"--json"]);
    let jobs = listing["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 1);
    let checkpoints = jobs[0]["checkpoints"].as_array().expect("checkpoints");
    let last = checkpoints.last().expect("one");
    assert_eq!(u64_of(&last["id"]), 999);
    assert_eq!(last["complete"], false);
    assert!(last["problem"].as_str().expect("why").contains("_metadata"));
    assert_eq!(u64_of(&last["disk_bytes"]), 4);
    let complete: Vec<&Value> = checkpoints
        .iter()
        .filter(|c| c["complete"] == true)
        .collect();
    assert!(!complete.is_empty());
    for c in complete {
        assert!(u64_of(&c["state_bytes"]) > 0 && u64_of(&c["timestamp_ms"]) > 0);
    }
    assert_eq!(
        fs::read(unfinished.join("counts-0.state")).expect("kept"),
        b"half"
    );
    let text = weir(&[&"checkpoint", &"list", &made.job_dir()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("incomplete"));

    // A damaged state file makes its checkpoint incomplete, the file named.
    let first = PathBuf::from(checkpoints[0]["path"].as_str().expect("path"));
    let damaged = first.join("counts-1.state");
    let mut bytes = fs::read(&damaged).expect("reads");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&damaged, &bytes).expect("write");
    let listing = json(&[&"checkpoint", &"list", &made.job_dir(), &"--json"]);
    let entry = &listing["jobs"][0]["checkpoints"][0];
    assert_eq!(entry["complete"], false);
    let problem = entry["problem"].as_str().expect("why");
    assert!(problem.contains(&*damaged.to_string_lossy()), "{problem}");
    let stderr = fails(1, &[&"checkpoint", &"inspect", &first]);
    assert!(stderr.contains(&*damaged.to_string_lossy()), "{stderr}");
}

#[test]
fn a_damaged_metadata_or_a_foreign_path_fails_with_exit_code_1_naming_it() {
    let made = make(StateBackend::HashMap, false, false);
    let (chk, _) = metadata(&made.savepoint);
    let file = chk.join("_metadata");
    let good = fs::read(&file).expect("reads");
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0xff;
    for bad in [
        good[..good.len() / 2].to_vec(),
        flipped,
        b"not weir".to_vec(),
    ] {
        fs::write(&file, &bad).expect("write");
        for command in ["savepoint", "checkpoint"] {
            let stderr = fails(1, &[&command, &"inspect", &made.savepoint]);
            assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        }
        let stderr = fails(1, &[&"savepoint", &"dispose", &made.savepoint]);
        assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
    }
    let foreign = tempfile::tempdir().expect("temp dir");
    for command in [["savepoint", "inspect"], ["checkpoint", "list"]] {
        let stderr = fails(1, &[&command[0], &command[1], &foreign.path()]);
        assert!(
            stderr.contains(&*foreign.path().to_string_lossy()),
            "{stderr}"
        );
    }
    let missing = foreign.path().join("nothing-here");
    let stderr = fails(1, &[&"savepoint", &"diff", &missing, &made.savepoint]);
    assert!(stderr.contains("nothing-here"), "{stderr}");
}

#[test]
fn diff_names_the_operator_one_job_added_and_dispose_removes_a_savepoint() {
    let (a, b) = (
        make(StateBackend::HashMap, false, false),
        make(StateBackend::HashMap, false, true),
    );
    let report = json(&[&"savepoint", &"inspect", &b.savepoint, &"--json"]);
    let last = operator(&report, "last");
    assert_eq!(last["states"][0]["name"], "last");
    assert_eq!(last["states"][0]["kind"], "OperatorListState");
    assert_eq!(last["subtasks"][0]["format"], "operator");
    let sink = operator(&report, "out");
    assert_eq!(sink["states"][0]["name"], "two-phase-commit-transactions");
    let tally = operator(&report, "tally");
    assert_eq!(tally["states"], serde_json::json!([]));
    for s in tally["subtasks"].as_array().expect("subtasks") {
        assert_eq!(s["format"], "opaque");
        assert!(u64_of(&s["state_bytes"]) > "tally ".len() as u64, "{s}");
    }
    let diff = json(&[&"savepoint", &"diff", &a.savepoint, &b.savepoint, &"--json"]);
    assert_eq!(diff["only_in_a"], serde_json::json!([]));
    assert_eq!(diff["only_in_b"], serde_json::json!(["last", "tally"]));
    let both = diff["in_both"].as_array().expect("in both");
    let uids: Vec<&str> = both.iter().filter_map(|o| o["uid"].as_str()).collect();
    assert_eq!(uids, ["counts", "numbers", "ones", "out", "plus"]);
    for op in both {
        // The sink's uid stayed, but its state came with the two-phase-commit sink of `b`.
        let sink = op["uid"] == "out";
        assert_eq!(op["changed"], sink, "{op}");
        let added = &op["states_added"];
        assert_eq!(
            added.as_array().map(Vec::len),
            Some(usize::from(sink)),
            "{op}"
        );
        if sink {
            assert_eq!(added[0]["name"], "two-phase-commit-transactions");
            assert_eq!(u64_of(&op["state_bytes"]["a"]), 0);
        }
    }
    let text = weir(&[&"savepoint", &"diff", &a.savepoint, &b.savepoint]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("operators only in b: last, tally"));

    let disposed = json(&[&"savepoint", &"dispose", &a.savepoint, &"--json"]);
    assert!(!disposed["deleted"].as_array().expect("deleted").is_empty());
    assert!(!a.savepoint.exists());
    let stderr = fails(1, &[&"savepoint", &"dispose", &a.savepoint]);
    assert!(stderr.contains(&*a.savepoint.to_string_lossy()), "{stderr}");
}

#[test]
fn plan_says_why_it_cannot_run_offline_and_exits_with_2() {
    let stderr = fails(
        2,
        &[
            &"savepoint",
            &"plan",
            &"some/savepoint",
            &"--against",
            &"job",
        ],
    );
    assert!(
        stderr.contains("StreamEnvironment::plan_restore"),
        "{stderr}"
    );
    assert!(stderr.contains("weir savepoint diff"), "{stderr}");
}
