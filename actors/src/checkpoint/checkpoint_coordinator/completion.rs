//! How a checkpoint ends: acknowledgements and declines (through the late-message rule),
//! completion (metadata written last, retention, subsumption, notifications) and failure
//! (abort notifications, failure counting, one report past the limit).

use super::{CheckpointCoordinator, Pending};
use crate::checkpoint::coordinator_context::{CoordinatorContext, SubtaskMessage, Timer};
use crate::checkpoint::failure_manager::FailureVerdict;
use crate::checkpoint::failure_reason::{CheckpointFailureReason, FailureSource};
use crate::checkpoint::late_message::{self, AckRule, DeclineRule};
use crate::checkpoint::pending_checkpoint::AckOutcome;
use crate::checkpoint::stats::{CheckpointStats, CheckpointStatus, SubtaskCheckpointStats};
use crate::checkpoint::storage::{CheckpointMetadata, StateHandle};
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::CheckpointId;
use tokio::time::Instant;

impl CheckpointCoordinator {
    /// Subtask `key` wrote its state for checkpoint `id` to `handle`.
    pub(crate) fn acknowledge(
        &mut self,
        id: CheckpointId,
        key: SubtaskKey,
        handle: StateHandle,
        stats: SubtaskCheckpointStats,
        cx: &mut impl CoordinatorContext,
    ) {
        let fate = self.fate(id, &key);
        match late_message::ack_rule(fate) {
            AckRule::Record => {
                let Some(pending) = self.pending.get_mut(&id) else {
                    return;
                };
                if pending.tracker.acknowledge(key, handle, stats) == AckOutcome::Complete {
                    self.complete(id, cx);
                }
            }
            AckRule::DiscardCheckpoint => {
                tracing::debug!(subtask = ?key, "late acknowledgement of ended checkpoint {id}");
                self.discard(id, cx);
            }
            AckRule::DiscardUploads => {
                tracing::debug!(subtask = ?key, ?fate, "acknowledgement of checkpoint {id} ignored");
                let recorded = self.pending.get(&id).map(|p| p.tracker.handles.as_slice());
                let files = late_message::uploads_to_discard(&handle, recorded.unwrap_or(&[]));
                if files.is_empty() {
                    return;
                }
                if let Err(e) = cx.discard_shared(id, &files) {
                    tracing::warn!("checkpoint {id}: {e}");
                }
            }
        }
    }

    /// Subtask `key` cannot take part in checkpoint `id`, for `reason`.
    pub(crate) fn decline(
        &mut self,
        id: CheckpointId,
        key: SubtaskKey,
        reason: CheckpointFailureReason,
        cx: &mut impl CoordinatorContext,
    ) {
        let fate = self.fate(id, &key);
        match late_message::decline_rule(fate) {
            DeclineRule::Abort => self.abort(id, reason, cx),
            DeclineRule::Ignore => {
                tracing::debug!(subtask = ?key, ?fate, "decline of checkpoint {id} ignored: {reason}");
            }
        }
    }

    /// Checkpoint `id`'s timeout fired: it expires unless it ended already.
    pub(crate) fn on_timeout(&mut self, id: CheckpointId, cx: &mut impl CoordinatorContext) {
        self.abort(id, CheckpointFailureReason::Expired(self.timeout), cx);
    }

    /// Every subtask acknowledged `id`: write its metadata, retain it, subsume older ones,
    /// notify every subtask.
    fn complete(&mut self, id: CheckpointId, cx: &mut impl CoordinatorContext) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        cx.cancel(Timer::Timeout(id));
        let metadata = self.metadata_of(&pending, cx.epoch_millis());
        if let Some(savepoint) = &pending.savepoint {
            if let Err(e) = cx.write_savepoint(&savepoint.dir, &metadata) {
                self.pending.insert(id, pending);
                let reason = CheckpointFailureReason::MetadataWrite(FailureSource::new(e));
                self.abort(id, reason, cx);
                return;
            }
            if !savepoint.stop {
                self.complete_intermediate_savepoint(pending, cx);
                return;
            }
        }
        let metadata_size = match cx.write_metadata(&metadata) {
            Ok(size) => size,
            Err(e) => {
                self.pending.insert(id, pending);
                let reason = CheckpointFailureReason::MetadataWrite(FailureSource::new(e));
                self.abort(id, reason, cx);
                return;
            }
        };
        let now = cx.now();
        let stats = self.stats_of(&pending, CheckpointStatus::Completed, metadata_size, now);
        self.scheduler.completed(now);
        self.failures.on_success(id);
        let subsumption = self.store.add(id, self.pending.keys().copied());
        for old in subsumption.discard {
            self.discard(old, cx);
        }
        for old in subsumption.abort {
            self.fail(old, CheckpointFailureReason::Subsumed, cx);
        }
        for key in self.plan.subtasks() {
            cx.send(*key, SubtaskMessage::Complete(id));
        }
        cx.checkpoint_ended(&stats);
        for request in pending.requests {
            cx.answer(request, Ok(stats.clone()));
        }
        if pending.savepoint.is_some_and(|s| s.stop) {
            self.stop_checkpointing(cx);
            return;
        }
        self.after_checkpoint_ended(cx);
    }

    /// An intermediate savepoint (the job goes on) was written: as in Flink since 1.15 it has no
    /// side effects and is not a checkpoint of the job. No subtask is notified (the sinks'
    /// transactions it covers are committed by the next checkpoint that completes), it is not
    /// retained for failover and subsumes nothing, and its files in the job's own directory are
    /// deleted (the savepoint is a copy). It counts neither as a success nor as a failure.
    fn complete_intermediate_savepoint(
        &mut self,
        pending: Pending,
        cx: &mut impl CoordinatorContext,
    ) {
        let id = pending.barrier.id;
        self.discard(id, cx);
        let now = cx.now();
        let stats = self.stats_of(&pending, CheckpointStatus::Completed, 0, now);
        self.scheduler.completed(now);
        cx.checkpoint_ended(&stats);
        for request in pending.requests {
            cx.answer(request, Ok(stats.clone()));
        }
        self.after_checkpoint_ended(cx);
    }

    /// Checkpoint `id` fails for `reason` (nothing when it is not pending); a trigger that
    /// waited for its slot is due.
    pub(super) fn abort(
        &mut self,
        id: CheckpointId,
        reason: CheckpointFailureReason,
        cx: &mut impl CoordinatorContext,
    ) {
        if self.fail(id, reason, cx) {
            self.after_checkpoint_ended(cx);
        }
    }

    /// Ends pending checkpoint `id` as failed for `reason`: discard, notify, publish, answer,
    /// count. Returns whether it was pending.
    fn fail(
        &mut self,
        id: CheckpointId,
        reason: CheckpointFailureReason,
        cx: &mut impl CoordinatorContext,
    ) -> bool {
        let Some(pending) = self.pending.remove(&id) else {
            return false;
        };
        cx.cancel(Timer::Timeout(id));
        self.discard(id, cx);
        for key in self.plan.subtasks() {
            cx.send(*key, SubtaskMessage::Aborted(id));
        }
        let status = CheckpointStatus::Failed(reason.clone());
        let stats = self.stats_of(&pending, status, 0, cx.now());
        cx.checkpoint_ended(&stats);
        for request in pending.requests {
            cx.answer(request, Err(reason.clone()));
        }
        // As in Flink, a failed savepoint leaves the job alone: only checkpoints count.
        if !self.terminated && pending.savepoint.is_none() {
            if let FailureVerdict::Exceeded { consecutive } = self.failures.on_failure(id, &reason)
            {
                cx.report_failure(reason, consecutive);
            }
        }
        true
    }

    fn metadata_of(&self, pending: &Pending, timestamp_ms: u64) -> CheckpointMetadata {
        CheckpointMetadata {
            job_id: self.job_id.clone(),
            checkpoint_id: pending.tracker.id,
            timestamp_ms,
            max_parallelism: self.max_parallelism,
            vertices: self.vertices.clone(),
            states: pending.tracker.handles.clone(),
        }
    }

    fn stats_of(
        &self,
        pending: &Pending,
        status: CheckpointStatus,
        metadata_size: u64,
        now: Instant,
    ) -> CheckpointStats {
        CheckpointStats {
            id: pending.tracker.id,
            trigger_time: pending.triggered_at.duration_since(self.started),
            duration: now.duration_since(pending.triggered_at),
            state_size: pending.tracker.handles.iter().map(|h| h.size).sum(),
            metadata_size,
            status,
            subtasks: pending.tracker.stats.clone(),
        }
    }
}
