//! The supervisor actor: it deploys a job's subtasks, receives every finish and failure report,
//! asks the restart strategy whether and when to restart, restarts the failed subtask's region (or
//! every task) from the latest complete checkpoint, and owns the job's lifecycle.

use crate::actors::coordinator::Coordinator;
use crate::actors::deployment::Deployer;
use crate::actors::job_result::JobResult;
use crate::actors::job_shared::JobShared;
use crate::actors::job_status::JobStatus;
use crate::actors::messages::Cancel;
use crate::actors::messages::{CancelJob, CheckpointingFailed, SubtaskFailed, SubtaskFinished};
use crate::actors::messages::{
    CoordinatorControl, CoordinatorLink, DeployedSubtask, SupervisorLink,
};
use crate::actors::messages::{Deployed, RegionFailed, SubtaskDone, Terminate};
use crate::config::configuration::FailoverStrategyKind;
use crate::error::{JobError, TaskFailure};
use crate::graph::job_spec::{JobSpec, RestoredCheckpoint};
use crate::graph::subtask_key::SubtaskKey;
use crate::recovery::failover_region::{pipelined_regions, region_of};
use crate::recovery::restart_history::RestartRecord;
use crate::recovery::restart_strategy::{RestartBackoffTimeStrategy, RestartStrategyConfig};
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
    strategy: Box<dyn RestartBackoffTimeStrategy + Send>,
    strategy_is_none: bool,
    regions: Vec<usize>,
    attempts: Vec<u32>,
    restarting: HashSet<usize>,
    restarts: u32,
    history: Vec<RestartRecord>,
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
        let vertices = spec.vertices.len();
        Supervisor {
            strategy: config.create(seed),
            strategy_is_none: config == RestartStrategyConfig::NoRestart,
            spec,
            arbiters,
            shared,
            deployer: None,
            subtasks: vec![Vec::new(); vertices],
            finished: HashSet::new(),
            coordinator: None,
            regions,
            attempts: vec![0; vertices],
            restarting: HashSet::new(),
            restarts: 0,
            history: Vec::new(),
            started: Instant::now(),
            restarting_since: None,
            done: false,
        }
    }

    fn total_subtasks(&self) -> usize {
        self.subtasks.iter().map(Vec::len).sum()
    }

    fn is_current(&self, key: &SubtaskKey) -> bool {
        self.attempts.get(key.vertex) == Some(&key.attempt)
            && !self.restarting.contains(&key.vertex)
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

    /// The checkpoint a restarted region starts from: the latest complete one of this run, or the
    /// one the job was started from.
    fn latest_checkpoint(&self) -> Result<Option<Arc<RestoredCheckpoint>>, String> {
        let latest = *self.shared.latest_checkpoint.lock();
        match (latest, &self.spec.checkpointing) {
            (Some(id), Some(cp)) => RestoredCheckpoint::load(cp.storage.as_ref(), id)
                .map(|r| Some(Arc::new(r)))
                .map_err(|e| format!("cannot load checkpoint {id} to restart from: {e}")),
            _ => Ok(self.spec.restore.clone()),
        }
    }

    /// A failure of subtask `key`, or of the whole job (`None`: too many failed checkpoints).
    fn handle_failure(
        &mut self,
        ctx: &mut Context<Self>,
        key: Option<SubtaskKey>,
        failure: TaskFailure,
        unrestarted: JobError,
    ) {
        if self.done || key.is_some_and(|k| !self.is_current(&k)) {
            return;
        }
        tracing::error!("{failure}");
        let now = self.started.elapsed();
        let counted = self.strategy.notify_failure(now);
        if !self.strategy.can_restart() {
            self.shared.set_status(JobStatus::Failing);
            let error = if self.strategy_is_none {
                unrestarted
            } else {
                JobError::RestartsExhausted {
                    cause: Box::new(failure),
                    strategy: self.strategy.describe(),
                    history: self.history.clone(),
                }
            };
            self.complete(JobStatus::Failed, Err(error));
            return;
        }
        let delay = self.strategy.backoff_time(now);
        let vertices = match (self.spec.failover, key) {
            (FailoverStrategyKind::Region, Some(key)) => region_of(&self.regions, key.vertex),
            _ => (0..self.spec.vertices.len()).collect(),
        };
        // Regions already restarting keep their scheduled restart.
        let vertices: Vec<usize> = vertices
            .into_iter()
            .filter(|v| !self.restarting.contains(v))
            .collect();
        if vertices.is_empty() {
            return;
        }
        self.cancel(&vertices);
        self.finished.retain(|k| !vertices.contains(&k.vertex));
        self.restarting.extend(vertices.iter().copied());
        self.restarts += 1;
        let record = RestartRecord {
            at: now,
            cause: failure,
            attempt: self.restarts,
            delay,
            restarted_tasks: vertices
                .iter()
                .map(|&v| self.spec.vertices[v].name.clone())
                .collect(),
            counted,
        };
        tracing::warn!(
            "restart {} of {:?} in {:?} after: {}",
            record.attempt,
            record.restarted_tasks,
            delay,
            record.cause
        );
        metrics::counter!("weir_restarts_total").increment(1);
        self.history.push(record.clone());
        self.shared.record_restart(record);
        if let Some(coordinator) = &self.coordinator {
            coordinator
                .region_failed
                .do_send(RegionFailed(vertices.clone()));
        }
        if self.restarting_since.is_none() {
            self.restarting_since = Some(Instant::now());
        }
        self.shared.set_status(JobStatus::Restarting);
        ctx.run_later(delay, move |act, ctx| act.restart(ctx, vertices));
    }

    fn restart(&mut self, _ctx: &mut Context<Self>, vertices: Vec<usize>) {
        if self.done {
            return;
        }
        let restore = match self.latest_checkpoint() {
            Ok(r) => r,
            Err(reason) => {
                let error = JobError::Startup(reason);
                self.complete(JobStatus::Failed, Err(error));
                return;
            }
        };
        // Every deployment gets a new attempt number, so reports of the old one are told apart.
        let attempt = self.restarts;
        for &v in &vertices {
            self.attempts[v] = attempt;
            self.restarting.remove(&v);
        }
        if let Some(deployer) = self.deployer.as_mut() {
            deployer.deploy(&vertices, attempt, restore.as_ref(), &mut self.subtasks);
        }
        if let Some(coordinator) = &self.coordinator {
            coordinator
                .deployed
                .do_send(Deployed(self.subtasks.clone()));
        }
        if self.restarting.is_empty() {
            if let Some(since) = self.restarting_since.take() {
                self.shared.add_downtime(since.elapsed());
            }
            self.shared.set_status(JobStatus::Running);
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.started = Instant::now();
        let mut link = None;
        if let Some(cp) = self.spec.checkpointing.clone() {
            let failed = ctx.address().recipient();
            let coordinator = Coordinator::new(self.spec.clone(), cp, self.shared.clone(), failed);
            let coordinator = coordinator.start();
            self.shared.set_coordinator(coordinator.clone().recipient());
            link = Some(CoordinatorLink {
                ack: coordinator.clone().recipient(),
                decline: coordinator.clone().recipient(),
                exhausted: coordinator.clone().recipient(),
                input_ended: coordinator.clone().recipient(),
            });
            self.coordinator = Some(CoordinatorControl {
                deployed: coordinator.clone().recipient(),
                region_failed: coordinator.clone().recipient(),
                subtask_done: coordinator.clone().recipient(),
                terminate: coordinator.recipient(),
            });
        }
        let supervisor = SupervisorLink {
            finished: ctx.address().recipient(),
            failed: ctx.address().recipient(),
        };
        let mut deployer = Deployer::new(
            self.spec.clone(),
            self.shared.clone(),
            self.arbiters.clone(),
            supervisor,
            link,
            self.started,
        );
        let all: Vec<usize> = (0..self.spec.vertices.len()).collect();
        let restore = self.spec.restore.clone();
        deployer.deploy(&all, 0, restore.as_ref(), &mut self.subtasks);
        self.deployer = Some(deployer);
        if let Some(coordinator) = &self.coordinator {
            coordinator
                .deployed
                .do_send(Deployed(self.subtasks.clone()));
        }
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
        if !self.is_current(&msg.key) {
            return;
        }
        self.finished.insert(msg.key);
        if let Some(coordinator) = &self.coordinator {
            coordinator.subtask_done.do_send(SubtaskDone(msg.key));
        }
        if self.finished.len() == self.total_subtasks() && self.restarting.is_empty() {
            let result = self.shared.job_result(&self.spec.name);
            self.complete(JobStatus::Finished, Ok(result));
        }
    }
}

impl Handler<SubtaskFailed> for Supervisor {
    type Result = ();
    fn handle(&mut self, msg: SubtaskFailed, ctx: &mut Context<Self>) {
        let unrestarted = JobError::TaskFailed(Box::new(msg.failure.clone()));

        self.handle_failure(ctx, Some(msg.key), msg.failure, unrestarted);
    }
}

impl Handler<CheckpointingFailed> for Supervisor {
    type Result = ();
    /// As in Flink, exceeding the tolerable checkpoint failures is a job failure that goes
    /// through the restart strategy (restarting every task).
    fn handle(&mut self, msg: CheckpointingFailed, ctx: &mut Context<Self>) {
        let failure = TaskFailure {
            subtask: crate::error::SubtaskId {
                task: "checkpoint coordinator".into(),
                uid: String::new(),
                index: 0,
                parallelism: 1,
            },
            error: crate::error::TaskError::new(
                crate::error::TaskErrorKind::State,
                format!(
                    "{} consecutive checkpoint failures exceed the tolerable number; last: {}",
                    msg.failures, msg.reason
                ),
            ),
        };
        let unrestarted = JobError::CheckpointingFailed {
            failures: msg.failures,
            last: msg.reason,
        };
        self.handle_failure(ctx, None, failure, unrestarted);
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
