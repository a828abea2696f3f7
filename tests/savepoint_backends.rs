//! A savepoint restores into either state backend, whichever wrote it: HashMap into RocksDB
//! (full or incremental checkpoints) and RocksDB (full or incremental) into HashMap, also at
//! another parallelism, each time continuing exactly where it was taken (the two runs'
//! committed output is the failure-free run's, record for record). The same-backend cases
//! are the control; at another parallelism they also show that a restored number sequence
//! reads each number once (it once cut a split anew at the new parallelism).

mod common;

use common::kinds::sorted;
use common::*;
use std::path::Path;
use weir::{CommittedCollector, StateBackend, StreamEnvironment};

const JOB: &str = "savepoint-backends";
const TOTAL: u64 = 4_000;
const PER_KEY: u64 = 40;

type Out = CommittedCollector<(u64, u64, u64)>;

fn env(base: &Path, parallelism: u32, backend: &(StateBackend, bool)) -> StreamEnvironment {
    let mut env = deterministic_env(2);
    env.set_parallelism(parallelism)
        .set_job_id(JOB)
        .set_state_backend(backend.0.clone())
        .set_batch_size(8)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(base);
    env.checkpoint_config_mut().incremental = backend.1;
    env
}

/// A split source (it rescales), keyed into a per-key sequence whose counts are keyed state;
/// `slow`, each record takes 200 µs (so a run is stopped before the end of its input).
fn job(env: &StreamEnvironment, progress: &Progress, out: &Out, slow: bool) {
    env.generate_sequence(0, TOTAL - 1)
        .uid("numbers")
        .map(move |v| {
            if slow {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            v
        })
        .uid("pace")
        .key_by(|v| v / PER_KEY)
        .process(Sequence::counting(progress))
        .uid("sequence")
        .collect_committed(out)
        .uid("out");
}

#[test]
fn a_savepoint_restores_into_the_other_backend_exactly_where_it_was_taken() {
    let hashmap = (StateBackend::HashMap, false);
    let full = (StateBackend::rocksdb(), false);
    let incremental = (StateBackend::rocksdb(), true);
    let pairs = [
        ("hashmap → hashmap 2", &hashmap, &hashmap, 2),
        ("hashmap → hashmap 3", &hashmap, &hashmap, 3),
        ("hashmap → rocksdb 2", &hashmap, &full, 2),
        ("hashmap → rocksdb", &hashmap, &full, 3),
        ("hashmap → rocksdb incremental", &hashmap, &incremental, 2),
        ("rocksdb → hashmap", &full, &hashmap, 2),
        ("rocksdb incremental → hashmap", &incremental, &hashmap, 3),
    ];
    for (what, from, to, parallelism) in pairs {
        let tmp = tempfile::tempdir().unwrap();
        let first = env(&tmp.path().join("chk"), 2, from);
        let (progress, out) = (Progress::default(), Out::new());
        job(&first, &progress, &out, true);
        let client = spawn_running(&first);
        progress.wait_for(TOTAL / 10);
        let savepoint = block_on(client.stop_with_savepoint(tmp.path().join("sp")))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        finish(client).0.expect("stopped");
        let committed = out.len();
        assert!(
            committed > 0 && (committed as u64) < TOTAL,
            "{what}: {committed}"
        );

        let mut second = env(&tmp.path().join("chk2"), parallelism, to);
        second
            .restore_from_savepoint(&savepoint.path)
            .expect("restores");
        job(&second, &Progress::default(), &out, false);
        second.execute().unwrap_or_else(|e| panic!("{what}: {e}"));
        let all = sorted(out.records());
        assert_eq!(all.len() as u64, TOTAL, "{what}: lost or repeated records");
        assert_eq!(all, expected_sequence(TOTAL, PER_KEY), "{what}");
    }
}

/// Every file and directory name under `dir`, recursively.
fn names_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("lists").flatten() {
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.path().is_dir() {
            names.extend(names_under(&entry.path()));
        }
    }
    names
}

#[test]
fn a_canonical_savepoint_of_rocksdb_holds_no_rocksdb_files_and_a_native_one_does() {
    use weir::savepoint::SavepointFormat;
    let incremental = (StateBackend::rocksdb(), true);
    let full = (StateBackend::rocksdb(), false);
    let hashmap = (StateBackend::HashMap, false);
    for (format, from, to) in [
        (SavepointFormat::Canonical, &incremental, &hashmap),
        (SavepointFormat::Canonical, &incremental, &incremental),
        (SavepointFormat::Native, &incremental, &hashmap),
        (SavepointFormat::Native, &incremental, &incremental),
        (SavepointFormat::Native, &full, &hashmap),
        (SavepointFormat::Native, &full, &full),
    ] {
        let what = format!("{format:?} of {from:?} → {to:?}");
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let first = env(&tmp.path().join("chk"), 2, from);
        let (progress, out) = (Progress::default(), Out::new());
        job(&first, &progress, &out, true);
        let client = spawn_running(&first);
        progress.wait_for(TOTAL / 10);
        let stop = client.stop_with_savepoint_with_format(tmp.path().join("sp"), format);
        let savepoint = block_on(stop).unwrap_or_else(|e| panic!("{what}: {e}"));
        finish(client).0.expect("stopped");
        let names = names_under(&savepoint.path);
        let rocksdb_files = names
            .iter()
            .any(|n| n.ends_with(".rocksdb") || n == "shared");
        match format {
            SavepointFormat::Canonical => assert!(!rocksdb_files, "{what}: {names:?}"),
            _ => assert!(rocksdb_files, "{what}: {names:?}"),
        }
        // Either format is self-contained: moved, and without the job's own directory, it
        // restores.
        std::fs::remove_dir_all(tmp.path().join("chk")).expect("removed");
        let moved = tmp.path().join("moved");
        std::fs::rename(&savepoint.path, &moved).expect("moved");
        let mut second = env(&tmp.path().join("chk2"), 3, to);
        second.restore_from_savepoint(&moved).expect("restores");
        job(&second, &Progress::default(), &out, false);
        second.execute().unwrap_or_else(|e| panic!("{what}: {e}"));
        let all = sorted(out.records());
        assert_eq!(all, expected_sequence(TOTAL, PER_KEY), "{what}");
    }
}
