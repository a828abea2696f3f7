//! How the supervisor carries out a restart decision: cancel, wait, ask the coordinator which
//! checkpoint to start from, load it, deploy. And the log lines of a job's start and restores.

use super::Supervisor;
use crate::actors::job_status::JobStatus;
use crate::actors::messages::{Deployed, LatestCompletedCheckpoint, RegionFailed};
use crate::error::JobError;
use crate::graph::job_spec::RestoredCheckpoint;
use crate::network::event::CheckpointId;
use crate::recovery::failover_decision::FailureReport;
use crate::recovery::failure_cause::FailureCause;
use crate::recovery::restart_history::RestartRecord;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What the coordinator answered about the checkpoint to restart from.
type Answer = Result<Option<CheckpointId>, MailboxError>;

impl Supervisor {
    /// Cancels `vertices` now, records the restart and restarts them after `delay`.
    pub(super) fn schedule_restart(
        &mut self,
        ctx: &mut Context<Self>,
        vertices: Vec<usize>,
        delay: Duration,
        record: RestartRecord,
    ) {
        self.cancel(&vertices);
        self.finished.retain(|k| !vertices.contains(&k.vertex));
        tracing::info!(
            job = %self.spec.name,
            attempt = record.attempt,
            delay_ms = delay.as_millis() as u64,
            "restart {} of {:?} in {:?} after: {}",
            record.attempt,
            record.restarted_tasks,
            delay,
            record.cause
        );
        metrics::counter!("weir_restarts_total").increment(1);
        let restart = record.attempt;
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
        ctx.run_later(delay, move |act, ctx| act.restart(ctx, restart, vertices));
    }

    /// The delay of restart `restart` is over: asks which checkpoint to start from, then deploys.
    /// The supervisor's mailbox waits for the answer, so no report overtakes the restart.
    fn restart(&mut self, ctx: &mut Context<Self>, restart: u32, vertices: Vec<usize>) {
        if self.done {
            return;
        }
        let Some(coordinator) = &self.coordinator else {
            self.restart_from(ctx, restart, vertices, Ok(None));
            return;
        };
        let ask = coordinator.latest.send(LatestCompletedCheckpoint);
        ctx.wait(ask.into_actor(self).map(move |answer, act, ctx| {
            act.restart_from(ctx, restart, vertices, answer);
        }));
    }

    fn restart_from(
        &mut self,
        ctx: &mut Context<Self>,
        restart: u32,
        vertices: Vec<usize>,
        answer: Answer,
    ) {
        if self.done {
            return;
        }
        let restore = match self.checkpoint_to_restore(answer) {
            Ok(restore) => restore,
            Err(None) => {
                tracing::error!(job = %self.spec.name, "job {} fails: {}", self.spec.name, JobError::CoordinatorLost);
                self.complete(JobStatus::Failed, Err(JobError::CoordinatorLost));
                return;
            }
            Err(Some(cause)) => {
                let report = FailureReport {
                    subtask: None,
                    cause,
                };
                self.handle_failure(ctx, report);
                return;
            }
        };
        let restored_from = restore.as_ref().map(|r| r.metadata.checkpoint_id);
        let attempt = self.failures.on_restart(restart, &vertices, restored_from);
        self.shared.restart_restored(restart, restored_from);
        self.log_restore(&vertices, restore.as_deref());
        if let Some(deployer) = self.deployer.as_mut() {
            deployer.deploy(&vertices, attempt, restore.as_ref(), &mut self.subtasks);
        }
        if let Some(coordinator) = &self.coordinator {
            coordinator
                .deployed
                .do_send(Deployed(self.subtasks.clone()));
        }
        if self.failures.is_settled() {
            if let Some(since) = self.restarting_since.take() {
                self.shared.add_downtime(since.elapsed());
            }
            self.shared.set_status(JobStatus::Running);
        }
    }

    /// The checkpoint the coordinator named, loaded, or the one the job was started from when
    /// none completed in this run. `Err(None)`: the coordinator is gone.
    fn checkpoint_to_restore(
        &self,
        answer: Answer,
    ) -> Result<Option<Arc<RestoredCheckpoint>>, Option<FailureCause>> {
        let latest = answer.map_err(|_| None)?;
        let claimed = (self.spec.checkpointing.as_ref())
            .and_then(|cp| cp.claimed.as_ref())
            .map(|c| c.checkpoint_id);
        match (latest, &self.spec.checkpointing) {
            // The claimed snapshot is not in the job's storage: it is the one the job started from.
            (Some(id), _) if Some(id) == claimed => Ok(self.spec.restore.clone()),
            (Some(id), Some(cp)) => RestoredCheckpoint::load(cp.storage.as_ref(), id)
                .map(|r| Some(Arc::new(r)))
                .map_err(|error| {
                    Some(FailureCause::RestoreFailed {
                        checkpoint: id,
                        error,
                    })
                }),
            _ => Ok(self.spec.restore.clone()),
        }
    }

    /// The job-start line, and the restore line when the job starts from a checkpoint.
    pub(super) fn log_start(&self) {
        let subtasks: u32 = self.spec.vertices.iter().map(|v| v.parallelism).sum();
        tracing::info!(
            job = %self.spec.name,
            tasks = self.spec.vertices.len(),
            subtasks,
            checkpointing = self.spec.checkpointing.is_some(),
            "job {} starts: {} tasks, {subtasks} subtasks, {}",
            self.spec.name,
            self.spec.vertices.len(),
            match &self.spec.restore {
                Some(r) => format!("from checkpoint {}", r.metadata.checkpoint_id),
                None => "from the beginning".to_string(),
            }
        );
        if let Some(restore) = &self.spec.restore {
            let all: Vec<usize> = (0..self.spec.vertices.len()).collect();
            self.log_restore(&all, Some(restore));
        }
    }

    /// One line: which tasks restore which checkpoint, and what they skip — tasks that start
    /// empty, state in the checkpoint that no task takes, tasks that keep running.
    fn log_restore(&self, vertices: &[usize], restore: Option<&RestoredCheckpoint>) {
        let names = |vs: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            vs.map(|v| self.spec.vertices[v].name.clone()).collect()
        };
        let restarted = names(&mut vertices.iter().copied());
        let running = names(&mut (0..self.spec.vertices.len()).filter(|v| !vertices.contains(v)));
        let Some(restore) = restore else {
            tracing::info!(
                job = %self.spec.name,
                "restore: {restarted:?} start from the beginning (no complete checkpoint); \
                 still running: {running:?}"
            );
            return;
        };
        let in_checkpoint = |uid: &str| restore.metadata.vertices.iter().any(|v| v.uid == uid);
        let empty = names(
            &mut vertices
                .iter()
                .copied()
                .filter(|&v| !in_checkpoint(&self.spec.vertices[v].uid)),
        );
        let unclaimed: Vec<&str> = (restore.metadata.vertices.iter())
            .map(|v| v.uid.as_str())
            .filter(|uid| !self.spec.vertices.iter().any(|v| v.uid == *uid))
            .collect();
        tracing::info!(
            job = %self.spec.name,
            checkpoint = restore.metadata.checkpoint_id,
            "restore: {restarted:?} from checkpoint {}; start empty: {empty:?}; state skipped \
             (no such uid in the job): {unclaimed:?}; still running: {running:?}",
            restore.metadata.checkpoint_id
        );
    }
}
