//! The subtask side of checkpointing: sources snapshot when the coordinator triggers them and
//! inject the barrier; other subtasks align barriers across their input channels, snapshot, and
//! forward the barrier. The snapshot's synchronous part runs on the subtask's thread; the
//! asynchronous part (serializing and writing) runs on a blocking thread while processing goes on,
//! and ends with an acknowledgement (or a decline) to the coordinator.

use crate::actors::messages::{AcknowledgeCheckpoint, DeclineCheckpoint};
use crate::actors::messages::{
    NotifyCheckpointAborted, NotifyCheckpointComplete, TriggerCheckpoint,
};
use crate::checkpoint::barrier_aligner::AlignmentAction;
use crate::checkpoint::stats::{
    CheckpointFailureReason, CheckpointSubtask, DeclineCause, FailureSource, SubtaskCheckpointStats,
};
use crate::checkpoint::storage::{CheckpointStorage, SharedFile, StateHandle, StateLocation};
use crate::graph::task::SnapshotWriter;
use crate::network::event::{ChannelEvent, CheckpointBarrier, CheckpointId};

use crate::actors::messages::CoordinatorLink;
use crate::actors::subtask::lifecycle::Lifecycle;
use crate::actors::subtask::snapshot_error::SnapshotError;
use crate::actors::subtask::SubtaskActor;
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a subtask needs to take part in checkpoints.
#[derive(Clone)]
pub struct SubtaskCheckpointing {
    /// Where its state is written.
    pub storage: Arc<dyn CheckpointStorage>,
    /// Where it acknowledges.
    pub coordinator: CoordinatorLink,
    /// Its vertex's uid.
    pub vertex_uid: String,
    /// Its chained operators' uids.
    pub operator_uids: Vec<String>,
    /// Exactly-once (aligned) or at-least-once.
    pub aligned: bool,
}

struct Written {
    location: StateLocation,
    size: u64,
    shared: Vec<SharedFile>,
    async_duration: Duration,
}

impl SubtaskActor {
    /// A barrier taken from input channel `channel`.
    pub(crate) fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier) {
        if self.aligner.pending().is_none() {
            self.alignment_started = Some(Instant::now());
        }
        if self.newest_barrier.is_none_or(|b| b.id < barrier.id) {
            self.newest_barrier = Some(barrier);
        }
        let action = self.aligner.on_barrier(channel, barrier.id);
        self.apply_alignment(action);
    }

    pub(crate) fn apply_alignment(&mut self, action: AlignmentAction) {
        match action {
            AlignmentAction::None => {}
            AlignmentAction::Block(channel) => {
                if let Some(ch) = self.inputs.get_mut(channel) {
                    ch.blocked = true;
                }
            }
            AlignmentAction::Snapshot(id) => {
                let alignment = self
                    .alignment_started
                    .take()
                    .map(|t| t.elapsed())
                    .unwrap_or_default();
                self.release_channels();
                // The barrier seen for `id` (its timestamp and kind); aligning it took one.
                let barrier = match self.newest_barrier {
                    Some(b) if b.id == id => b,
                    _ => CheckpointBarrier {
                        id,
                        timestamp_ms: 0,
                        kind: Default::default(),
                    },
                };
                self.snapshot(barrier, alignment);
            }
            AlignmentAction::Abort { aborted, then } => {
                self.release_channels();
                self.decline(aborted, CheckpointFailureReason::Subsumed);
                self.alignment_started = Some(Instant::now());
                self.apply_alignment(*then);
            }
        }
    }

    fn release_channels(&mut self) {
        for ch in &mut self.inputs {
            ch.blocked = false;
        }
    }

    fn decline(&self, id: CheckpointId, reason: CheckpointFailureReason) {
        if let Some(cp) = &self.checkpointing {
            cp.coordinator.decline.do_send(DeclineCheckpoint {
                id,
                key: self.key,
                reason,
            });
        }
    }

    /// Snapshots for `barrier` (synchronous part here), forwards the barrier, and writes the
    /// state asynchronously.
    fn snapshot(&mut self, barrier: CheckpointBarrier, alignment: Duration) {
        let Some(cp) = self.checkpointing.clone() else {
            return;
        };
        let id = barrier.id;
        if self.last_snapshot.is_some_and(|last| last >= id) {
            return;
        }
        self.last_snapshot = Some(id);
        let started = Instant::now();
        // A panic fails the subtask; an error declines the checkpoint and processing goes on
        // (a failed pre-commit must never let this checkpoint's source positions complete).
        let kind = barrier.kind;
        let writer = match self.try_call(|task, _| task.snapshot_state(id, kind)) {
            None => return,
            Some(Ok(writer)) => writer,
            Some(Err(error)) => {
                self.forward_barrier(barrier);
                let reason = declined(
                    self.checkpoint_subtask(),
                    SnapshotError::Sync {
                        checkpoint: id,
                        error,
                    },
                );
                self.decline(id, reason);
                return;
            }
        };
        let sync_duration = started.elapsed();
        self.forward_barrier(barrier);
        if self.dirty {
            self.covered_by = Some(id);
            self.dirty = false;
        }
        if self.lifecycle() == Lifecycle::SourceExhausted && self.exhausted_barrier.is_none() {
            self.exhausted_barrier = Some(id);
        }
        let index = self.key.index;
        let stats = SubtaskCheckpointStats {
            task: self.id.task.clone(),
            subtask: index,
            alignment,
            sync_duration,
            ..Default::default()
        };
        let storage = cp.storage.clone();
        let uid = cp.vertex_uid.clone();
        let write = actix_rt::task::spawn_blocking(move || {
            write_snapshot(writer, storage.as_ref(), (id, &uid, index))
        });
        ctx_spawn_write(self, write, cp, stats, id);
    }
}

impl SubtaskActor {
    /// Sends `barrier` on every output, unless input ended: after end of input nothing more goes
    /// downstream, not even a barrier (consumers no longer wait for this channel).
    fn forward_barrier(&mut self, barrier: CheckpointBarrier) {
        if !self.lifecycle().input_ended() {
            if let Some(out) = self.outputs.as_mut() {
                out.broadcast_event(|| ChannelEvent::Barrier(barrier));
            }
        }
    }

    /// This subtask, as checkpoint statistics and failure reasons name it.
    fn checkpoint_subtask(&self) -> CheckpointSubtask {
        CheckpointSubtask {
            task: self.id.task.clone(),
            uid: self.id.uid.clone(),
            index: self.id.index,
            parallelism: self.id.parallelism,
        }
    }
}

/// The asynchronous part, on a blocking thread: runs the task's writer and writes its bytes to
/// `storage` as the state of `(checkpoint, vertex uid, subtask)`.
fn write_snapshot(
    writer: SnapshotWriter,
    storage: &dyn CheckpointStorage,
    (id, uid, index): (CheckpointId, &str, u32),
) -> Result<Written, SnapshotError> {
    let started = Instant::now();
    let snapshot = writer().map_err(|error| SnapshotError::Writer {
        checkpoint: id,
        error,
    })?;
    let location = match storage.write_state(id, uid, index, &snapshot.bytes) {
        Ok(location) => location,
        Err(error) => {
            // Shared files uploaded for a checkpoint that can no longer complete would be
            // orphans: remove them (files a complete checkpoint refers to stay).
            let uploaded: Vec<_> = snapshot
                .shared
                .iter()
                .filter(|f| f.uploaded)
                .map(|f| f.path.clone())
                .collect();
            if let Err(cleanup) = storage.discard_shared(id, &uploaded) {
                tracing::warn!("checkpoint {id}: {cleanup}");
            }
            return Err(SnapshotError::Storage {
                checkpoint: id,
                error,
            });
        }
    };
    let uploaded: u64 = snapshot
        .shared
        .iter()
        .filter(|f| f.uploaded)
        .map(|f| f.size)
        .sum();
    Ok(Written {
        location,
        size: snapshot.bytes.len() as u64 + snapshot.files_bytes + uploaded,
        shared: snapshot.shared,
        async_duration: started.elapsed(),
    })
}

/// Completes the asynchronous part: acknowledge with the state handle, or decline.
fn ctx_spawn_write(
    actor: &mut SubtaskActor,
    write: tokio::task::JoinHandle<Result<Written, SnapshotError>>,
    cp: SubtaskCheckpointing,
    mut stats: SubtaskCheckpointStats,
    id: CheckpointId,
) {
    let key = actor.key;
    let subtask = actor.checkpoint_subtask();
    actix::spawn(async move {
        let outcome = write.await.unwrap_or_else(|e| {
            Err(SnapshotError::WriterPanicked {
                checkpoint: id,
                message: e.to_string(),
            })
        });
        match outcome {
            Ok(written) => {
                stats.async_duration = written.async_duration;
                stats.state_size = written.size;
                cp.coordinator.ack.do_send(AcknowledgeCheckpoint {
                    id,
                    key,
                    handle: StateHandle {
                        vertex_uid: cp.vertex_uid.clone(),
                        subtask: key.index,
                        operator_uids: cp.operator_uids.clone(),
                        location: written.location,
                        size: written.size,
                        shared: written.shared,
                    },
                    stats,
                });
            }
            Err(error) => cp.coordinator.decline.do_send(DeclineCheckpoint {
                id,
                key,
                reason: declined(subtask, error),
            }),
        }
    });
}

/// The reason a subtask whose snapshot failed with `error` gives when it declines.
fn declined(subtask: CheckpointSubtask, error: SnapshotError) -> CheckpointFailureReason {
    let cause = match error {
        SnapshotError::Writer { error, .. } | SnapshotError::Sync { error, .. } => {
            DeclineCause::Snapshot(FailureSource::new(error))
        }
        SnapshotError::Storage { error, .. } => DeclineCause::StateWrite(FailureSource::new(error)),
        panicked @ SnapshotError::WriterPanicked { .. } => {
            DeclineCause::WriterPanicked(FailureSource::new(panicked))
        }
    };
    CheckpointFailureReason::Declined { subtask, cause }
}

impl Handler<TriggerCheckpoint> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: TriggerCheckpoint, _: &mut Context<Self>) {
        // A failed subtask stays silent: the job is failing and the checkpoint will expire or be
        // aborted with it. A source that has ended still acknowledges its final state.
        if self.is_active() {
            self.snapshot(msg.barrier, Duration::ZERO);
            if msg.suspend_source && self.is_source() && self.lifecycle.reads() {
                self.suspended_at = Some(msg.barrier.id);
            }
        }
    }
}

impl Handler<NotifyCheckpointComplete> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: NotifyCheckpointComplete, _: &mut Context<Self>) {
        if !self.is_active() {
            return;
        }
        self.last_completed = Some(self.last_completed.map_or(msg.id, |l| l.max(msg.id)));
        self.call(|task, _| task.notify_checkpoint_complete(msg.id));
        let exhausted = self.lifecycle() == Lifecycle::SourceExhausted;
        if exhausted && self.exhausted_barrier.is_some_and(|b| msg.id >= b) {
            self.end_input();
        }
        self.report_finished_when_done();
    }
}

impl Handler<NotifyCheckpointAborted> for SubtaskActor {
    type Result = ();
    fn handle(&mut self, msg: NotifyCheckpointAborted, ctx: &mut Context<Self>) {
        if !self.is_active() {
            return;
        }
        if self.aligner.abort_pending(msg.id).is_some() {
            self.alignment_started = None;
            self.release_channels();
        }
        if self.exhausted_barrier == Some(msg.id) {
            self.exhausted_barrier = None;
        }
        self.call(|task, _| task.notify_checkpoint_aborted(msg.id));
        if self.suspended_at == Some(msg.id) {
            // The stopping savepoint failed: the job goes on, and so does its source.
            self.suspended_at = None;
            self.schedule_source_turn(ctx);
        }
        self.drain(ctx);
    }
}
