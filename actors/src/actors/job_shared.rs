//! [`JobShared`]: what a job's supervisor and coordinator publish and its clients read (status,
//! result, checkpoint statistics, restarts).

use crate::actors::job_result::{sum_by_operator, JobResult};
use crate::actors::job_status::JobStatus;
use crate::actors::messages::{TriggerNow, TriggerSavepoint};
use crate::checkpoint::stats::CheckpointStats;
use crate::error::JobError;
use crate::metrics::MetricsRegistry;
use crate::network::event::CheckpointId;
use crate::recovery::restart_history::RestartRecord;
use actix::Recipient;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// State shared between a job's supervisor (writer) and its clients (readers).
pub struct JobShared {
    pub(crate) metrics: Arc<MetricsRegistry>,
    pub(crate) status: watch::Sender<JobStatus>,
    pub(crate) result: Mutex<Option<Result<JobResult, JobError>>>,
    pub(crate) done: Condvar,
    pub(crate) notify: Notify,
    pub(crate) started: Instant,
    pub(crate) coordinator: Mutex<Option<Recipient<TriggerNow>>>,
    pub(crate) savepoints: Mutex<Option<Recipient<TriggerSavepoint>>>,
    pub(crate) checkpoints: Mutex<std::collections::VecDeque<CheckpointStats>>,
    pub(crate) last_completed: watch::Sender<Option<CheckpointStats>>,
    pub(crate) restarts: Mutex<Vec<RestartRecord>>,
    pub(crate) downtime: Mutex<Duration>,
}

/// How many checkpoints' statistics a job keeps.
const CHECKPOINT_HISTORY: usize = 256;

impl JobShared {
    /// What the job reports now, named `job_name`.
    pub(crate) fn job_result(&self, job_name: &str) -> JobResult {
        JobResult {
            job_name: job_name.to_string(),
            operators: sum_by_operator(&self.metrics.operators()),
            duration: self.started.elapsed(),
            restarts: self.restarts.lock().clone(),
        }
    }

    pub(crate) fn new(metrics: Arc<MetricsRegistry>) -> JobShared {
        JobShared {
            metrics,
            status: watch::Sender::new(JobStatus::Created),
            result: Mutex::new(None),
            done: Condvar::new(),
            notify: Notify::new(),
            started: Instant::now(),
            coordinator: Mutex::new(None),
            savepoints: Mutex::new(None),
            checkpoints: Mutex::new(std::collections::VecDeque::new()),
            last_completed: watch::Sender::new(None),
            restarts: Mutex::new(Vec::new()),
            downtime: Mutex::new(Duration::ZERO),
        }
    }

    pub(crate) fn record_restart(&self, record: RestartRecord) {
        self.restarts.lock().push(record);
    }

    /// Restart `attempt` happened, restoring `restored_from`.
    pub(crate) fn restart_restored(&self, attempt: u32, restored_from: Option<CheckpointId>) {
        let mut restarts = self.restarts.lock();
        if let Some(record) = restarts.iter_mut().find(|r| r.attempt == attempt) {
            record.restored_from = restored_from;
        }
    }

    pub(crate) fn add_downtime(&self, d: Duration) {
        *self.downtime.lock() += d;
        metrics::gauge!("weir_downtime_ms").set(self.downtime.lock().as_millis() as f64);
    }

    pub(crate) fn set_coordinator(
        &self,
        coordinator: Recipient<TriggerNow>,
        savepoints: Recipient<TriggerSavepoint>,
    ) {
        *self.coordinator.lock() = Some(coordinator);
        *self.savepoints.lock() = Some(savepoints);
    }

    pub(crate) fn record_checkpoint(&self, stats: CheckpointStats) {
        let completed = stats.status == crate::checkpoint::stats::CheckpointStatus::Completed;
        {
            let mut history = self.checkpoints.lock();
            history.push_back(stats.clone());
            while history.len() > CHECKPOINT_HISTORY {
                history.pop_front();
            }
        }
        if completed {
            self.last_completed.send_replace(Some(stats));
        }
    }

    pub(crate) fn set_status(&self, status: JobStatus) {
        self.status.send_replace(status);
    }

    pub(crate) fn complete(&self, result: Result<JobResult, JobError>) {
        let mut slot = self.result.lock();
        if slot.is_none() {
            *slot = Some(result);
        }
        self.done.notify_all();
        self.notify.notify_waiters();
    }
}
