//! The checkpoint coordinator actor: the edge of the pure [`CheckpointCoordinator`]. Each
//! message goes into the core; what the core asks for through [`CoordinatorContext`] is done
//! here: messages to subtasks and to the supervisor, tokio timers, calls to the checkpoint
//! storage, statistics and metrics. All timing is on tokio's clock, so a paused clock drives it
//! deterministically.
//!
//! # What is not guaranteed
//! - When the job ends ([`Terminate`]) pending checkpoints are aborted, manual requests are
//!   answered with [`CheckpointFailureReason::JobTerminating`], and the actor's system stops:
//!   acknowledgements still in flight are dropped with it.
//!
//! [`CheckpointFailureReason::JobTerminating`]: crate::checkpoint::failure_reason::CheckpointFailureReason::JobTerminating

use crate::actors::job_shared::JobShared;
use crate::actors::job_status::JobStatus;
use crate::actors::messages::{
    AcknowledgeCheckpoint, CheckpointOutcome, CheckpointingFailed, DeclineCheckpoint, Deployed,
    DeployedSubtask, EndSource, NotifyCheckpointAborted, NotifyCheckpointComplete, RegionFailed,
    SavepointOutcome, Terminate, TriggerCheckpoint, TriggerNow, TriggerSavepoint,
};
use crate::checkpoint::checkpoint_coordinator::{
    CheckpointCoordinator, CoordinatedJob, SavepointRequest,
};
use crate::checkpoint::coordinator_context::{
    CoordinatorContext, RequestId, RequestOutcome, SubtaskMessage, Timer,
};
use crate::checkpoint::failure_reason::CheckpointFailureReason;
use crate::checkpoint::savepoint::{
    ClaimedSnapshot, CompletedSavepoint, SavepointError, SavepointWriter,
};
use crate::checkpoint::stats::{CheckpointStats, CheckpointStatus};
use crate::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, StorageError, VertexMetadata,
};
use crate::config::checkpoint_config::ExternalizedCheckpointRetention;
use crate::graph::job_spec::{CheckpointingSpec, JobSpec};
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::CheckpointId;
use actix::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// One job's checkpoint coordinator.
pub struct Coordinator {
    core: CheckpointCoordinator,
    edge: Edge,
}

/// What the core's side effects act on.
struct Edge {
    storage: Arc<dyn CheckpointStorage>,
    retention: ExternalizedCheckpointRetention,
    shared: Arc<JobShared>,
    supervisor: Recipient<CheckpointingFailed>,
    subtasks: HashMap<SubtaskKey, DeployedSubtask>,
    trigger_timer: Option<SpawnHandle>,
    timeouts: HashMap<CheckpointId, SpawnHandle>,
    requests: HashMap<RequestId, oneshot::Sender<CheckpointOutcome>>,
    next_request: u64,
    savepoint_writer: Option<Arc<dyn SavepointWriter>>,
    /// The restored snapshot the job claimed, disposed of once subsumed.
    claimed: Option<ClaimedSnapshot>,
    /// Savepoint requests, with their directories.
    savepoint_requests: HashMap<RequestId, (PathBuf, oneshot::Sender<SavepointOutcome>)>,
    /// Savepoints written, by checkpoint, until their requests are answered.
    savepoints_written: HashMap<CheckpointId, PathBuf>,
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

        let job = CoordinatedJob {
            job_id: cp.job_id.clone(),
            max_parallelism: spec.max_parallelism,
            vertices: spec
                .vertices
                .iter()
                .map(|v| VertexMetadata {
                    uid: v.uid.clone(),
                    parallelism: v.parallelism,
                })
                .collect(),
            is_source: (0..spec.vertices.len())
                .map(|v| spec.is_source(v))
                .collect(),
        };
        let mut core = CheckpointCoordinator::new(job, &cp.config, next_id, Instant::now());
        if let Some(claimed) = &cp.claimed {
            core.claim(claimed.checkpoint_id);
        }
        Coordinator {
            core,
            edge: Edge {
                claimed: cp.claimed,
                storage: cp.storage,
                retention: cp.config.externalized_retention,
                shared,
                supervisor,
                subtasks: HashMap::new(),
                trigger_timer: None,
                timeouts: HashMap::new(),
                requests: HashMap::new(),
                next_request: 0,
                savepoint_writer: cp.savepoint_writer,
                savepoint_requests: HashMap::new(),
                savepoints_written: HashMap::new(),
            },
        }
    }

    /// The newest checkpoint completed in this run, if any.
    pub(crate) fn latest_completed(&self) -> Option<CheckpointId> {
        self.core.latest_completed()
    }

    /// Runs `f` on the core, with this actor as its context.
    fn drive(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut CheckpointCoordinator, &mut ActorContext<'_>),
    ) {
        let mut cx = ActorContext {
            edge: &mut self.edge,
            ctx,
        };
        f(&mut self.core, &mut cx);
    }
}

/// Whether checkpoints must be deleted when the job ends with `status` (Flink's table:
/// finished jobs delete them; cancelled ones unless retained on cancellation; failed ones only
/// when checkpoints are not externalized).
fn discard_on(retention: ExternalizedCheckpointRetention, status: JobStatus) -> bool {
    use ExternalizedCheckpointRetention::*;
    match status {
        JobStatus::Finished => true,
        JobStatus::Canceled => retention != RetainOnCancellation,
        JobStatus::Failed => retention == NoExternalizedCheckpoints,
        _ => false,
    }
}

/// The core's context while the actor handles one message.
struct ActorContext<'a> {
    edge: &'a mut Edge,
    ctx: &'a mut Context<Coordinator>,
}

impl CoordinatorContext for ActorContext<'_> {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn epoch_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    fn send(&mut self, to: SubtaskKey, message: SubtaskMessage) {
        let Some(subtask) = self.edge.subtasks.get(&to) else {
            return;
        };
        match message {
            SubtaskMessage::Trigger(barrier) => subtask.trigger.do_send(TriggerCheckpoint {
                barrier,
                suspend_source: false,
            }),
            SubtaskMessage::TriggerAndSuspend(barrier) => {
                subtask.trigger.do_send(TriggerCheckpoint {
                    barrier,
                    suspend_source: true,
                })
            }
            SubtaskMessage::Complete(id) => {
                subtask.complete.do_send(NotifyCheckpointComplete { id })
            }
            SubtaskMessage::Aborted(id) => subtask.aborted.do_send(NotifyCheckpointAborted { id }),
            SubtaskMessage::EndSource => subtask.end_source.do_send(EndSource),
        }
    }

    fn write_metadata(&mut self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        self.edge.storage.write_metadata(metadata)
    }

    fn discard(&mut self, checkpoint: CheckpointId) -> Result<(), StorageError> {
        self.edge.storage.discard(checkpoint)
    }

    fn dispose_claimed(&mut self) -> Result<(), StorageError> {
        match self.edge.claimed.take() {
            Some(claimed) => (claimed.dispose)(),
            None => Ok(()),
        }
    }

    fn discard_shared(
        &mut self,
        checkpoint: CheckpointId,
        files: &[PathBuf],
    ) -> Result<(), StorageError> {
        self.edge.storage.discard_shared(checkpoint, files)
    }

    fn report_failure(&mut self, reason: CheckpointFailureReason, failures: u32) {
        self.edge
            .supervisor
            .do_send(CheckpointingFailed { reason, failures });
    }

    fn schedule(&mut self, timer: Timer, at: Instant) {
        self.cancel(timer);
        let delay = at.saturating_duration_since(Instant::now());
        match timer {
            Timer::Trigger => {
                let handle = self.ctx.run_later(delay, |act, ctx| {
                    act.edge.trigger_timer = None;
                    act.drive(ctx, |core, cx| core.on_trigger_timer(cx));
                });
                self.edge.trigger_timer = Some(handle);
            }
            Timer::Timeout(id) => {
                let handle = self.ctx.run_later(delay, move |act, ctx| {
                    act.edge.timeouts.remove(&id);
                    act.drive(ctx, |core, cx| core.on_timeout(id, cx));
                });
                self.edge.timeouts.insert(id, handle);
            }
        }
    }

    fn cancel(&mut self, timer: Timer) {
        let handle = match timer {
            Timer::Trigger => self.edge.trigger_timer.take(),
            Timer::Timeout(id) => self.edge.timeouts.remove(&id),
        };
        if let Some(handle) = handle {
            self.ctx.cancel_future(handle);
        }
    }

    fn checkpoint_ended(&mut self, stats: &CheckpointStats) {
        let id = stats.id;
        match &stats.status {
            CheckpointStatus::Completed => tracing::info!(
                checkpoint = id,
                duration = ?stats.duration,
                size = stats.state_size,
                "checkpoint {id} complete: {} bytes in {:?}",
                stats.state_size,
                stats.duration
            ),
            CheckpointStatus::Failed(reason) => {
                tracing::warn!(checkpoint = id, %reason, "checkpoint {id} failed: {reason}")
            }
            CheckpointStatus::InProgress => {}
        }
        if stats.status == CheckpointStatus::Completed {
            metrics::counter!("weir_checkpoints_completed_total").increment(1);
            metrics::gauge!("weir_last_checkpoint_duration_ms")
                .set(stats.duration.as_millis() as f64);
            metrics::gauge!("weir_last_checkpoint_size_bytes").set(stats.state_size as f64);
            metrics::gauge!("weir_last_checkpoint_alignment_ms")
                .set(stats.max_alignment().as_millis() as f64);
        } else {
            metrics::counter!("weir_checkpoints_failed_total").increment(1);
        }
        self.edge.shared.record_checkpoint(stats.clone());
    }

    fn answer(&mut self, request: RequestId, outcome: RequestOutcome) {
        if let Some(waiter) = self.edge.requests.remove(&request) {
            let _ = waiter.send(outcome);
        } else if let Some((dir, waiter)) = self.edge.savepoint_requests.remove(&request) {
            let _ = waiter.send(savepoint_outcome(self.edge, dir, outcome));
        }
    }

    fn write_savepoint(
        &mut self,
        dir: &std::path::Path,
        metadata: &CheckpointMetadata,
    ) -> Result<(), StorageError> {
        let Some(writer) = &self.edge.savepoint_writer else {
            return Err(StorageError::Io {
                operation: "write",
                path: dir.to_path_buf(),
                reason: "this job has no savepoint writer".into(),
            });
        };
        let path = writer.write(dir, metadata)?;
        tracing::info!(checkpoint = metadata.checkpoint_id, path = %path.display(), "savepoint written");
        self.edge
            .savepoints_written
            .insert(metadata.checkpoint_id, path);
        Ok(())
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| core.start(cx));
    }
}

impl Handler<Deployed> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: Deployed, ctx: &mut Context<Self>) {
        let keys: Vec<SubtaskKey> = msg.0.iter().flatten().map(|d| d.key).collect();
        self.edge.subtasks = msg.0.into_iter().flatten().map(|d| (d.key, d)).collect();
        self.drive(ctx, |core, cx| core.deployed(keys, cx));
    }
}

impl Handler<RegionFailed> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: RegionFailed, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| core.region_failed(&msg.0, cx));
    }
}

impl Handler<AcknowledgeCheckpoint> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: AcknowledgeCheckpoint, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| {
            core.acknowledge(msg.id, msg.key, msg.handle, msg.stats, cx)
        });
    }
}

impl Handler<DeclineCheckpoint> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: DeclineCheckpoint, ctx: &mut Context<Self>) {
        self.drive(ctx, |core, cx| {
            core.decline(msg.id, msg.key, msg.reason, cx)
        });
    }
}

impl Handler<TriggerNow> for Coordinator {
    type Result = MessageResult<TriggerNow>;
    fn handle(&mut self, _: TriggerNow, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let request = RequestId(self.edge.next_request);
        self.edge.next_request += 1;
        self.edge.requests.insert(request, tx);
        self.drive(ctx, |core, cx| core.trigger_manual(request, cx));
        MessageResult(rx)
    }
}

/// What a savepoint request into `dir` answers for its checkpoint's `outcome`.
fn savepoint_outcome(edge: &mut Edge, dir: PathBuf, outcome: RequestOutcome) -> SavepointOutcome {
    match outcome {
        Ok(stats) => match edge.savepoints_written.remove(&stats.id) {
            Some(path) => Ok(CompletedSavepoint {
                path,
                checkpoint_id: stats.id,
                stats,
            }),
            None => Err(SavepointError::Failed {
                dir,
                reason: CheckpointFailureReason::JobTerminating,
            }),
        },
        Err(reason) => Err(SavepointError::Failed { dir, reason }),
    }
}

impl Handler<TriggerSavepoint> for Coordinator {
    type Result = MessageResult<TriggerSavepoint>;
    fn handle(&mut self, msg: TriggerSavepoint, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let request = RequestId(self.edge.next_request);
        self.edge.next_request += 1;
        self.edge
            .savepoint_requests
            .insert(request, (msg.dir.clone(), tx));
        let savepoint = SavepointRequest {
            dir: msg.dir,
            stop: msg.stop,
            format: msg.format,
        };
        self.drive(ctx, |core, cx| match msg.drain {
            true => core.drain_with_savepoint(request, savepoint, cx),
            false => core.trigger_savepoint(request, savepoint, cx),
        });
        MessageResult(rx)
    }
}

impl Handler<Terminate> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: Terminate, ctx: &mut Context<Self>) {
        let discard = discard_on(self.edge.retention, msg.0);
        self.drive(ctx, |core, cx| core.terminate(discard, cx));
        System::current().stop();
    }
}

mod end_of_input;
mod latest_completed;
