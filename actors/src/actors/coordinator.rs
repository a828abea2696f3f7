//! The checkpoint coordinator actor: triggers checkpoints (periodically, promptly when a source
//! has read everything, or on request), collects acknowledgements, completes checkpoints by
//! writing their metadata last, subsumes and deletes old ones, notifies every subtask of
//! completion or abort, and keeps statistics. All timing is on tokio's clock, so a paused clock
//! drives it deterministically.

use crate::actors::job_shared::JobShared;
use crate::actors::job_status::JobStatus;
use crate::actors::messages::CheckpointingFailed;
use crate::actors::messages::DeployedSubtask;
use crate::actors::messages::{
    AcknowledgeCheckpoint, CheckpointOutcome, DeclineCheckpoint, Deployed, RegionFailed, Terminate,
    TriggerNow,
};
use crate::actors::messages::{
    NotifyCheckpointAborted, NotifyCheckpointComplete, TriggerCheckpoint,
};
use crate::checkpoint::pending_checkpoint::{AckOutcome, PendingCheckpoint};
use crate::checkpoint::stats::{CheckpointFailureReason, CheckpointStats, CheckpointStatus};
use crate::checkpoint::storage::{CheckpointMetadata, VertexMetadata};
use crate::config::checkpoint_config::ExternalizedCheckpointRetention;
use crate::graph::job_spec::{CheckpointingSpec, JobSpec};
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::{CheckpointBarrier, CheckpointId};
use actix::prelude::*;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

struct Pending {
    tracker: PendingCheckpoint,
    barrier: CheckpointBarrier,
    triggered_at: Instant,
    timeout: SpawnHandle,
}

/// One job's checkpoint coordinator.
pub struct Coordinator {
    spec: Arc<JobSpec>,
    cp: CheckpointingSpec,
    shared: Arc<JobShared>,
    supervisor: Recipient<CheckpointingFailed>,
    subtasks: Vec<Vec<DeployedSubtask>>,
    finished: HashSet<SubtaskKey>,
    /// Subtasks whose input ended: asked directly by checkpoints.
    input_ended: HashSet<SubtaskKey>,
    suspended: bool,
    next_id: CheckpointId,
    pending: BTreeMap<CheckpointId, Pending>,
    completed: VecDeque<CheckpointId>,
    recently_aborted: VecDeque<CheckpointId>,
    consecutive_failures: u32,
    last_completion: Option<Instant>,
    started: Instant,
    trigger_timer: Option<SpawnHandle>,
    trigger_waiting: bool,
    manual_queue: Vec<oneshot::Sender<CheckpointOutcome>>,
    waiters: BTreeMap<CheckpointId, Vec<oneshot::Sender<CheckpointOutcome>>>,
    terminated: bool,
}

impl Coordinator {
    /// A coordinator for `spec`'s checkpointing; ids continue after a restored checkpoint's.
    pub(crate) fn new(
        spec: Arc<JobSpec>,
        cp: CheckpointingSpec,
        shared: Arc<JobShared>,
        supervisor: Recipient<CheckpointingFailed>,
    ) -> Self {
        // Found before launch: above the restored checkpoint and every id in the storage.
        let next_id = cp.first_checkpoint_id;

        Coordinator {
            spec,
            cp,
            shared,
            supervisor,
            subtasks: Vec::new(),
            finished: HashSet::new(),
            input_ended: HashSet::new(),
            suspended: false,
            next_id,
            pending: BTreeMap::new(),
            completed: VecDeque::new(),
            recently_aborted: VecDeque::new(),
            consecutive_failures: 0,
            last_completion: None,
            started: Instant::now(),
            trigger_timer: None,
            trigger_waiting: false,
            manual_queue: Vec::new(),
            waiters: BTreeMap::new(),
            terminated: false,
        }
    }

    /// The newest checkpoint completed in this run, if any.
    pub(crate) fn latest_completed(&self) -> Option<CheckpointId> {
        self.completed.back().copied()
    }

    fn all_keys(&self) -> impl Iterator<Item = (SubtaskKey, &DeployedSubtask)> + '_ {
        self.subtasks.iter().flatten().map(|d| (d.key, d))
    }

    fn schedule(&mut self, ctx: &mut Context<Self>, delay: Duration) {
        if let Some(h) = self.trigger_timer.take() {
            ctx.cancel_future(h);
        }
        self.trigger_timer = Some(ctx.run_later(delay, |act, ctx| {
            act.trigger_timer = None;
            act.on_periodic(ctx);
        }));
    }

    fn interval(&self) -> Duration {
        self.cp.config.interval.unwrap_or(Duration::from_secs(3600))
    }

    /// When min pause allows the next checkpoint, if it does not allow it now.
    fn min_pause_wait(&self) -> Option<Duration> {
        let earliest = self.last_completion? + self.cp.config.min_pause;
        let now = Instant::now();
        (now < earliest).then(|| earliest - now)
    }

    fn on_periodic(&mut self, ctx: &mut Context<Self>) {
        if self.terminated {
            return;
        }
        if self.pending.len() >= self.cp.config.max_concurrent.max(1) as usize {
            self.trigger_waiting = true;
            return;
        }
        if let Some(wait) = self.min_pause_wait() {
            self.schedule(ctx, wait);
            return;
        }
        let _ = self.trigger(ctx);
        let interval = self.interval();
        self.schedule(ctx, interval);
    }

    /// After a checkpoint ended: a trigger that waited for a free slot goes now (or after min pause).
    fn after_checkpoint_ended(&mut self, ctx: &mut Context<Self>) {
        let queued = std::mem::take(&mut self.manual_queue);
        for waiter in queued {
            self.trigger_manual(ctx, waiter);
        }
        if self.trigger_waiting {
            self.trigger_waiting = false;
            let wait = self.min_pause_wait().unwrap_or_default();
            self.schedule(ctx, wait);
        }
    }

    fn trigger(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> Result<CheckpointId, CheckpointFailureReason> {
        if self.terminated {
            return Err(CheckpointFailureReason::JobTerminating);
        }
        if self.suspended {
            return Err(CheckpointFailureReason::TaskFailure);
        }
        let live_source = self
            .all_keys()
            .any(|(k, _)| self.spec.is_source(k.vertex) && !self.finished.contains(&k));
        if !live_source && !self.all_input_ended() {
            return Err(CheckpointFailureReason::NoRunningSources);
        }
        // Sources inject the barrier. Subtasks whose input ended (finished or not) are asked
        // directly: no barrier reaches them any more, their state is final, and the checkpoint
        // must hold it, or a restore would run them again from the start.
        let triggered: Vec<Recipient<TriggerCheckpoint>> = self
            .all_keys()
            .filter(|(k, _)| {
                self.spec.is_source(k.vertex)
                    || self.finished.contains(k)
                    || self.input_ended.contains(k)
            })
            .map(|(_, d)| d.trigger.clone())
            .collect();
        let id = self.next_id;
        self.next_id += 1;
        let expected: Vec<SubtaskKey> = self.all_keys().map(|(k, _)| k).collect();
        let barrier = CheckpointBarrier {
            id,
            timestamp_ms: self.started.elapsed().as_millis() as u64,
        };
        let timeout = self.cp.config.timeout;
        let handle = ctx.run_later(timeout, move |act, ctx| {
            act.abort(ctx, id, CheckpointFailureReason::Expired(timeout));
        });
        self.pending.insert(
            id,
            Pending {
                tracker: PendingCheckpoint::new(id, expected),
                barrier,
                triggered_at: Instant::now(),
                timeout: handle,
            },
        );
        for addr in triggered {
            addr.do_send(TriggerCheckpoint { barrier });
        }
        Ok(id)
    }

    fn trigger_manual(
        &mut self,
        ctx: &mut Context<Self>,
        waiter: oneshot::Sender<CheckpointOutcome>,
    ) {
        if self.pending.len() >= self.cp.config.max_concurrent.max(1) as usize {
            self.manual_queue.push(waiter);
            return;
        }
        match self.trigger(ctx) {
            Ok(id) => self.waiters.entry(id).or_default().push(waiter),
            Err(reason) => {
                let _ = waiter.send(Err(reason));
            }
        }
    }

    fn stats_of(
        &self,
        pending: &Pending,
        status: CheckpointStatus,
        metadata_size: u64,
    ) -> CheckpointStats {
        CheckpointStats {
            id: pending.tracker.id,
            trigger_time: pending.triggered_at.duration_since(self.started),
            duration: pending.triggered_at.elapsed(),
            state_size: pending.tracker.handles.iter().map(|h| h.size).sum(),
            metadata_size,
            status,
            subtasks: pending.tracker.stats.clone(),
        }
    }

    fn complete(&mut self, ctx: &mut Context<Self>, id: CheckpointId) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        ctx.cancel_future(pending.timeout);
        let metadata = CheckpointMetadata {
            job_id: self.cp.job_id.clone(),
            checkpoint_id: id,
            timestamp_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            max_parallelism: self.spec.max_parallelism,
            vertices: self
                .spec
                .vertices
                .iter()
                .map(|v| VertexMetadata {
                    uid: v.uid.clone(),
                    parallelism: v.parallelism,
                })
                .collect(),
            states: pending.tracker.handles.clone(),
        };
        let metadata_size = match self.cp.storage.write_metadata(&metadata) {
            Ok(size) => size,
            Err(e) => {
                self.pending.insert(id, pending);
                self.abort(
                    ctx,
                    id,
                    CheckpointFailureReason::MetadataWrite(e.to_string()),
                );
                return;
            }
        };
        let stats = self.stats_of(&pending, CheckpointStatus::Completed, metadata_size);
        self.last_completion = Some(Instant::now());
        self.consecutive_failures = 0;
        self.completed.push_back(id);
        while self.completed.len() > self.cp.config.num_retained.max(1) as usize {
            if let Some(old) = self.completed.pop_front() {
                self.discard(old);
            }
        }
        // Older checkpoints still pending are subsumed by this one.
        let older: Vec<CheckpointId> = self.pending.range(..id).map(|(k, _)| *k).collect();
        for old in older {
            self.abort(ctx, old, CheckpointFailureReason::Subsumed);
        }
        for (_, d) in self.all_keys() {
            d.complete.do_send(NotifyCheckpointComplete { id });
        }
        tracing::info!(
            "checkpoint {id} complete: {} bytes in {:?}",
            stats.state_size,
            stats.duration
        );
        metrics::counter!("weir_checkpoints_completed_total").increment(1);
        metrics::gauge!("weir_last_checkpoint_duration_ms").set(stats.duration.as_millis() as f64);
        metrics::gauge!("weir_last_checkpoint_size_bytes").set(stats.state_size as f64);
        metrics::gauge!("weir_last_checkpoint_alignment_ms")
            .set(stats.max_alignment().as_millis() as f64);
        self.shared.record_checkpoint(stats.clone());
        for waiter in self.waiters.remove(&id).unwrap_or_default() {
            let _ = waiter.send(Ok(stats.clone()));
        }
        self.after_checkpoint_ended(ctx);
    }

    fn discard(&self, id: CheckpointId) {
        if let Err(e) = self.cp.storage.discard(id) {
            tracing::warn!("cannot delete checkpoint {id}: {e}");
        }
    }

    fn abort(
        &mut self,
        ctx: &mut Context<Self>,
        id: CheckpointId,
        reason: CheckpointFailureReason,
    ) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        ctx.cancel_future(pending.timeout);
        self.discard(id);
        self.recently_aborted.push_back(id);
        if self.recently_aborted.len() > 128 {
            self.recently_aborted.pop_front();
        }
        for (_, d) in self.all_keys() {
            d.aborted.do_send(NotifyCheckpointAborted { id });
        }
        tracing::warn!("checkpoint {id} aborted: {reason}");
        metrics::counter!("weir_checkpoints_failed_total").increment(1);
        let stats = self.stats_of(&pending, CheckpointStatus::Failed(reason.clone()), 0);
        self.shared.record_checkpoint(stats);
        for waiter in self.waiters.remove(&id).unwrap_or_default() {
            let _ = waiter.send(Err(reason.clone()));
        }
        if reason.counts_as_failure() && !self.terminated {
            self.consecutive_failures += 1;
            if self.consecutive_failures > self.cp.config.tolerable_failed_checkpoints {
                self.supervisor.do_send(CheckpointingFailed {
                    reason: reason.clone(),
                    failures: self.consecutive_failures,
                });
            }
        }
        self.after_checkpoint_ended(ctx);
    }

    /// Whether checkpoints must be deleted when the job ends with `status` (Flink's table:
    /// finished jobs delete them; cancelled ones unless retained on cancellation; failed ones only
    /// when checkpoints are not externalized).
    fn discard_on(&self, status: JobStatus) -> bool {
        use ExternalizedCheckpointRetention::*;
        let retention = self.cp.config.externalized_retention;
        match status {
            JobStatus::Finished => true,
            JobStatus::Canceled => retention != RetainOnCancellation,
            JobStatus::Failed => retention == NoExternalizedCheckpoints,
            _ => false,
        }
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.started = Instant::now();
        let interval = self.interval();
        self.schedule(ctx, interval);
    }
}

impl Handler<Deployed> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: Deployed, ctx: &mut Context<Self>) {
        self.subtasks = msg.0;
        self.suspended = false;
        // A trigger that came while tasks were restarting goes now.
        if self.trigger_waiting && self.pending.is_empty() {
            self.trigger_waiting = false;
            let wait = self.min_pause_wait().unwrap_or_default();
            self.schedule(ctx, wait);
        }
    }
}

impl Handler<RegionFailed> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: RegionFailed, ctx: &mut Context<Self>) {
        self.suspended = true;
        self.consecutive_failures = 0;
        self.finished.retain(|k| !msg.0.contains(&k.vertex));
        self.input_ended.retain(|k| !msg.0.contains(&k.vertex));

        let pending: Vec<CheckpointId> = self.pending.keys().copied().collect();
        for id in pending {
            self.abort(ctx, id, CheckpointFailureReason::TaskFailure);
        }
    }
}

impl Handler<AcknowledgeCheckpoint> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: AcknowledgeCheckpoint, ctx: &mut Context<Self>) {
        let Some(pending) = self.pending.get_mut(&msg.id) else {
            // Late ack of an aborted or subsumed checkpoint: its files must not linger.
            if self.recently_aborted.contains(&msg.id) || !self.completed.contains(&msg.id) {
                self.discard(msg.id);
            }
            return;
        };
        if pending.tracker.acknowledge(msg.key, msg.handle, msg.stats) == AckOutcome::Complete {
            self.complete(ctx, msg.id);
        }
    }
}

impl Handler<DeclineCheckpoint> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: DeclineCheckpoint, ctx: &mut Context<Self>) {
        let _ = msg.key;
        self.abort(ctx, msg.id, msg.reason);
    }
}

impl Handler<TriggerNow> for Coordinator {
    type Result = MessageResult<TriggerNow>;
    fn handle(&mut self, _: TriggerNow, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.trigger_manual(ctx, tx);
        MessageResult(rx)
    }
}

impl Handler<Terminate> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: Terminate, ctx: &mut Context<Self>) {
        self.terminated = true;
        let pending: Vec<CheckpointId> = self.pending.keys().copied().collect();
        for id in pending {
            self.abort(ctx, id, CheckpointFailureReason::JobTerminating);
        }
        for waiter in std::mem::take(&mut self.manual_queue) {
            let _ = waiter.send(Err(CheckpointFailureReason::JobTerminating));
        }
        if self.discard_on(msg.0) {
            for id in std::mem::take(&mut self.completed) {
                self.discard(id);
            }
        }
        System::current().stop();
    }
}

mod end_of_input;
mod latest_completed;
