//! Barrier alignment, end to end: two source subtasks feed one stateful operator (parallelism 1)
//! that remembers every record it has seen. A checkpoint is read back by restoring a second job
//! from it: the sources report the positions they restore and the operator the records its state
//! holds. Aligned (exactly-once) snapshots must hold exactly the records each input emitted before
//! its barrier.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir::runtime::graph::task::SourceStatus;
use weir::runtime::CheckpointId;
use weir::source::SourceReader;
use weir::task::operator::{Operator, StateWriter};
use weir::{
    BoxError, CheckpointingMode, CommittedCollector, ExternalizedCheckpointRetention, JobError,
    StreamEnvironment,
};

const JOB: &str = "align";

/// `(source subtask, sequence number)`.
type Rec = (u32, u64);

/// Records an operator has seen, and how many of them it saw twice.
type Seen = (BTreeSet<Rec>, u64);

/// Records per source subtask: the fast one reads much more than the slow one.
const ENDS: [u64; 2] = [300_000, 20_000];

/// What the jobs report to the test.
#[derive(Clone, Default)]
struct Probes {
    /// Source positions restored, by subtask.
    restored_positions: Arc<Mutex<BTreeMap<u32, u64>>>,
    /// Records the operator's restored state holds.
    restored_seen: Arc<Mutex<Option<BTreeSet<Rec>>>>,
    /// Records the operator had seen at end of input, and how many it saw twice.
    final_seen: Arc<Mutex<Option<Seen>>>,
    progress: Progress,
}

/// Emits `(index, 0..ENDS[index])` without idling: subtask 0 64 records a read, subtask 1 one,
/// slowly (restored: both as many as they may). Run threaded, the fast input's records emitted
/// after its barrier reach the recorder before the slow input's barrier: the window alignment
/// closes.
struct Marked {
    index: u32,
    next: u64,
    eager: bool,
    release: Arc<AtomicBool>,
    probes: Probes,
}

impl SourceReader<Rec> for Marked {
    fn read(&mut self, max: usize, out: &mut Vec<Rec>) -> Result<SourceStatus, BoxError> {
        if !self.eager && self.index == 1 {
            // The slow input is slow for real: each of its reads costs 100 µs of work, during
            // which a checkpoint trigger waits in its mailbox.
            let busy_until = Instant::now() + Duration::from_micros(100);
            while Instant::now() < busy_until {
                std::hint::spin_loop();
            }
        }
        let end = ENDS[self.index as usize];
        let wanted = match (self.eager, self.index) {
            (true, _) => max as u64,
            (false, 0) => 64,
            (false, _) => 1,
        };
        let stop = end.min(self.next + wanted);
        out.extend((self.next..stop).map(|seq| (self.index, seq)));
        self.next = stop;
        Ok(if self.next < end {
            SourceStatus::More
        } else if self.release.load(Ordering::SeqCst) {
            SourceStatus::Finished
        } else {
            SourceStatus::Idle
        })
    }

    fn snapshot_position(&self) -> Result<Vec<u8>, BoxError> {
        Ok(self.next.to_le_bytes().to_vec())
    }

    fn restore_position(&mut self, position: &[u8]) -> Result<(), BoxError> {
        self.next = u64::from_le_bytes(position.try_into()?);
        let mut restored = self.probes.restored_positions.lock().unwrap();
        restored.insert(self.index, self.next);
        Ok(())
    }
}

/// Remembers every record it sees.
struct Recorder {
    seen: BTreeSet<Rec>,
    duplicates: u64,
    probes: Probes,
}

impl Operator<Rec, Rec> for Recorder {
    fn process_batch(&mut self, input: Vec<Rec>, _: &mut Vec<Rec>) -> Result<(), BoxError> {
        self.probes.progress.add(input.len() as u64);
        for record in input {
            if !self.seen.insert(record) {
                self.duplicates += 1;
            }
        }
        Ok(())
    }

    fn end_of_input(&mut self, _: &mut Vec<Rec>) -> Result<(), BoxError> {
        *self.probes.final_seen.lock().unwrap() = Some((self.seen.clone(), self.duplicates));
        Ok(())
    }

    fn snapshot_state(&mut self, _: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
        let state = (self.seen.clone(), self.duplicates);
        Ok(Some(Box::new(move || Ok(postcard::to_allocvec(&state)?))))
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        (self.seen, self.duplicates) = postcard::from_bytes(bytes)?;
        *self.probes.restored_seen.lock().unwrap() = Some(self.seen.clone());
        Ok(())
    }
}

/// How a job runs: deterministic (one arbiter, paused clock), where both barriers of a checkpoint
/// reach the recorder at the same virtual instant, or on three arbiter threads, where the fast
/// input keeps emitting between them.
#[derive(Clone, Copy)]
enum Run {
    Deterministic,
    Threaded,
}

fn env(dir: &Path, mode: CheckpointingMode, run: Run) -> StreamEnvironment {
    let mut env = match run {
        Run::Deterministic => deterministic_env(5),
        Run::Threaded => no_restart_env(),
    };
    env.set_arbiters(3)
        .set_parallelism(1)
        .set_job_id(JOB)
        .enable_checkpointing(MANUAL_ONLY)
        .set_checkpoint_dir(dir);
    let cp = env.checkpoint_config_mut();
    cp.mode = mode;
    cp.num_retained = 10;
    cp.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    env
}

/// Two source subtasks of different speeds keyed into one recorder. A source at its end
/// finishes once `release` is set, and idles until then.
fn alignment_job(env: &StreamEnvironment, probes: &Probes, eager: bool, release: bool) {
    let (source_probes, recorder_probes) = (probes.clone(), probes.clone());
    let release = Arc::new(AtomicBool::new(release));
    env.add_source_reader("Marked", move |info| {
        Ok(Marked {
            index: info.subtask.index,
            next: 0,
            eager,
            release: release.clone(),
            probes: source_probes.clone(),
        })
    })
    .uid("marked")
    .set_parallelism(2)
    .key_by(|r: &Rec| r.0)
    .transform("Recorder", move |_| {
        Ok(Recorder {
            seen: BTreeSet::new(),
            duplicates: 0,
            probes: recorder_probes.clone(),
        })
    })
    .uid("recorder")
    .discard();
}

/// Takes three checkpoints of a running job (the sources mid-stream), then cancels it.
fn three_checkpoints(dir: &Path, mode: CheckpointingMode, run: Run) -> Vec<CheckpointId> {
    let env = env(dir, mode, run);
    let probes = Probes::default();
    alignment_job(&env, &probes, false, false);
    let client = spawn_running(&env);
    let mut ids = Vec::new();
    for k in 1..=3 {
        probes.progress.wait_for(k * 3_000);
        ids.push(trigger(&client).expect("checkpoint completes").id);
    }
    client.cancel();
    assert_eq!(finish(client).0.unwrap_err(), JobError::Cancelled);
    ids
}

/// What a job restored from a checkpoint reports: the source positions and the operator state it
/// restored, and what the operator had seen when the job ended.
struct Restored {
    positions: BTreeMap<u32, u64>,
    seen: BTreeSet<Rec>,
    last: Seen,
}

/// Restores checkpoint `id` and runs the job to its end.
fn restore(dir: &Path, id: CheckpointId, mode: CheckpointingMode) -> Restored {
    let mut env = env(dir, mode, Run::Deterministic);
    // Each restored run writes its own checkpoints apart from the first run's.
    env.set_job_id(&format!("{JOB}-from-{id}"));
    env.restore_from_checkpoint(dir.join(JOB).join(format!("chk-{id}")))
        .expect("checkpoint loads");
    let probes = Probes::default();
    alignment_job(&env, &probes, true, true);
    env.execute().expect("restored job finishes");
    let restored = Restored {
        positions: probes.restored_positions.lock().unwrap().clone(),
        seen: probes.restored_seen.lock().unwrap().take().expect("state"),
        last: probes.final_seen.lock().unwrap().take().expect("end"),
    };
    restored
}

fn every_record() -> BTreeSet<Rec> {
    (0..2u32)
        .flat_map(|s| (0..ENDS[s as usize]).map(move |q| (s, q)))
        .collect()
}

/// Takes three aligned checkpoints of a job run as `run`, and checks each one, restored, holds
/// every record its inputs emitted before their barriers and none after.
fn assert_aligned_cuts(run: Run) {
    let tmp = tempfile::tempdir().unwrap();
    let mode = CheckpointingMode::ExactlyOnce;
    let ids = three_checkpoints(tmp.path(), mode, run);
    assert_eq!(ids, [1, 2, 3]);
    let (mut previous, mut first_cut) = ([0u64; 2], [0u64; 2]);
    for id in ids {
        let Restored {
            positions,
            seen,
            last,
        } = restore(tmp.path(), id, mode);
        assert_eq!(positions.len(), 2, "both sources restore a position");
        for (s, &barrier) in &positions {
            let of_source: Vec<u64> = seen.iter().filter(|r| r.0 == *s).map(|r| r.1).collect();
            let at = format!("checkpoint {id}, source {s}, barrier after {barrier}");
            // The input's records before its barrier are in the snapshot, none after it.
            assert!(barrier == 0 || seen.contains(&(*s, barrier - 1)), "{at}");
            assert!(!seen.contains(&(*s, barrier)), "{at}");
            assert_eq!(of_source, (0..barrier).collect::<Vec<_>>(), "{at}");
            assert!(barrier >= previous[*s as usize], "{at}: cut earlier");
            if id == 1 {
                first_cut[*s as usize] = barrier;
            }
            previous[*s as usize] = barrier;
        }
        // Restored and run to the end, the operator has seen every record exactly once.
        assert_eq!(last, (every_record(), 0), "restored from checkpoint {id}");
    }
    assert!(
        first_cut[0] > 0 && first_cut[0] < ENDS[0],
        "cut mid-stream: {first_cut:?}"
    );
}

#[test]
fn an_aligned_snapshot_holds_the_records_before_each_barrier_and_none_after() {
    assert_aligned_cuts(Run::Deterministic);
}

#[test]
fn an_aligned_snapshot_excludes_records_that_overtake_the_other_inputs_barrier() {
    // Threaded, the fast input emits records after its barrier before the slow input's barrier
    // arrives (the test below shows it); alignment must hold them back.
    assert_aligned_cuts(Run::Threaded);
}

#[test]
fn without_alignment_a_snapshot_may_hold_records_after_a_barrier_but_loses_none() {
    // The contrast that shows the tests above can fail: the threaded job at least once.
    let tmp = tempfile::tempdir().unwrap();
    let mode = CheckpointingMode::AtLeastOnce;
    let mut after_barrier = 0;
    for id in three_checkpoints(tmp.path(), mode, Run::Threaded) {
        let Restored {
            positions,
            seen,
            last: (all, _),
        } = restore(tmp.path(), id, mode);
        for (s, &barrier) in &positions {
            let before = (0..barrier).all(|q| seen.contains(&(*s, q)));
            assert!(
                before,
                "checkpoint {id}: a record before the barrier is missing"
            );
            after_barrier += seen.iter().filter(|r| r.0 == *s && r.1 >= barrier).count();
        }
        assert_eq!(all, every_record());
    }
    assert!(
        after_barrier > 0,
        "no record after a barrier reached a snapshot"
    );
}

/// The sequence-checking job over two source subtasks of different speeds: subtask 0 reads 20
/// records a millisecond, subtask 1 one; `kill_at` makes the map panic at that record.
fn speeds_job(
    env: &StreamEnvironment,
    out: &CommittedCollector<(u64, u64, u64)>,
    kill_at: Option<u64>,
) {
    let seen = Arc::new(AtomicU64::new(0));
    env.add_source_reader("Speeds", |info| {
        let burst = if info.subtask.index == 0 { 20 } else { 1 };
        let pace = Pace::Every { burst, polls: 1 };
        Ok(Paced::new(SPEEDS_TOTAL, info.subtask.index, 2, pace))
    })
    .uid("speeds")
    .set_parallelism(2)
    .map(move |v| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        assert!(kill_at != Some(n), "injected failure at record {n}");
        v
    })
    .uid("maybe-fail")
    .set_parallelism(2)
    .key_by(|v| v / 25)
    .process(Sequence::default())
    .uid("sequence")
    .collect_committed(out)
    .uid("committed");
}

const SPEEDS_TOTAL: u64 = 3_000;

/// Kills the job at record `kill_at`, restores the latest checkpoint, runs it to its end, and
/// checks the committed output of both runs against the failure-free output.
fn assert_exactly_once_when_killed_at(kill_at: u64) {
    let expected = expected_sequence(SPEEDS_TOTAL, 25);
    let tmp = tempfile::tempdir().unwrap();
    let out = CommittedCollector::new();
    let periodic = |mut env: StreamEnvironment| {
        env.enable_checkpointing(Duration::from_millis(10));
        env
    };
    let first = periodic(env(
        tmp.path(),
        CheckpointingMode::ExactlyOnce,
        Run::Deterministic,
    ));
    speeds_job(&first, &out, Some(kill_at));
    let error = first.execute().unwrap_err();
    assert!(error.to_string().contains("injected failure"), "{error}");
    let mut second = periodic(env(
        tmp.path(),
        CheckpointingMode::ExactlyOnce,
        Run::Deterministic,
    ));
    let report = second
        .restore_from_latest(tmp.path())
        .expect("a checkpoint completed");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    speeds_job(&second, &out, None);
    second.execute().expect("the restored run finishes");
    let mut got = out.records();
    got.sort_unstable();
    assert_eq!(
        got.len(),
        expected.len(),
        "killed at {kill_at}: record count"
    );
    assert!(got == expected, "killed at {kill_at}: output differs");
}

#[test]
fn exactly_once_holds_record_for_record_with_two_inputs_of_different_speeds() {
    // Both inputs still running at the failure (the fast one ends near record 1575).
    for kill_at in [300, 800, 1_200] {
        assert_exactly_once_when_killed_at(kill_at);
    }
}

#[test]
fn exactly_once_holds_after_the_faster_input_has_finished() {
    for kill_at in [1_800, 2_400] {
        assert_exactly_once_when_killed_at(kill_at);
    }
}
