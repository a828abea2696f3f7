//! Checkpoint files at the job level: damaged metadata of the newest checkpoint (post-hoc, or torn
//! by a crash while it was written) makes `restore_from_latest` fall back to the previous complete
//! checkpoint, and the restored run is still exactly-once; a process killed with SIGKILL in the
//! middle of a checkpoint restores from its last complete one. Damaged state files:
//! `checkpoint_restore.rs`; orphans after cancellations and aborts: `storage_audit.rs`.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::checkpoint::file_format::encode;
use weir::checkpoint::storage::FileSystemCheckpointStorage;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, FileIdentity, LatestCheckpoint, StateHandle,
    StateLocation, StorageError,
};
use weir::runtime::CheckpointId;
use weir::task::operator::{Operator, StateWriter};
use weir::{
    BoxError, CheckpointFailureReason, CommittedCollector, ExternalizedCheckpointRetention,
    JobError, StreamEnvironment,
};

const JOB: &str = "files";
const TOTAL: u64 = 20_000;
const PER_KEY: u64 = 50;

/// Deterministic, job id `files`, the two newest checkpoints retained even on cancellation.
fn env(parallelism: u32) -> StreamEnvironment {
    let mut env = deterministic_env(3);
    env.set_parallelism(parallelism).set_job_id(JOB);
    let cp = env.checkpoint_config_mut();
    cp.num_retained = 2;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// `0..TOTAL` (one contiguous share per source subtask) keyed by `value / 50` into a per-key
/// sequence.
fn sequence_job(env: &StreamEnvironment, pace: Pace) -> weir::DataStream<(u64, u64, u64)> {
    paced(env, "numbers", TOTAL, pace)
        .key_by(|v| v / PER_KEY)
        .process(Sequence::default())
        .uid("sequence")
}

/// One way to damage a `_metadata` file, and whether an error is the one it must cause.
struct Damage {
    name: &'static str,
    apply: fn(Vec<u8>) -> Vec<u8>,
    detected: fn(&StorageError) -> bool,
}

const DAMAGES: [Damage; 3] = [
    Damage {
        name: "corrupt",
        apply: |mut bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
            bytes
        },
        detected: |e| matches!(e, StorageError::Corrupt { .. }),
    },
    Damage {
        name: "truncated",
        apply: |bytes| bytes[..bytes.len() - 7].to_vec(),
        detected: |e| matches!(e, StorageError::Truncated { .. }),
    },
    Damage {
        name: "foreign",
        apply: |_| b"{\"checkpoint\": 3, \"written-by\": \"someone else\"}".to_vec(),
        detected: |e| matches!(e, StorageError::Foreign { .. }),
    },
];

fn metadata_path(base: &Path, id: CheckpointId) -> PathBuf {
    base.join(JOB).join(format!("chk-{id}")).join("_metadata")
}

/// Restores from the latest checkpoint under `base`: it must be `expected`, with exactly
/// `skipped` (newest first) reported as skipped.
fn assert_restores(env: &mut StreamEnvironment, base: &Path, expected: u64, skipped: &[u64]) {
    let report = env
        .restore_from_latest(base)
        .expect("a complete checkpoint");
    assert_eq!(report.checkpoint_id, expected);
    let named: Vec<String> = report.skipped.iter().map(|e| e.to_string()).collect();
    assert_eq!(named.len(), skipped.len(), "{named:?}");
    for (message, id) in named.iter().zip(skipped) {
        let path = metadata_path(base, *id).display().to_string();
        assert!(message.contains(&path), "{message} does not name {path}");
    }
}

#[test]
fn damaged_metadata_of_the_newest_checkpoint_makes_restore_fall_back_to_the_previous_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = env(2);
    first
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(tmp.path());
    sequence_job(&first, Pace::Every { burst: 1, polls: 1 }).discard();
    let client = spawn_running(&first);
    for id in 1..=3 {
        assert_eq!(trigger(&client).map(|s| s.id), Ok(id));
    }
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    assert_eq!(chk_dirs(&tmp.path().join(JOB)), [(2, true), (3, true)]);
    let newest = metadata_path(tmp.path(), 3);
    let intact = fs::read(&newest).unwrap();
    for damage in &DAMAGES {
        fs::write(&newest, (damage.apply)(intact.clone())).unwrap();
        let mut env = env(2);
        assert_restores(&mut env, tmp.path(), 2, &[3]);
        let storage = FileSystemCheckpointStorage::new(tmp.path(), JOB);
        let error = storage.load(3).unwrap_err();
        assert!((damage.detected)(&error), "{}: {error}", damage.name);
    }
    fs::write(&newest, intact).unwrap();
    assert_restores(&mut env(2), tmp.path(), 3, &[]);
}

/// How the process "dies" at one checkpoint.
#[derive(Clone, Copy)]
enum Crash {
    /// While writing the metadata: a damaged `_metadata` is left behind and the write fails.
    TornMetadata(fn(Vec<u8>) -> Vec<u8>),
    /// In the state write of subtask 0 of the sequence: the file is written, then the write
    /// never returns (a hung disk), so the checkpoint stays in progress until the process dies.
    HungStateWrite,
}

/// File-system storage that crashes at checkpoint `at` as `crash` says, and that, crashed,
/// cleans nothing up.
struct Crashing {
    inner: FileSystemCheckpointStorage,
    at: CheckpointId,
    crash: Crash,
}

impl CheckpointStorage for Crashing {
    fn write_state(
        &self,
        id: CheckpointId,
        uid: &str,
        subtask: u32,
        bytes: &[u8],
    ) -> Result<StateLocation, StorageError> {
        let written = self.inner.write_state(id, uid, subtask, bytes);
        if let (Crash::HungStateWrite, true) =
            (self.crash, (id, uid, subtask) == (self.at, "sequence", 0))
        {
            loop {
                std::thread::park();
            }
        }
        written
    }

    fn read_state(&self, id: CheckpointId, at: &StateHandle) -> Result<Vec<u8>, StorageError> {
        self.inner.read_state(id, at)
    }

    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        let Crash::TornMetadata(damage) = self.crash else {
            return self.inner.write_metadata(metadata);
        };
        if metadata.checkpoint_id != self.at {
            return self.inner.write_metadata(metadata);
        }
        let path = self.inner.checkpoint_dir(self.at).join("_metadata");
        let whole = encode(
            &FileIdentity::Metadata {
                checkpoint_id: self.at,
            },
            metadata,
        )?;
        fs::write(&path, damage(whole)).unwrap();
        let (operation, reason) = ("write", "the process died".into());
        Err(StorageError::Io {
            operation,
            path,
            reason,
        })
    }

    fn discard(&self, id: CheckpointId) -> Result<(), StorageError> {
        match id == self.at {
            true => Ok(()),
            false => self.inner.discard(id),
        }
    }

    fn load(&self, id: CheckpointId) -> Result<CheckpointMetadata, StorageError> {
        self.inner.load(id)
    }

    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError> {
        self.inner.latest_complete()
    }

    fn list(&self) -> Result<Vec<CheckpointId>, StorageError> {
        self.inner.list()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Writes the job's checkpoints under `base` through a storage that crashes at checkpoint `at`.
fn crash_at(env: &mut StreamEnvironment, base: &Path, at: CheckpointId, crash: Crash) {
    env.set_checkpoint_dir(base);
    let inner = FileSystemCheckpointStorage::new(base, JOB);
    env.set_checkpoint_storage(Arc::new(Crashing { inner, at, crash }));
}

/// The sequence job into a committed-output sink, counting what reaches the sink.
fn committed_job(
    env: &StreamEnvironment,
    pace: Pace,
    out: &CommittedCollector<(u64, u64, u64)>,
    progress: &Progress,
) {
    let counted = progress.clone();
    sequence_job(env, pace)
        .map(move |r| {
            counted.add(1);
            r
        })
        .uid("count")
        .collect_committed(out)
        .uid("committed");
}

#[test]
fn a_run_restored_past_a_torn_metadata_write_commits_the_failure_free_output_exactly_once() {
    let expected = expected_sequence(TOTAL, PER_KEY);
    for damage in &DAMAGES {
        let tmp = tempfile::tempdir().unwrap();
        let out = CommittedCollector::new();
        let mut first = env(2);
        first.enable_checkpointing(MANUAL_ONLY);
        crash_at(&mut first, tmp.path(), 3, Crash::TornMetadata(damage.apply));
        let progress = Progress::default();
        committed_job(&first, Pace::Every { burst: 1, polls: 1 }, &out, &progress);
        let client = spawn_running(&first);
        for id in 1..=2 {
            progress.wait_for(id * 500);
            assert_eq!(trigger(&client).map(|s| s.id), Ok(id));
        }
        // The third checkpoint's metadata write dies half-way: not complete, never committed.
        assert!(matches!(
            trigger(&client),
            Err(CheckpointFailureReason::MetadataWrite(_))
        ));
        let (result, _) = finish(client);
        assert!(matches!(result, Err(JobError::CheckpointingFailed { .. })));
        let committed = out.len();
        assert!(committed > 0 && committed < expected.len(), "{committed}");
        let mut second = env(2);
        second
            .enable_checkpointing(Duration::from_millis(10))
            .set_checkpoint_dir(tmp.path());
        assert_restores(&mut second, tmp.path(), 2, &[3]);
        committed_job(&second, Pace::Eager, &out, &Progress::default());
        second.execute().expect("the restored run finishes");
        let mut got = out.records();
        got.sort_unstable();
        assert_eq!(got.len(), expected.len(), "{}: record count", damage.name);
        assert!(got == expected, "{}: committed output differs", damage.name);
    }
}

/// A sink committing each transaction (the records between two barriers) to a file of its own,
/// `<subtask>-<checkpoint>`, written atomically once the checkpoint completes: the external
/// system a killed process and its restored successor share.
struct FileCommit {
    dir: PathBuf,
    subtask: u32,
    open: Vec<(u64, u64, u64)>,
    pending: BTreeMap<CheckpointId, Vec<(u64, u64, u64)>>,
}

impl FileCommit {
    fn commit(&self, id: CheckpointId, records: &[(u64, u64, u64)]) -> Result<(), BoxError> {
        let path = self.dir.join(format!("{}-{id}", self.subtask));
        if path.exists() {
            return Ok(());
        }
        let text: String = records
            .iter()
            .map(|(k, n, v)| format!("{k} {n} {v}\n"))
            .collect();
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, text)?;
        Ok(fs::rename(tmp, path)?)
    }
}

impl Operator<(u64, u64, u64), ()> for FileCommit {
    fn process_batch(
        &mut self,
        input: Vec<(u64, u64, u64)>,
        _: &mut Vec<()>,
    ) -> Result<(), BoxError> {
        self.open.extend(input);
        Ok(())
    }

    fn snapshot_state(&mut self, id: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
        self.pending.insert(id, std::mem::take(&mut self.open));
        let pending = self.pending.clone();
        Ok(Some(Box::new(move || Ok(postcard::to_allocvec(&pending)?))))
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        // The restored checkpoint completed: what it holds is committed (again, idempotently).
        let pending: BTreeMap<CheckpointId, Vec<(u64, u64, u64)>> = postcard::from_bytes(bytes)?;
        pending
            .iter()
            .try_for_each(|(id, records)| self.commit(*id, records))
    }

    fn notify_checkpoint_complete(&mut self, id: CheckpointId) -> Result<(), BoxError> {
        let later = self.pending.split_off(&(id + 1));
        let done = std::mem::replace(&mut self.pending, later);
        done.iter()
            .try_for_each(|(id, records)| self.commit(*id, records))
    }
}

const CHILD_ENV: &str = "WEIR_CHILD_DIR";

/// The child process, killed however the parent's test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
const KILLED: &str = "a_process_killed_mid_checkpoint_restores_from_its_last_complete_checkpoint";

/// The job the child runs (slowly, hanging in checkpoint 3) and the parent, restored, runs
/// eagerly to its end.
fn killable_job(base: &Path, child: bool) -> StreamEnvironment {
    let mut env = env(2);
    let chk = base.join("chk");
    env.enable_checkpointing(Duration::from_millis(10));
    match child {
        true => crash_at(&mut env, &chk, 3, Crash::HungStateWrite),
        false => {
            env.set_checkpoint_dir(&chk);
        }
    }
    let out = base.join("out");
    fs::create_dir_all(&out).unwrap();
    let pace = match child {
        true => Pace::Every { burst: 1, polls: 1 },
        false => Pace::Eager,
    };
    sequence_job(&env, pace)
        .add_sink("Sink: Files", move |info| {
            Ok(FileCommit {
                dir: out.clone(),
                subtask: info.subtask.index,
                open: Vec::new(),
                pending: BTreeMap::new(),
            })
        })
        .uid("files");
    env
}

/// Every record committed to files under `dir` (temp files of an interrupted commit excluded).
fn committed_files(dir: &Path) -> Vec<(u64, u64, u64)> {
    let mut records = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some() {
            continue;
        }
        for line in fs::read_to_string(&path).unwrap().lines() {
            let n: Vec<u64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
            records.push((n[0], n[1], n[2]));
        }
    }
    records.sort_unstable();
    records
}

#[test]
fn a_process_killed_mid_checkpoint_restores_from_its_last_complete_checkpoint() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: runs until killed, its third checkpoint hanging in a state write.
        let _ = killable_job(Path::new(&dir), true).execute();
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Child(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", KILLED, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child starts"),
    );
    // Waiting on another process: poll its checkpoint directory until checkpoints 1 and 2 are
    // complete and checkpoint 3 is half-written.
    let job_dir = tmp.path().join("chk").join(JOB);
    let third = job_dir
        .join("chk-3")
        .join(FileSystemCheckpointStorage::state_file_name("sequence", 0));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !third.is_file() {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the child ended early"
        );
        assert!(
            Instant::now() < deadline,
            "checkpoint 3 never started in 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: kill(2) of our own child, whose pid stays valid until we wait for it.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGKILL) }, 0);
    child.0.wait().unwrap();
    assert_eq!(chk_dirs(&job_dir), [(1, true), (2, true), (3, false)]);
    // The half-written checkpoint is skipped, never taken for a checkpoint.
    let mut restored = killable_job(tmp.path(), false);
    assert_restores(&mut restored, &tmp.path().join("chk"), 2, &[3]);
    restored.execute().expect("the restored run finishes");
    let got = committed_files(&tmp.path().join("out"));
    let expected = expected_sequence(TOTAL, PER_KEY);
    assert_eq!(got.len(), expected.len(), "record count");
    assert!(
        got == expected,
        "committed output differs from the failure-free output"
    );
}
