//! A scripted world for the coordinator's scenario tests: a manual clock, every side effect
//! recorded in order, timers fired in time order, metadata writes that fail on demand. No actor,
//! no runtime, no storage.

use super::{CheckpointCoordinator, CoordinatedJob};
use crate::checkpoint::coordinator_context::{
    CoordinatorContext, RequestId, RequestOutcome, SubtaskMessage, Timer,
};
use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::checkpoint::stats::{CheckpointStats, CheckpointStatus};
use crate::checkpoint::storage::{
    CheckpointMetadata, SharedFile, StateFile, StateHandle, StateLocation, StorageError,
    VertexMetadata,
};
use crate::config::checkpoint_config::CheckpointConfig;
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::CheckpointId;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// One side effect the coordinator asked for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Effect {
    Sent(SubtaskKey, SubtaskMessage),
    MetadataWritten(CheckpointId),
    Discarded(CheckpointId),
    ClaimedDisposed,
    DiscardedShared(CheckpointId, Vec<PathBuf>),
    Reported(CheckpointFailureReason, u32),
    Ended(CheckpointStats),
    Answered(RequestId, RequestOutcome),
    SavepointWritten(CheckpointId, PathBuf),
}

/// The savepoint directory whose writes fail.
pub(super) const UNWRITABLE: &str = "/unwritable";

/// The scripted context: records effects, keeps armed timers.
pub(super) struct Script {
    now: Instant,
    effects: Vec<Effect>,
    timers: HashMap<Timer, Instant>,
    failing_metadata: HashSet<CheckpointId>,
}

impl CoordinatorContext for Script {
    fn now(&self) -> Instant {
        self.now
    }

    fn epoch_millis(&self) -> u64 {
        0
    }

    fn send(&mut self, to: SubtaskKey, message: SubtaskMessage) {
        self.effects.push(Effect::Sent(to, message));
    }

    fn write_metadata(&mut self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        let id = metadata.checkpoint_id;
        if self.failing_metadata.contains(&id) {
            return Err(StorageError::Io {
                operation: "write",
                path: format!("/checkpoints/job/chk-{id}/_metadata").into(),
                reason: "No space left on device".into(),
            });
        }
        self.effects.push(Effect::MetadataWritten(id));
        Ok(100)
    }

    fn discard(&mut self, checkpoint: CheckpointId) -> Result<(), StorageError> {
        self.effects.push(Effect::Discarded(checkpoint));
        Ok(())
    }

    fn dispose_claimed(&mut self) -> Result<(), StorageError> {
        self.effects.push(Effect::ClaimedDisposed);
        Ok(())
    }

    fn discard_shared(
        &mut self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError> {
        self.effects
            .push(Effect::DiscardedShared(checkpoint, files.to_vec()));
        Ok(())
    }

    fn report_failure(&mut self, reason: CheckpointFailureReason, failures: u32) {
        self.effects.push(Effect::Reported(reason, failures));
    }

    fn schedule(&mut self, timer: Timer, at: Instant) {
        self.timers.insert(timer, at);
    }

    fn cancel(&mut self, timer: Timer) {
        self.timers.remove(&timer);
    }

    fn checkpoint_ended(&mut self, stats: &CheckpointStats) {
        self.effects.push(Effect::Ended(stats.clone()));
    }

    fn answer(&mut self, request: RequestId, outcome: RequestOutcome) {
        self.effects.push(Effect::Answered(request, outcome));
    }

    fn write_savepoint(
        &mut self,
        dir: &std::path::Path,
        metadata: &CheckpointMetadata,
    ) -> Result<(), StorageError> {
        if dir == std::path::Path::new(UNWRITABLE) {
            return Err(StorageError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let id = metadata.checkpoint_id;
        self.effects
            .push(Effect::SavepointWritten(id, dir.to_path_buf()));
        Ok(())
    }
}

/// A job of one vertex per entry of `parallelisms` (vertex 0 the only source), deployed and
/// started at `t0`, with the coordinator and its scripted world.
pub(super) struct Scenario {
    pub(super) core: CheckpointCoordinator,
    pub(super) cx: Script,
    t0: Instant,
    parallelisms: Vec<u32>,
    attempt: u32,
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Checkpoints every 10 ms, a 1 s timeout, otherwise Flink's defaults.
pub(super) fn config() -> CheckpointConfig {
    CheckpointConfig {
        interval: Some(ms(10)),
        timeout: ms(1000),
        ..CheckpointConfig::default()
    }
}

impl Scenario {
    pub(super) fn new(config: CheckpointConfig, parallelisms: &[u32]) -> Scenario {
        let t0 = Instant::now();
        let job = CoordinatedJob {
            job_id: "job".into(),
            max_parallelism: 128,
            vertices: (0..parallelisms.len())
                .map(|v| VertexMetadata {
                    uid: format!("v{v}"),
                    parallelism: parallelisms[v],
                })
                .collect(),
            is_source: (0..parallelisms.len()).map(|v| v == 0).collect(),
        };
        let mut scenario = Scenario {
            core: CheckpointCoordinator::new(job, &config, 1, t0),
            cx: Script {
                now: t0,
                effects: Vec::new(),
                timers: HashMap::new(),
                failing_metadata: HashSet::new(),
            },
            t0,
            parallelisms: parallelisms.to_vec(),
            attempt: 0,
        };
        scenario.core.start(&mut scenario.cx);
        scenario.deploy();
        scenario
    }

    /// Subtask `index` of `vertex`, in the current deployment.
    pub(super) fn key(&self, vertex: usize, index: u32) -> SubtaskKey {
        SubtaskKey {
            vertex,
            index,
            attempt: self.attempt,
        }
    }

    /// Every subtask of the current deployment.
    pub(super) fn keys(&self) -> Vec<SubtaskKey> {
        let p = &self.parallelisms;
        (0..p.len())
            .flat_map(|v| (0..p[v]).map(move |i| (v, i)))
            .map(|(v, i)| self.key(v, i))
            .collect()
    }

    /// Deploys every subtask again, as the next attempt (after a failure).
    pub(super) fn redeploy(&mut self) {
        self.attempt += 1;
        self.deploy();
    }

    fn deploy(&mut self) {
        let keys = self.keys();
        self.core.deployed(keys, &mut self.cx);
    }

    /// Metadata writes of checkpoint `id` fail.
    pub(super) fn fail_metadata_of(&mut self, id: CheckpointId) {
        self.cx.failing_metadata.insert(id);
    }

    /// Fires, in time order, every timer due until `at` ms after the start, then sets the clock
    /// there.
    pub(super) fn run_until(&mut self, at: u64) {
        let end = self.t0 + ms(at);
        loop {
            let order = |t: &Timer| match t {
                Timer::Timeout(id) => *id,
                Timer::Trigger => u64::MAX,
            };
            let next = self
                .cx
                .timers
                .iter()
                .filter(|(_, when)| **when <= end)
                .min_by_key(|(t, when)| (**when, order(t)))
                .map(|(t, when)| (*t, *when));
            let Some((timer, when)) = next else { break };
            self.cx.timers.remove(&timer);
            self.cx.now = when;
            match timer {
                Timer::Trigger => self.core.on_trigger_timer(&mut self.cx),
                Timer::Timeout(id) => self.core.on_timeout(id, &mut self.cx),
            }
        }
        self.cx.now = end;
    }

    /// `key` acknowledges `id` with a state file and no shared files.
    pub(super) fn ack(&mut self, id: CheckpointId, key: SubtaskKey) {
        self.ack_with(id, key, &[]);
    }

    /// `key` acknowledges `id`, having uploaded shared files `uploaded`.
    pub(super) fn ack_with(&mut self, id: CheckpointId, key: SubtaskKey, uploaded: &[&str]) {
        let handle = StateHandle {
            vertex_uid: format!("v{}", key.vertex),
            subtask: key.index,
            operator_uids: vec![],
            location: StateLocation::File(StateFile {
                path: format!("v{}-{}", key.vertex, key.index).into(),
                size: 0,
                checksum: 0,
            }),
            size: 10,
            shared: uploaded
                .iter()
                .map(|p| SharedFile {
                    path: PathBuf::from(p),
                    size: 5,
                    uploaded: true,
                })
                .collect(),
        };
        let stats = Default::default();
        self.core.acknowledge(id, key, handle, stats, &mut self.cx);
    }

    /// Every current subtask acknowledges `id`.
    pub(super) fn ack_all(&mut self, id: CheckpointId) {
        for key in self.keys() {
            self.ack(id, key);
        }
    }

    pub(super) fn decline(
        &mut self,
        id: CheckpointId,
        key: SubtaskKey,
        reason: CheckpointFailureReason,
    ) {
        self.core.decline(id, key, reason, &mut self.cx);
    }

    /// Every effect so far, in order.
    pub(super) fn effects(&self) -> &[Effect] {
        &self.cx.effects
    }

    /// Forgets the effects so far.
    pub(super) fn clear(&mut self) {
        self.cx.effects.clear();
    }

    /// `(checkpoint, ms after the start)` of each checkpoint triggered, once per checkpoint.
    pub(super) fn triggers(&self) -> Vec<(CheckpointId, u64)> {
        let mut seen = Vec::new();
        for effect in self.effects() {
            if let Effect::Sent(
                _,
                SubtaskMessage::Trigger(b) | SubtaskMessage::TriggerAndSuspend(b),
            ) = effect
            {
                if !seen.iter().any(|(id, _)| *id == b.id) {
                    seen.push((b.id, b.timestamp_ms));
                }
            }
        }
        seen
    }

    /// The subtasks sent `message`, in order.
    pub(super) fn sent(&self, message: SubtaskMessage) -> Vec<SubtaskKey> {
        let sent = self.effects().iter().filter_map(|e| match e {
            Effect::Sent(key, m) if *m == message => Some(*key),
            _ => None,
        });
        sent.collect()
    }

    /// Whether any `Complete` was sent.
    pub(super) fn any_completion_sent(&self) -> bool {
        let complete = |e: &Effect| matches!(e, Effect::Sent(_, SubtaskMessage::Complete(_)));
        self.effects().iter().any(complete)
    }

    /// The published end of each checkpoint, in order.
    pub(super) fn ended(&self) -> Vec<(CheckpointId, CheckpointStatus)> {
        let ended = self.effects().iter().filter_map(|e| match e {
            Effect::Ended(s) => Some((s.id, s.status.clone())),
            _ => None,
        });
        ended.collect()
    }

    /// Every failure report to the supervisor.
    pub(super) fn reports(&self) -> Vec<(CheckpointFailureReason, u32)> {
        let reports = self.effects().iter().filter_map(|e| match e {
            Effect::Reported(r, n) => Some((r.clone(), *n)),
            _ => None,
        });
        reports.collect()
    }

    /// Every checkpoint discarded, in order.
    pub(super) fn discarded(&self) -> Vec<CheckpointId> {
        let discarded = self.effects().iter().filter_map(|e| match e {
            Effect::Discarded(id) => Some(*id),
            _ => None,
        });
        discarded.collect()
    }

    /// The statistics of checkpoint `id`'s end.
    pub(super) fn stats(&self, id: CheckpointId) -> Option<&CheckpointStats> {
        self.effects().iter().find_map(|e| match e {
            Effect::Ended(s) if s.id == id => Some(s),
            _ => None,
        })
    }
}
