//! Helpers shared by the checkpoint tests: environments that never restart, a paced source (its
//! pauses are what lets the paused clock of deterministic mode advance), a per-key sequence
//! function, a runner that keeps a job's checkpoint statistics, a view of a job's checkpoint
//! directory, two hand-offs between a test thread and a job's threads (`Progress`, `Gate`),
//! seed counts for sweeps, the supervision tests' job ([`supervised`]), and a source the test
//! releases phase by phase ([`phased`]).
#![allow(dead_code)]

pub mod kinds;
pub mod phased;
pub mod rocks_store;
pub mod supervised;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use weir::runtime::graph::task::SourceStatus;
use weir::source::{split_range, SourceReader};
use weir::{
    BoxError, CheckpointFailureReason, CheckpointStats, CheckpointStatus, Configuration,
    DataStream, Fault, JobClient, JobError, JobResult, JobStatus, KeyedContext,
    KeyedProcessFunction, RuntimeContext, StreamEnvironment, Target, ValueState,
};

/// An interval no test reaches: only `trigger_checkpoint()` triggers checkpoints.
pub const MANUAL_ONLY: Duration = Duration::from_secs(24 * 3600);

/// Guards every wait of a test thread on a job: a hang fails the test instead of blocking it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// An environment whose job never restarts: a failure ends it, whatever the default restart
/// strategy is.
pub fn no_restart_env() -> StreamEnvironment {
    let mut conf = Configuration::new();
    conf.set("restart-strategy.type", "none")
        .expect("known key");
    StreamEnvironment::from_configuration(&conf).expect("valid")
}

/// A deterministic-mode environment (one arbiter, paused clock) whose job never restarts.
pub fn deterministic_env(seed: u64) -> StreamEnvironment {
    let mut env = no_restart_env();
    env.set_deterministic(seed);
    env
}

/// How a paced source reads.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// `burst` records on one poll in `polls`; after every poll the source pauses 1 ms of
    /// (virtual) time.
    Every { burst: u64, polls: u64 },
    /// As fast as the job takes records, never idle (in deterministic mode every source turn
    /// still takes 1 ms of virtual time).
    Eager,
}

/// Reads its contiguous share of `0..total`, paced; its position is the next value.
pub struct Paced {
    next: u64,
    end: u64,
    pace: Pace,
    polls: u64,
}

impl Paced {
    /// Subtask `index` of `parallelism`'s share of `0..total`.
    pub fn new(total: u64, index: u32, parallelism: u32, pace: Pace) -> Paced {
        let (next, end) = split_range(total, index, parallelism);
        Paced {
            next,
            end,
            pace,
            polls: 0,
        }
    }
}

impl SourceReader<u64> for Paced {
    fn read(&mut self, max: usize, out: &mut Vec<u64>) -> Result<SourceStatus, BoxError> {
        let wanted = match self.pace {
            Pace::Eager => max as u64,
            Pace::Every { burst, polls } => {
                self.polls += 1;
                if self.polls % polls.max(1) == 0 {
                    burst.min(max as u64)
                } else {
                    0
                }
            }
        };
        let stop = self.end.min(self.next + wanted);
        out.extend(self.next..stop);
        self.next = stop;
        Ok(match self.pace {
            _ if self.next >= self.end => SourceStatus::Finished,
            Pace::Eager => SourceStatus::More,
            _ => SourceStatus::Idle,
        })
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(self.next.to_le_bytes().to_vec())
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = u64::from_le_bytes(position.try_into()?);
        Ok(())
    }
}

/// A paced source of `0..total` with uid `uid`.
pub fn paced(env: &StreamEnvironment, uid: &str, total: u64, pace: Pace) -> DataStream<u64> {
    env.add_source_reader("Paced", move |info| {
        Ok(Paced::new(
            total,
            info.subtask.index,
            info.subtask.parallelism,
            pace,
        ))
    })
    .uid(uid)
}

/// Per key, a number rising by one with each record (Flink's exactly-once check); emits
/// `(key, number, value)`.
#[derive(Clone, Default)]
pub struct Sequence {
    seq: ValueState<u64>,
    progress: Option<Progress>,
}

impl Sequence {
    /// A sequence that counts the records it processes into `progress`.
    pub fn counting(progress: &Progress) -> Sequence {
        Sequence {
            seq: ValueState::default(),
            progress: Some(progress.clone()),
        }
    }
}

impl KeyedProcessFunction<u64, u64, (u64, u64, u64)> for Sequence {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.seq = ctx.value_state("seq")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64, u64)>,
    ) -> Result<(), BoxError> {
        let n = *self.seq.modify(ctx, || 0, |s| *s += 1);
        out.push((*ctx.current_key(), n, value));
        if let Some(progress) = &self.progress {
            progress.add(1);
        }
        Ok(())
    }
}

/// Subtask 0 of the task whose first operator is `uid` acknowledges `checkpoint` (every
/// one when `None`) `delay` late.
pub fn slow_ack(uid: &str, checkpoint: Option<u64>, delay: Duration) -> Fault {
    Fault::DelayAcknowledgement {
        target: Target::first_attempt(uid, 0),
        checkpoint,
        delay,
    }
}

/// What [`Sequence`] emits, failure-free, for `0..total` keyed by `value / per_key` when each
/// key's values come from one source subtask in order; sorted.
pub fn expected_sequence(total: u64, per_key: u64) -> Vec<(u64, u64, u64)> {
    (0..total)
        .map(|v| (v / per_key, v % per_key + 1, v))
        .collect()
}

/// Runs `f` on a runtime of the test thread, failing the test if it hangs.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(HANG_GUARD, f)
            .await
            .expect("the job hangs")
    })
}

/// Starts the job and waits until it runs (its checkpoint coordinator is then up).
pub fn spawn_running(env: &StreamEnvironment) -> JobClient {
    let client = env.spawn().expect("job starts");
    let mut status = client.subscribe_status();
    block_on(status.wait_for(|s| *s != JobStatus::Created)).expect("status");
    client
}

/// Triggers a checkpoint and waits for its outcome.
pub fn trigger(client: &JobClient) -> Result<CheckpointStats, CheckpointFailureReason> {
    block_on(client.trigger_checkpoint())
}

/// Waits for the job to end; returns its result and the statistics of its checkpoints, without
/// those aborted because the job was ending (they race with the end itself).
pub fn finish(client: JobClient) -> (Result<JobResult, JobError>, Vec<CheckpointStats>) {
    let mut status = client.subscribe_status();
    block_on(status.wait_for(|s| s.is_terminal())).expect("status");
    let stats = client
        .checkpoint_stats()
        .into_iter()
        .filter(|s| s.status != CheckpointStatus::Failed(CheckpointFailureReason::JobTerminating))
        .collect();
    (client.wait_blocking(), stats)
}

/// Ids of the completed checkpoints among `stats`.
pub fn completed_ids(stats: &[CheckpointStats]) -> Vec<u64> {
    stats
        .iter()
        .filter(|s| s.status == CheckpointStatus::Completed)
        .map(|s| s.id)
        .collect()
}

/// Every `chk-<n>` entry of a job's checkpoint directory, ascending, with whether it holds a
/// `_metadata` file. An entry named `chk-…` that is not `chk-<number>` fails the test.
pub fn chk_dirs(job_dir: &Path) -> Vec<(u64, bool)> {
    let Ok(entries) = std::fs::read_dir(job_dir) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, bool)> = entries
        .map(|e| e.expect("dir entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            let id = name.strip_prefix("chk-")?;
            let id = id.parse().unwrap_or_else(|_| panic!("odd entry {name}"));
            Some((id, path.join("_metadata").is_file()))
        })
        .collect();
    out.sort_unstable();
    out
}

/// Checks that a job's `shared/` directory holds exactly the shared files its complete
/// checkpoints refer to: none missing, no orphan.
pub fn assert_no_orphan_shared_files(job_dir: &Path) {
    use weir::runtime::checkpoint::storage::CheckpointStorage;
    let storage = weir::checkpoint::storage::FileSystemCheckpointStorage::at_job_dir(job_dir);
    let mut referenced = std::collections::BTreeSet::new();
    for (id, complete) in chk_dirs(job_dir) {
        if complete {
            let metadata = storage.load(id).expect("metadata loads");
            referenced.extend(metadata.shared_files().map(|p| job_dir.join(p)));
        }
    }
    let present: std::collections::BTreeSet<_> = match std::fs::read_dir(job_dir.join("shared")) {
        Ok(entries) => entries.map(|e| e.expect("dir entry").path()).collect(),
        Err(_) => Default::default(),
    };
    assert_eq!(
        present,
        referenced,
        "shared/ must hold exactly the files the complete checkpoints refer to (checkpoint \
         directories, with whether complete: {:?})",
        chk_dirs(job_dir)
    );
}

/// How many seeds a sweep runs: the number in the environment variable `var`, else `default`.
/// Anything but a positive number fails the test: a sweep of no seed proves nothing.
pub fn seed_count(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Err(std::env::VarError::NotPresent) => default,
        Ok(value) => match value.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{var}={value:?}: a sweep needs a positive number of seeds"),
        },
        Err(e) => panic!("{var}: {e}"),
    }
}

/// Fails unless at least 80 % of a sweep's `seeds` runs (and at least one) restored from a
/// checkpoint: a sweep whose runs mostly start over proves little about restores.
pub fn assert_most_restored(restored: u64, seeds: u64, what: &str) {
    assert!(seeds > 0, "{what}: no seed ran");
    assert!(
        restored * 5 >= seeds * 4,
        "{what}: only {restored} of {seeds} runs restored from a checkpoint (at least 80 % must)"
    );
}

/// Counts records a test operator saw, so a test can wait for the job to get somewhere.
#[derive(Clone, Default)]
pub struct Progress(Arc<(Mutex<u64>, Condvar)>);

impl Progress {
    /// Counts `n` more.
    pub fn add(&self, n: u64) {
        let (count, changed) = &*self.0;
        *count.lock().expect("lock") += n;
        changed.notify_all();
    }

    /// How many were counted so far.
    pub fn count(&self) -> u64 {
        *self.0 .0.lock().expect("lock")
    }

    /// Waits until at least `n` were counted.
    pub fn wait_for(&self, n: u64) {
        let (count, changed) = &*self.0;
        let guard = count.lock().expect("lock");
        let (guard, timeout) = changed
            .wait_timeout_while(guard, HANG_GUARD, |c| *c < n)
            .expect("lock");
        assert!(!timeout.timed_out(), "only {} of {n} records seen", *guard);
    }
}

/// Two flags a test thread and a job's thread hand each other: "entered" and "open".
#[derive(Default)]
pub struct Gate {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Gate {
    /// Says the gate was reached, and waits until it is opened.
    pub fn enter_and_wait(&self) {
        self.update(|s| s.0 = true);
        self.wait(|s| s.1);
    }

    /// Waits until the gate was reached.
    pub fn wait_entered(&self) {
        self.wait(|s| s.0);
    }

    /// Opens the gate.
    pub fn open(&self) {
        self.update(|s| s.1 = true);
    }

    fn update(&self, f: impl FnOnce(&mut (bool, bool))) {
        f(&mut self.state.lock().expect("lock"));
        self.changed.notify_all();
    }

    fn wait(&self, until: impl Fn(&(bool, bool)) -> bool) {
        let guard = self.state.lock().expect("lock");
        let waited = self
            .changed
            .wait_timeout_while(guard, HANG_GUARD, |s| !until(s));
        assert!(
            !waited.expect("lock").1.timed_out(),
            "the gate was never reached"
        );
    }
}
