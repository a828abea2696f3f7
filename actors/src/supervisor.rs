//! The supervisor actor: it deploys a job's subtasks, receives every finish and failure report, and
//! owns the job's lifecycle. (Restart strategies plug in here; until then a failure fails the job.)

use crate::checkpoint_stats::CheckpointFailureReason;
use crate::client::{JobResult, JobShared, JobStatus};
use crate::coordinator::{Coordinator, Deployed, SubtaskDone, Terminate};
use crate::error::{JobError, TaskFailure};
use crate::job::{wire, JobSpec};
use crate::subtask::{Cancel, Start, SubtaskActor, SubtaskKey, SubtaskParts};
use crate::subtask_checkpoint::SubtaskCheckpointing;
use crate::task::SubtaskInfo;
use actix::prelude::*;
use actix_rt::ArbiterHandle;
use std::collections::HashSet;
use std::sync::Arc;

/// A subtask read all its input and flushed all its output.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubtaskFinished {
    /// Which subtask.
    pub key: SubtaskKey,
}

/// A subtask failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubtaskFailed {
    /// Which subtask.
    pub key: SubtaskKey,
    /// Where and why.
    pub failure: TaskFailure,
}

/// More checkpoints failed in a row than the job tolerates.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CheckpointingFailed {
    /// The last failure.
    pub reason: CheckpointFailureReason,
    /// Consecutive failures counted.
    pub failures: u32,
}

/// The client asks to cancel the job.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CancelJob;

/// One job's supervisor.
pub struct Supervisor {
    spec: Arc<JobSpec>,
    arbiters: Vec<ArbiterHandle>,
    shared: Arc<JobShared>,
    subtasks: Vec<Vec<Addr<SubtaskActor>>>,
    finished: HashSet<SubtaskKey>,
    coordinator: Option<Addr<Coordinator>>,
    done: bool,
}

impl Supervisor {
    /// A supervisor for `spec`, placing subtasks round-robin on `arbiters`.
    pub fn new(spec: Arc<JobSpec>, arbiters: Vec<ArbiterHandle>, shared: Arc<JobShared>) -> Self {
        Supervisor {
            spec,
            arbiters,
            shared,
            subtasks: Vec::new(),
            finished: HashSet::new(),
            coordinator: None,
            done: false,
        }
    }

    fn deploy(&mut self, me: Addr<Supervisor>) {
        if let Some(cp) = self.spec.checkpointing.clone() {
            let coordinator =
                Coordinator::new(self.spec.clone(), cp, self.shared.clone(), me.clone()).start();
            self.shared.set_coordinator(coordinator.clone());
            self.coordinator = Some(coordinator);
        }
        let mut placement = 0usize;
        let output_counts: Vec<Vec<usize>> = (0..self.spec.vertices.len())
            .map(|v| self.spec.output_channel_counts(v))
            .collect();
        for (vertex, v) in self.spec.vertices.iter().enumerate() {
            let mut addrs = Vec::with_capacity(v.parallelism as usize);
            for index in 0..v.parallelism {
                let info = SubtaskInfo {
                    task_name: v.name.clone(),
                    index,
                    parallelism: v.parallelism,
                    max_parallelism: self.spec.max_parallelism,
                    attempt: 0,
                    output_channels: output_counts[vertex].clone(),
                    metrics: self.shared.metrics.clone(),
                    restored_state: self.restored_state(&v.uid, index),
                };
                let checkpointing = match (&self.spec.checkpointing, &self.coordinator) {
                    (Some(cp), Some(coordinator)) => Some(SubtaskCheckpointing {
                        storage: cp.storage.clone(),
                        coordinator: coordinator.clone(),
                        vertex_uid: v.uid.clone(),
                        operator_uids: v.operator_uids.clone(),
                        aligned: cp.config.mode
                            == crate::checkpoint_config::CheckpointingMode::ExactlyOnce,
                        faults: self.spec.faults.clone(),
                    }),
                    _ => None,
                };
                let parts = (
                    SubtaskKey { vertex, index },
                    self.spec.subtask_id(vertex, index),
                    v.factory.clone(),
                    me.clone(),
                    self.shared.metrics.subtask(&v.name, index),
                    checkpointing,
                );
                let arbiter = &self.arbiters[placement % self.arbiters.len()];
                placement += 1;
                let addr = SubtaskActor::start_in_arbiter(arbiter, move |_| {
                    let (key, id, factory, supervisor, counters, checkpointing) = parts;
                    let task =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| factory(&info)))
                            .unwrap_or_else(|p| Err(crate::error::TaskError::from_panic(p)));
                    SubtaskActor::new(SubtaskParts {
                        key,
                        id,
                        task,
                        supervisor,
                        counters,
                        checkpointing,
                    })
                });
                addrs.push(addr);
            }
            self.subtasks.push(addrs);
        }
        wire(&self.spec, &self.subtasks, &self.shared.metrics);
        if let Some(coordinator) = &self.coordinator {
            coordinator.do_send(Deployed(self.subtasks.clone()));
        }
        for addr in self.subtasks.iter().flatten() {
            addr.do_send(Start);
        }
    }

    fn restored_state(&self, vertex_uid: &str, index: u32) -> Option<Arc<Vec<u8>>> {
        let restore = self.spec.restore.as_ref()?;

        restore
            .states
            .get(&(vertex_uid.to_string(), index))
            .cloned()
    }

    fn total_subtasks(&self) -> usize {
        self.subtasks.iter().map(Vec::len).sum()
    }

    fn cancel_all(&mut self) {
        for addr in self.subtasks.iter().flatten() {
            addr.do_send(Cancel);
        }
    }

    fn complete(&mut self, status: JobStatus, result: Result<JobResult, JobError>) {
        if self.done {
            return;
        }
        self.done = true;
        self.cancel_all();
        self.shared.set_status(status);
        self.shared.complete(result);
        match &self.coordinator {
            // The coordinator cleans up checkpoints as retention says, then stops the system.
            Some(coordinator) => coordinator.do_send(Terminate(status)),
            None => System::current().stop(),
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.deploy(ctx.address());
        self.shared.set_status(JobStatus::Running);
        if self.total_subtasks() == 0 {
            let result = JobResult::from_shared(&self.spec.name, &self.shared);
            self.complete(JobStatus::Finished, Ok(result));
        }
    }
}

impl Handler<SubtaskFinished> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: SubtaskFinished, _: &mut Context<Self>) {
        self.finished.insert(msg.key);
        if let Some(coordinator) = &self.coordinator {
            coordinator.do_send(SubtaskDone(msg.key));
        }
        if self.finished.len() == self.total_subtasks() {
            let result = JobResult::from_shared(&self.spec.name, &self.shared);
            self.complete(JobStatus::Finished, Ok(result));
        }
    }
}

impl Handler<SubtaskFailed> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: SubtaskFailed, _: &mut Context<Self>) {
        if self.done {
            return;
        }
        tracing::error!("{}", msg.failure);
        self.shared.set_status(JobStatus::Failing);
        self.complete(JobStatus::Failed, Err(JobError::TaskFailed(msg.failure)));
    }
}

impl Handler<CheckpointingFailed> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: CheckpointingFailed, _: &mut Context<Self>) {
        if self.done {
            return;
        }
        self.shared.set_status(JobStatus::Failing);
        let error = JobError::CheckpointingFailed {
            failures: msg.failures,
            last: msg.reason,
        };
        self.complete(JobStatus::Failed, Err(error));
    }
}

impl Handler<CancelJob> for Supervisor {
    type Result = ();
    fn handle(&mut self, _: CancelJob, _: &mut Context<Self>) {
        if self.done {
            return;
        }
        self.shared.set_status(JobStatus::Cancelling);
        self.complete(JobStatus::Canceled, Err(JobError::Cancelled));
    }
}
