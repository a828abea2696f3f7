//! What the supervisor does about a failure, decided without actors: [`FailureHandler`] (Flink's
//! `ExecutionFailureHandler`) takes a [`FailureReport`] and returns a [`FailoverDecision`] — ignore
//! a stale report, let the failure join a restart already scheduled, restart these tasks after
//! this delay, or fail the job with this error.
//!
//! # Rules
//! - A report of an earlier deployment (its attempt is not the vertex's current one), of a task
//!   that is restarting already, or one after the job ended is ignored; the restart strategy does
//!   not see it.
//! - A cause no restart cures ([`FailureCause::is_recoverable`]) fails the job at once.
//! - Otherwise the strategy records the failure (Flink's `notify_failure`). If it may not restart,
//!   the job fails: with the cause itself under no-restart, else with
//!   [`JobError::RestartsExhausted`] carrying the history. If it may, the failover strategy picks
//!   the tasks: every task (full), or the failed subtask's pipelined region (region; a failure
//!   without a subtask, such as too many failed checkpoints, restarts every task). Tasks already
//!   restarting keep their scheduled restart; when none is left the failure joins it.
//!
//! The handler is the one owner of restart state: attempts per vertex, the set of restarting
//! vertices, the restart count and history. Time comes in as `now` (tokio time since the job's
//! start), so decisions are the same run after run.

use crate::config::configuration::FailoverStrategyKind;
use crate::error::JobError;
use crate::graph::subtask_key::SubtaskKey;
use crate::network::event::CheckpointId;
use crate::recovery::failover_region::region_of;
use crate::recovery::failure_cause::FailureCause;
use crate::recovery::restart_history::RestartRecord;
use crate::recovery::restart_strategy::{RestartBackoffTimeStrategy, RestartStrategyConfig};
use std::collections::BTreeSet;
use std::time::Duration;

/// A failure as reported to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailureReport {
    /// The subtask that failed, with its attempt; `None` for a failure of the whole job.
    pub subtask: Option<SubtaskKey>,
    /// Why.
    pub cause: FailureCause,
}

/// Why a report changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stale {
    /// It comes from an earlier deployment of the subtask.
    EarlierAttempt,
    /// The subtask's task is restarting already.
    Restarting,
    /// The job has ended.
    JobEnded,
}

/// What to do about one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FailoverDecision {
    /// Nothing: the report is stale.
    Ignore(Stale),
    /// Nothing more: every task it would restart is restarting already.
    JoinScheduledRestart,
    /// Cancel `vertices` now and restart them after `delay`; `record` is the restart's history
    /// entry.
    Restart {
        /// The vertices to restart, ascending.
        vertices: Vec<usize>,
        /// How long to wait first.
        delay: Duration,
        /// The history entry (its `restored_from` is filled in when the restart happens).
        record: RestartRecord,
    },
    /// End the job with this error.
    FailJob(JobError),
}

/// The restart state of a job and the rules that change it.
#[derive(Debug)]
pub(crate) struct FailureHandler {
    strategy: Box<dyn RestartBackoffTimeStrategy + Send>,
    no_restart: bool,
    failover: FailoverStrategyKind,
    regions: Vec<usize>,
    names: Vec<String>,
    attempts: Vec<u32>,
    restarting: BTreeSet<usize>,
    restarts: u32,
    history: Vec<RestartRecord>,
    ended: bool,
}

impl FailureHandler {
    /// A handler for a job whose vertices are named `names` and grouped in `regions` (see
    /// [`crate::recovery::failover_region::pipelined_regions`]); `seed` feeds the strategy's jitter.
    pub fn new(
        strategy: &RestartStrategyConfig,
        seed: u64,
        failover: FailoverStrategyKind,
        regions: Vec<usize>,
        names: Vec<String>,
    ) -> FailureHandler {
        FailureHandler {
            strategy: strategy.create(seed),
            no_restart: *strategy == RestartStrategyConfig::NoRestart,
            failover,
            attempts: vec![0; names.len()],
            regions,
            names,
            restarting: BTreeSet::new(),
            restarts: 0,
            history: Vec::new(),
            ended: false,
        }
    }

    /// Whether `key` is the current deployment of a vertex that is not restarting.
    pub fn is_current(&self, key: &SubtaskKey) -> bool {
        self.attempts.get(key.vertex) == Some(&key.attempt)
            && !self.restarting.contains(&key.vertex)
    }

    /// Whether no restart is scheduled.
    pub fn is_settled(&self) -> bool {
        self.restarting.is_empty()
    }

    /// Every restart so far, oldest first.
    #[cfg(test)]
    pub fn history(&self) -> &[RestartRecord] {
        &self.history
    }

    /// The job ended (finished, failed or cancelled): later reports are stale.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Decides about `report`, handled at `now` (tokio time since the job's start).
    pub fn on_failure(&mut self, report: FailureReport, now: Duration) -> FailoverDecision {
        if let Some(stale) = self.staleness(&report) {
            return FailoverDecision::Ignore(stale);
        }
        if !report.cause.is_recoverable() {
            self.ended = true;
            return FailoverDecision::FailJob(report.cause.into());
        }
        let counted = self.strategy.notify_failure(now);
        if !self.strategy.can_restart() {
            self.ended = true;
            return FailoverDecision::FailJob(self.suppressed(report.cause));
        }
        let delay = self.strategy.backoff_time(now);
        let vertices: Vec<usize> = self
            .affected(report.subtask)
            .into_iter()
            .filter(|v| !self.restarting.contains(v))
            .collect();
        if vertices.is_empty() {
            return FailoverDecision::JoinScheduledRestart;
        }
        self.restarting.extend(vertices.iter().copied());
        self.restarts += 1;
        let record = RestartRecord {
            at: now,
            cause: report.cause,
            attempt: self.restarts,
            delay,
            restarted_tasks: vertices.iter().map(|&v| self.names[v].clone()).collect(),
            counted,
            restored_from: None,
        };
        self.history.push(record.clone());
        FailoverDecision::Restart {
            vertices,
            delay,
            record,
        }
    }

    /// The restart of history entry `restart` (its `attempt`) is due for `vertices`, from
    /// `restored_from`: records it and returns the deployment attempt the new subtasks get (the
    /// restart count now, so reports of older deployments are told apart).
    pub fn on_restart(
        &mut self,
        restart: u32,
        vertices: &[usize],
        restored_from: Option<CheckpointId>,
    ) -> u32 {
        let attempt = self.restarts;
        for &v in vertices {
            if let Some(a) = self.attempts.get_mut(v) {
                *a = attempt;
            }
            self.restarting.remove(&v);
        }
        if let Some(record) = self.history.iter_mut().find(|r| r.attempt == restart) {
            record.restored_from = restored_from;
        }
        attempt
    }

    fn staleness(&self, report: &FailureReport) -> Option<Stale> {
        if self.ended {
            return Some(Stale::JobEnded);
        }
        let key = report.subtask?;
        if self.attempts.get(key.vertex) != Some(&key.attempt) {
            Some(Stale::EarlierAttempt)
        } else if self.restarting.contains(&key.vertex) {
            Some(Stale::Restarting)
        } else {
            None
        }
    }

    fn affected(&self, subtask: Option<SubtaskKey>) -> Vec<usize> {
        match (self.failover, subtask) {
            (FailoverStrategyKind::Region, Some(key)) => region_of(&self.regions, key.vertex),
            _ => (0..self.names.len()).collect(),
        }
    }

    fn suppressed(&self, cause: FailureCause) -> JobError {
        if self.no_restart {
            return cause.into();
        }
        JobError::RestartsExhausted {
            cause: Box::new(cause),
            strategy: self.strategy.describe(),
            history: self.history.clone(),
        }
    }
}

#[cfg(test)]
#[path = "failover_decision_tests.rs"]
mod tests;
