//! The checkpoint coordinator's protocol, as a pure struct (Flink's `CheckpointCoordinator`,
//! without its I/O): it triggers checkpoints when the [`CheckpointScheduler`] allows, collects
//! acknowledgements, completes a checkpoint by having its metadata written last, retains and
//! subsumes through the [`CompletedCheckpointStore`], counts failures in the
//! [`CheckpointFailureManager`], and applies the late-message rule of [`late_message`]. Every
//! side effect goes through a [`CoordinatorContext`], so scenario tests run it without actors.
//!
//! # Guarantees
//! - A checkpoint completes only when every subtask deployed at its trigger acknowledged and its
//!   metadata was written; only then is `Complete` sent, to every deployed subtask.
//! - A checkpoint ends once: completed, or failed with one reason, which is published once, sent
//!   as `Aborted` to every deployed subtask, logged once and counted at most once.
//! - Passing the tolerable number of consecutive failures is reported to the supervisor once
//!   per run of the tasks.
//!
//! # What is not guaranteed
//! - A subtask that is no longer deployed receives nothing; a restarted subtask learns the
//!   outcome of earlier checkpoints from the checkpoint it restores.
//!
//! [`late_message`]: crate::checkpoint::late_message

use crate::checkpoint::checkpoint_plan::CheckpointPlanCalculator;
use crate::checkpoint::completed_checkpoint_store::CompletedCheckpointStore;
use crate::checkpoint::coordinator_context::{
    CoordinatorContext, RequestId, SubtaskMessage, Timer,
};
use crate::checkpoint::failure_manager::CheckpointFailureManager;
use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::checkpoint::late_message::CheckpointFate;
use crate::checkpoint::pending_checkpoint::PendingCheckpoint;
use crate::checkpoint::scheduler::{CheckpointScheduler, ManualDecision, TriggerDecision};
use crate::checkpoint::snapshot_kind::{SavepointFormat, SnapshotKind};
use crate::checkpoint::storage::VertexMetadata;
use crate::config::checkpoint_config::CheckpointConfig;
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::{CheckpointBarrier, CheckpointId};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// What the coordinator knows of the job.
#[derive(Debug, Clone)]
pub(crate) struct CoordinatedJob {
    /// The job's id (its directory under the checkpoint directory).
    pub(crate) job_id: String,
    /// The job's max parallelism, recorded in every checkpoint.
    pub(crate) max_parallelism: u32,
    /// The job's vertices, recorded in every checkpoint.
    pub(crate) vertices: Vec<VertexMetadata>,
    /// Whether vertex `v` is a source, for each `v`.
    pub(crate) is_source: Vec<bool>,
}

/// Where a savepoint goes, and whether the job stops with it.
#[derive(Debug, Clone)]
pub(crate) struct SavepointRequest {
    /// The directory its own directory is created in.
    pub(crate) dir: PathBuf,
    /// Whether no checkpoint is triggered or completed after it (the job is stopping).
    pub(crate) stop: bool,
    /// How its state is written.
    pub(crate) format: SavepointFormat,
}

/// A triggered checkpoint collecting acknowledgements.
struct Pending {
    tracker: PendingCheckpoint,
    barrier: CheckpointBarrier,
    triggered_at: Instant,
    requests: Vec<RequestId>,
    /// Where its savepoint goes, when it is one.
    savepoint: Option<SavepointRequest>,
}

/// One job's checkpoint coordinator, without I/O.
pub(crate) struct CheckpointCoordinator {
    job_id: String,
    max_parallelism: u32,
    vertices: Vec<VertexMetadata>,
    timeout: Duration,
    scheduler: CheckpointScheduler,
    store: CompletedCheckpointStore,
    failures: CheckpointFailureManager,
    plan: CheckpointPlanCalculator,
    pending: BTreeMap<CheckpointId, Pending>,
    /// Savepoint requests not yet triggered.
    savepoint_dirs: HashMap<RequestId, SavepointRequest>,
    first_id: CheckpointId,
    next_id: CheckpointId,
    started: Instant,
    terminated: bool,
    /// The id of the restored snapshot the job claimed (`CLAIM`), while it is retained.
    claimed: Option<CheckpointId>,
    /// A draining stop's savepoint, taken as the final checkpoint once every input ended.
    draining: Option<(RequestId, SavepointRequest)>,
}

impl CheckpointCoordinator {
    /// A coordinator for `job` with `config`; its first checkpoint gets id `first_id`.
    pub(crate) fn new(
        job: CoordinatedJob,
        config: &CheckpointConfig,
        first_id: CheckpointId,
        now: Instant,
    ) -> CheckpointCoordinator {
        CheckpointCoordinator {
            job_id: job.job_id,
            max_parallelism: job.max_parallelism,
            vertices: job.vertices,
            timeout: config.timeout,
            scheduler: CheckpointScheduler::new(config),
            store: CompletedCheckpointStore::new(config.num_retained),
            failures: CheckpointFailureManager::new(config.tolerable_failed_checkpoints),
            plan: CheckpointPlanCalculator::new(job.is_source),
            pending: BTreeMap::new(),
            savepoint_dirs: HashMap::new(),
            first_id,
            next_id: first_id,
            started: now,
            terminated: false,
            claimed: None,
            draining: None,
        }
    }

    /// The job restored from snapshot `id` and claimed it: it is retained as the job's oldest
    /// checkpoint (a restart before any other completes restores from it) and disposed of once
    /// newer checkpoints subsume it.
    pub(crate) fn claim(&mut self, id: CheckpointId) {
        let _ = self.store.add(id, std::iter::empty());
        self.claimed = Some(id);
    }

    /// The id of the claimed snapshot while it is retained.
    #[cfg(test)]
    pub(crate) fn claimed(&self) -> Option<CheckpointId> {
        self.claimed
    }

    /// The job starts now: trigger times count from here; the first periodic trigger is armed.
    pub(crate) fn start(&mut self, cx: &mut impl CoordinatorContext) {
        self.started = cx.now();
        let first = self.scheduler.first_trigger(self.started);
        cx.schedule(Timer::Trigger, first);
    }

    /// The newest checkpoint completed in this run, if any.
    pub(crate) fn latest_completed(&self) -> Option<CheckpointId> {
        self.store.latest()
    }

    /// The trigger timer fired.
    pub(crate) fn on_trigger_timer(&mut self, cx: &mut impl CoordinatorContext) {
        if self.terminated {
            return;
        }
        let decision = self.scheduler.on_timer(cx.now(), self.pending.len());
        self.apply(decision, cx);
    }

    /// A manual trigger `request`: answered when its checkpoint ends, or refused.
    pub(crate) fn trigger_manual(&mut self, request: RequestId, cx: &mut impl CoordinatorContext) {
        if self.terminated {
            cx.answer(request, Err(CheckpointFailureReason::JobTerminating));
            return;
        }
        match self.scheduler.request_manual(request, self.pending.len()) {
            ManualDecision::Queued => {}
            ManualDecision::Refuse(reason) => cx.answer(request, Err(reason)),
            ManualDecision::Trigger => {
                if let Err(reason) = self.trigger(vec![request], cx) {
                    cx.answer(request, Err(reason));
                }
            }
        }
    }

    /// A savepoint `request`: a manual trigger whose checkpoint is also copied into a
    /// savepoint under its directory as it completes (see [`crate::checkpoint::savepoint`]).
    /// A stopping savepoint, once complete, ends checkpointing: newer pending checkpoints are
    /// aborted and none is triggered again.
    pub(crate) fn trigger_savepoint(
        &mut self,
        request: RequestId,
        savepoint: SavepointRequest,
        cx: &mut impl CoordinatorContext,
    ) {
        self.savepoint_dirs.insert(request, savepoint);
        self.trigger_manual(request, cx);
        if self
            .pending
            .values()
            .all(|p| !p.requests.contains(&request))
            && !self.scheduler.is_queued(request)
        {
            // Refused at once: nothing will take the directory.
            self.savepoint_dirs.remove(&request);
        }
    }

    /// A draining stop (Flink's `stop --drain`): every source's input ends now, end of input
    /// runs through the job, and `savepoint` is the final checkpoint taken once every input
    /// ended (what end of input emitted is in it, and committed with it).
    pub(crate) fn drain_with_savepoint(
        &mut self,
        request: RequestId,
        savepoint: SavepointRequest,
        cx: &mut impl CoordinatorContext,
    ) {
        if self.terminated || self.draining.is_some() {
            cx.answer(request, Err(CheckpointFailureReason::JobTerminating));
            return;
        }
        if self.plan.all_input_ended() {
            self.trigger_savepoint(request, savepoint, cx);
            return;
        }
        self.draining = Some((request, savepoint));
        for key in self.plan.sources() {
            cx.send(key, SubtaskMessage::EndSource);
        }
    }

    /// `subtasks` is every deployed subtask now: checkpoints may go again.
    pub(crate) fn deployed(&mut self, subtasks: Vec<SubtaskKey>, cx: &mut impl CoordinatorContext) {
        self.plan.deployed(subtasks);
        self.scheduler.resume();
        self.slot_freed(cx);
    }

    /// The tasks of `vertices` failed and will restart: every pending checkpoint is aborted,
    /// and none is triggered until they are deployed again.
    pub(crate) fn region_failed(&mut self, vertices: &[usize], cx: &mut impl CoordinatorContext) {
        self.scheduler.suspend();
        self.failures.reset();
        self.plan.region_failed(vertices);
        // A draining stop does not survive a failover: the restarted sources read again.
        if let Some((request, _)) = self.draining.take() {
            cx.answer(request, Err(CheckpointFailureReason::TaskFailure));
        }
        let pending: Vec<CheckpointId> = self.pending.keys().copied().collect();
        for id in pending {
            self.abort(id, CheckpointFailureReason::TaskFailure, cx);
        }
    }

    /// Source `key` read everything: a checkpoint covering its last records goes promptly.
    pub(crate) fn source_exhausted(&mut self, key: SubtaskKey, cx: &mut impl CoordinatorContext) {
        tracing::debug!(subtask = ?key, "source read everything");
        self.request_prompt(cx);
    }

    /// Every input of `key` ended: it is asked directly for its state from now on; once every
    /// input ended, a final checkpoint covers what end of input emitted.
    pub(crate) fn input_ended(&mut self, key: SubtaskKey, cx: &mut impl CoordinatorContext) {
        self.plan.input_ended(key);
        self.ask_directly(key, cx);
        if self.plan.all_input_ended() && self.plan.any_unfinished() {
            match self.draining.take() {
                Some((request, savepoint)) => self.trigger_savepoint(request, savepoint, cx),
                None => self.request_prompt(cx),
            }
        }
    }

    /// `key` finished: it acknowledges nothing unless asked directly.
    pub(crate) fn subtask_done(&mut self, key: SubtaskKey, cx: &mut impl CoordinatorContext) {
        self.plan.finished(key);
        self.ask_directly(key, cx);
    }

    /// A stopping savepoint completed (or the job ends): no checkpoint may complete or start
    /// after it; pending ones and queued requests fail as `JobTerminating`, uncounted.
    fn stop_checkpointing(&mut self, cx: &mut impl CoordinatorContext) {
        self.terminated = true;
        cx.cancel(Timer::Trigger);
        let pending: Vec<CheckpointId> = self.pending.keys().copied().collect();
        for id in pending {
            self.abort(id, CheckpointFailureReason::JobTerminating, cx);
        }
        for request in self.scheduler.drain_queued() {
            cx.answer(request, Err(CheckpointFailureReason::JobTerminating));
        }
    }

    /// The job ends: pending checkpoints and queued requests fail as
    /// [`CheckpointFailureReason::JobTerminating`], uncounted; the retained checkpoints are
    /// discarded when `discard_completed`.
    pub(crate) fn terminate(&mut self, discard_completed: bool, cx: &mut impl CoordinatorContext) {
        self.stop_checkpointing(cx);
        if discard_completed {
            for id in self.store.take_all() {
                self.discard(id, cx);
            }
        }
    }

    /// Does what the scheduler decided about a due trigger.
    fn apply(&mut self, decision: TriggerDecision, cx: &mut impl CoordinatorContext) {
        match decision {
            TriggerDecision::Trigger { next_periodic } => {
                if let Err(reason) = self.trigger(Vec::new(), cx) {
                    tracing::debug!("no checkpoint triggered: {reason}");
                }
                cx.schedule(Timer::Trigger, next_periodic);
            }
            TriggerDecision::Skip { next_periodic } => cx.schedule(Timer::Trigger, next_periodic),
            TriggerDecision::WaitUntil(at) => cx.schedule(Timer::Trigger, at),
            TriggerDecision::WaitForSlot => {}
        }
    }

    fn request_prompt(&mut self, cx: &mut impl CoordinatorContext) {
        let decision = self.scheduler.request_prompt(cx.now(), self.pending.len());
        self.apply(decision, cx);
    }

    fn slot_freed(&mut self, cx: &mut impl CoordinatorContext) {
        if self.terminated {
            return;
        }
        if let Some(decision) = self.scheduler.slot_freed(cx.now(), self.pending.len()) {
            self.apply(decision, cx);
        }
    }

    /// A checkpoint ended: queued manual requests take the free slots, then a trigger that
    /// waited for one is due.
    fn after_checkpoint_ended(&mut self, cx: &mut impl CoordinatorContext) {
        while let Some(request) = self.scheduler.pop_queued(self.pending.len()) {
            self.trigger_manual(request, cx);
        }
        self.slot_freed(cx);
    }

    /// Triggers a checkpoint now, as the plan says, answering `requests` when it ends; returns
    /// its id.
    fn trigger(
        &mut self,
        requests: Vec<RequestId>,
        cx: &mut impl CoordinatorContext,
    ) -> Result<CheckpointId, CheckpointFailureReason> {
        let plan = self.plan.plan()?;
        let savepoint = requests.iter().find_map(|r| self.savepoint_dirs.remove(r));
        let stopping = savepoint.as_ref().is_some_and(|s| s.stop);
        let id = self.next_id;
        self.next_id += 1;
        let now = cx.now();
        let kind = match &savepoint {
            Some(request) => SnapshotKind::Savepoint(request.format),
            None => SnapshotKind::Checkpoint,
        };
        let barrier = CheckpointBarrier {
            id,
            timestamp_ms: now.duration_since(self.started).as_millis() as u64,
            kind,
        };
        cx.schedule(Timer::Timeout(id), now + self.timeout);
        let pending = Pending {
            tracker: PendingCheckpoint::new(id, plan.to_wait_for),
            barrier,
            triggered_at: now,
            requests,
            savepoint,
        };
        self.pending.insert(id, pending);
        for key in plan.to_trigger {
            let message = if stopping {
                SubtaskMessage::TriggerAndSuspend(barrier)
            } else {
                SubtaskMessage::Trigger(barrier)
            };
            cx.send(key, message);
        }
        Ok(id)
    }

    /// Asks `key`, which no barrier reaches any more, for its state in every pending checkpoint
    /// it has not acknowledged.
    fn ask_directly(&self, key: SubtaskKey, cx: &mut impl CoordinatorContext) {
        for pending in self.pending.values() {
            if pending.tracker.is_expected(&key) {
                cx.send(key, SubtaskMessage::Trigger(pending.barrier));
            }
        }
    }

    /// Where checkpoint `id` stands for a message from `key`.
    fn fate(&self, id: CheckpointId, key: &SubtaskKey) -> CheckpointFate {
        if let Some(pending) = self.pending.get(&id) {
            CheckpointFate::Pending(pending.tracker.role(key))
        } else if self.store.contains(id) {
            CheckpointFate::Retained
        } else if (self.first_id..self.next_id).contains(&id) {
            CheckpointFate::Ended
        } else {
            CheckpointFate::Unknown
        }
    }

    fn discard(&mut self, id: CheckpointId, cx: &mut impl CoordinatorContext) {
        if self.claimed == Some(id) {
            self.claimed = None;
            match cx.dispose_claimed() {
                Ok(()) => tracing::info!("claimed snapshot {id} disposed of, now subsumed"),
                Err(e) => tracing::warn!("cannot dispose of the claimed snapshot {id}: {e}"),
            }
            return;
        }
        if let Err(e) = cx.discard(id) {
            tracing::warn!("cannot delete checkpoint {id}: {e}");
        }
    }
}

mod completion;
#[cfg(test)]
mod savepoint_scenarios;
#[cfg(test)]
mod scenario;
#[cfg(test)]
mod scenario_tests;
