//! The supervisor actor: it deploys a job's subtasks, receives every finish and failure report,
//! carries out what the [`FailureHandler`] decides about each failure, restarts the failed
//! subtask's region (or every task) from the latest complete checkpoint, and owns the job's
//! lifecycle.
//!
//! # Restarts
//! A restart decision cancels the tasks at once and tells the coordinator ([`RegionFailed`]), which
//! aborts pending checkpoints and triggers none until the tasks are deployed again. When the
//! delay is over, the supervisor asks the coordinator for the newest completed checkpoint
//! ([`LatestCompletedCheckpoint`]), waits for the answer with its own mailbox paused, loads that
//! checkpoint (or, when none completed in this run, takes the one the job was started from) and
//! deploys the tasks from it. Everything runs on tokio's clock and by messages, so under the
//! paused clock of deterministic mode restarts happen at the same points run after run.
//!
//! # Logs
//! One `info` line when the job starts, one when it restores a checkpoint (which, and what it
//! skipped), one per restart decision (cause, attempt, delay); one `error` line per failure that
//! ends the job.

mod restart;

use crate::actors::coordinator::Coordinator;
use crate::actors::deployment::Deployer;
use crate::actors::job_result::JobResult;
use crate::actors::job_shared::JobShared;
use crate::actors::job_status::JobStatus;
use crate::actors::messages::Cancel;
use crate::actors::messages::{
    CancelJob, CheckpointingFailed, StopJob, SubtaskFailed, SubtaskFinished,
};
use crate::actors::messages::{
    CoordinatorControl, CoordinatorLink, DeployedSubtask, SupervisorLink,
};
use crate::actors::messages::{Deployed, SubtaskDone, Terminate};
#[cfg(doc)]
use crate::actors::messages::{LatestCompletedCheckpoint, RegionFailed};
use crate::error::JobError;
use crate::graph::job_spec::JobSpec;
use crate::graph::subtask_key::SubtaskKey;
use crate::recovery::failover_decision::{FailoverDecision, FailureHandler, FailureReport};
use crate::recovery::failover_region::pipelined_regions;
use crate::recovery::failure_cause::FailureCause;
use crate::recovery::restart_strategy::RestartStrategyConfig;
use actix::prelude::*;
use actix_rt::ArbiterHandle;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::time::Instant;

/// One job's supervisor.
pub struct Supervisor {
    spec: Arc<JobSpec>,
    arbiters: Vec<ArbiterHandle>,
    shared: Arc<JobShared>,
    deployer: Option<Deployer>,
    subtasks: Vec<Vec<DeployedSubtask>>,
    finished: HashSet<SubtaskKey>,
    coordinator: Option<CoordinatorControl>,
    failures: FailureHandler,
    started: Instant,
    restarting_since: Option<Instant>,
    done: bool,
}

impl Supervisor {
    /// A supervisor for `spec`, placing subtasks round-robin on `arbiters`.
    pub fn new(spec: Arc<JobSpec>, arbiters: Vec<ArbiterHandle>, shared: Arc<JobShared>) -> Self {
        let config = spec
            .restart_strategy
            .clone()
            .unwrap_or_else(|| RestartStrategyConfig::default_for(spec.checkpointing.is_some()));
        let seed = spec.runtime.deterministic_seed.unwrap_or(0);
        let regions = pipelined_regions(spec.vertices.len(), &spec.edges);
        let names = spec.vertices.iter().map(|v| v.name.clone()).collect();
        let vertices = spec.vertices.len();
        Supervisor {
            failures: FailureHandler::new(&config, seed, spec.failover, regions, names),
            spec,
            arbiters,
            shared,
            deployer: None,
            subtasks: vec![Vec::new(); vertices],
            finished: HashSet::new(),
            coordinator: None,
            started: Instant::now(),
            restarting_since: None,
            done: false,
        }
    }

    fn total_subtasks(&self) -> usize {
        self.subtasks.iter().map(Vec::len).sum()
    }

    fn cancel(&self, vertices: &[usize]) {
        for &v in vertices {
            for d in &self.subtasks[v] {
                d.cancel.do_send(Cancel);
            }
        }
    }

    fn complete(&mut self, status: JobStatus, result: Result<JobResult, JobError>) {
        if self.done {
            return;
        }
        self.done = true;
        self.failures.end();
        let all: Vec<usize> = (0..self.subtasks.len()).collect();
        self.cancel(&all);
        self.shared.set_status(status);
        self.shared.complete(result);
        match &self.coordinator {
            // The coordinator cleans up checkpoints as retention says, then stops the system.
            Some(coordinator) => coordinator.terminate.do_send(Terminate(status)),
            None => System::current().stop(),
        }
    }

    /// Carries out what the failure handler decides about `report`.
    fn handle_failure(&mut self, ctx: &mut Context<Self>, report: FailureReport) {
        let now = self.started.elapsed();
        match self.failures.on_failure(report, now) {
            FailoverDecision::Ignore(stale) => {
                tracing::debug!(job = %self.spec.name, ?stale, "failure report ignored");
            }
            FailoverDecision::JoinScheduledRestart => {
                tracing::debug!(job = %self.spec.name, "failure joins the scheduled restart");
            }
            FailoverDecision::FailJob(error) => {
                tracing::error!(job = %self.spec.name, "job {} fails: {error}", self.spec.name);
                self.shared.set_status(JobStatus::Failing);
                self.complete(JobStatus::Failed, Err(error));
            }
            FailoverDecision::Restart {
                vertices,
                delay,
                record,
            } => self.schedule_restart(ctx, vertices, delay, record),
        }
    }

    fn deploy_all(&mut self) {
        let all: Vec<usize> = (0..self.spec.vertices.len()).collect();
        let restore = self.spec.restore.clone();
        if let Some(deployer) = self.deployer.as_mut() {
            deployer.deploy(&all, 0, restore.as_ref(), &mut self.subtasks);
        }
        if let Some(coordinator) = &self.coordinator {
            coordinator
                .deployed
                .do_send(Deployed(self.subtasks.clone()));
        }
    }

    /// Starts the coordinator, when the job checkpoints: what the subtasks send it, and what
    /// the supervisor does.
    fn start_coordinator(&mut self, ctx: &mut Context<Self>) -> Option<CoordinatorLink> {
        let cp = self.spec.checkpointing.clone()?;
        let failed = ctx.address().recipient();
        let coordinator = Coordinator::new(self.spec.clone(), cp, self.shared.clone(), failed);
        let coordinator = coordinator.start();
        self.shared.set_coordinator(
            coordinator.clone().recipient(),
            coordinator.clone().recipient(),
        );
        self.coordinator = Some(CoordinatorControl {
            deployed: coordinator.clone().recipient(),
            region_failed: coordinator.clone().recipient(),
            subtask_done: coordinator.clone().recipient(),
            terminate: coordinator.clone().recipient(),
            latest: coordinator.clone().recipient(),
        });
        Some(CoordinatorLink {
            ack: coordinator.clone().recipient(),
            decline: coordinator.clone().recipient(),
            exhausted: coordinator.clone().recipient(),
            input_ended: coordinator.recipient(),
        })
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.started = Instant::now();
        let link = self.start_coordinator(ctx);
        let supervisor = SupervisorLink {
            finished: ctx.address().recipient(),
            failed: ctx.address().recipient(),
        };
        self.deployer = Some(Deployer::new(
            self.spec.clone(),
            self.shared.clone(),
            self.arbiters.clone(),
            supervisor,
            link,
            self.started,
        ));
        self.log_start();
        self.deploy_all();
        self.shared.set_status(JobStatus::Running);
        if self.total_subtasks() == 0 {
            let result = self.shared.job_result(&self.spec.name);
            self.complete(JobStatus::Finished, Ok(result));
        }
    }
}

impl Handler<SubtaskFinished> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: SubtaskFinished, _: &mut Context<Self>) {
        if self.done || !self.failures.is_current(&msg.key) {
            return;
        }
        self.finished.insert(msg.key);
        if let Some(coordinator) = &self.coordinator {
            coordinator.subtask_done.do_send(SubtaskDone(msg.key));
        }
        if self.finished.len() == self.total_subtasks() && self.failures.is_settled() {
            let result = self.shared.job_result(&self.spec.name);
            self.complete(JobStatus::Finished, Ok(result));
        }
    }
}

impl Handler<SubtaskFailed> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: SubtaskFailed, ctx: &mut Context<Self>) {
        let report = FailureReport {
            subtask: Some(msg.key),
            cause: FailureCause::Subtask(msg.failure),
        };
        self.handle_failure(ctx, report);
    }
}

impl Handler<CheckpointingFailed> for Supervisor {
    type Result = ();
    /// As in Flink, exceeding the tolerable checkpoint failures is a job failure that goes
    /// through the restart strategy (restarting every task).
    fn handle(&mut self, msg: CheckpointingFailed, ctx: &mut Context<Self>) {
        let report = FailureReport {
            subtask: None,
            cause: FailureCause::CheckpointingFailed {
                failures: msg.failures,
                last: msg.reason,
            },
        };
        self.handle_failure(ctx, report);
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

impl Handler<StopJob> for Supervisor {
    type Result = ();
    fn handle(&mut self, _: StopJob, _: &mut Context<Self>) {
        if self.done {
            return;
        }
        let result = self.shared.job_result(&self.spec.name);
        self.complete(JobStatus::Finished, Ok(result));
    }
}
