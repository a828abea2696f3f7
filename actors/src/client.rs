//! Starting a job on its own actix system, and the handle to it: [`JobClient`].
//!
//! Each job runs in a system on a thread of its own, with its own arbiter pool, so starting one
//! works whether or not the caller is inside an actix system or a tokio runtime, and nothing of a
//! job outlives it: when it ends, its actors stop and its threads are joined.

use crate::checkpoint_stats::{CheckpointFailureReason, CheckpointStats};
use crate::coordinator::{Coordinator, TriggerNow};
use crate::error::JobError;
use crate::job::JobSpec;
use crate::metrics::{MetricsRegistry, OperatorMetrics, SubtaskMetrics};
use crate::restart_history::RestartRecord;
use crate::supervisor::{CancelJob, Supervisor};
use actix::{Actor, Addr, Arbiter, System};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// A job's lifecycle state, with Flink's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Built, not yet running.
    Created,
    /// Every subtask deployed.
    Running,
    /// A failure is being handled by a restart.
    Restarting,
    /// A failure will end the job; subtasks are stopping.
    Failing,
    /// Ended by a failure.
    Failed,
    /// Cancellation requested; subtasks are stopping.
    Cancelling,
    /// Ended by cancellation.
    Canceled,
    /// Every subtask ended its input and flushed its output.
    Finished,
}

impl JobStatus {
    /// Whether the job has ended (finished, failed or cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished
        )
    }
}

/// Records counted for one operator, summed over its subtasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCount {
    /// Operator name.
    pub name: String,
    /// Operator uid.
    pub uid: String,
    /// Records it read.
    pub records_in: u64,
    /// Records it emitted.
    pub records_out: u64,
}

/// What a finished job reports.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    /// The job's name.
    pub job_name: String,
    /// Per-operator counts, in the order operators were first registered.
    pub operators: Vec<OperatorCount>,
    /// Wall time from start to finish.
    pub duration: Duration,
    /// Every restart the job went through.
    pub restarts: Vec<RestartRecord>,
}

impl JobResult {
    pub(crate) fn from_shared(job_name: &str, shared: &JobShared) -> JobResult {
        JobResult {
            job_name: job_name.to_string(),
            operators: sum_by_operator(&shared.metrics.operators()),
            duration: shared.started.elapsed(),
            restarts: shared.restarts.lock().clone(),
        }
    }

    /// The counts of the operator with `uid`.
    pub fn operator(&self, uid: &str) -> Option<&OperatorCount> {
        self.operators.iter().find(|o| o.uid == uid)
    }
}

fn sum_by_operator(per_subtask: &[OperatorMetrics]) -> Vec<OperatorCount> {
    let mut out: Vec<OperatorCount> = Vec::new();
    for m in per_subtask {
        match out.iter_mut().find(|o| o.uid == m.uid) {
            Some(o) => {
                o.records_in += m.records_in;
                o.records_out += m.records_out;
            }
            None => out.push(OperatorCount {
                name: m.name.clone(),
                uid: m.uid.clone(),
                records_in: m.records_in,
                records_out: m.records_out,
            }),
        }
    }
    out
}

/// State shared between a job's supervisor (writer) and its clients (readers).
pub struct JobShared {
    pub(crate) metrics: Arc<MetricsRegistry>,
    status: watch::Sender<JobStatus>,
    result: Mutex<Option<Result<JobResult, JobError>>>,
    done: Condvar,
    notify: Notify,
    started: Instant,
    coordinator: Mutex<Option<Addr<Coordinator>>>,
    checkpoints: Mutex<std::collections::VecDeque<CheckpointStats>>,
    last_completed: watch::Sender<Option<CheckpointStats>>,
    pub(crate) latest_checkpoint: Mutex<Option<crate::event::CheckpointId>>,
    restarts: Mutex<Vec<RestartRecord>>,
    downtime: Mutex<Duration>,
}

/// How many checkpoints' statistics a job keeps.
const CHECKPOINT_HISTORY: usize = 256;

impl JobShared {
    fn new(metrics: Arc<MetricsRegistry>) -> JobShared {
        JobShared {
            metrics,
            status: watch::Sender::new(JobStatus::Created),
            result: Mutex::new(None),
            done: Condvar::new(),
            notify: Notify::new(),
            started: Instant::now(),
            coordinator: Mutex::new(None),
            checkpoints: Mutex::new(std::collections::VecDeque::new()),
            last_completed: watch::Sender::new(None),
            latest_checkpoint: Mutex::new(None),
            restarts: Mutex::new(Vec::new()),
            downtime: Mutex::new(Duration::ZERO),
        }
    }

    pub(crate) fn record_restart(&self, record: RestartRecord) {
        self.restarts.lock().push(record);
    }

    pub(crate) fn add_downtime(&self, d: Duration) {
        *self.downtime.lock() += d;
        metrics::gauge!("weir_downtime_ms").set(self.downtime.lock().as_millis() as f64);
    }

    pub(crate) fn set_coordinator(&self, coordinator: Addr<Coordinator>) {
        *self.coordinator.lock() = Some(coordinator);
    }

    pub(crate) fn record_checkpoint(&self, stats: CheckpointStats) {
        let completed = stats.status == crate::checkpoint_stats::CheckpointStatus::Completed;
        if completed {
            *self.latest_checkpoint.lock() = Some(stats.id);
        }
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

/// The handle to a running job: await it, cancel it, read its status and metrics.
pub struct JobClient {
    shared: Arc<JobShared>,
    supervisor: Addr<Supervisor>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JobClient {
    /// The job's current status.
    pub fn status(&self) -> JobStatus {
        *self.shared.status.borrow()
    }

    /// A receiver that sees every status change from now on.
    pub fn subscribe_status(&self) -> watch::Receiver<JobStatus> {
        self.shared.status.subscribe()
    }

    /// Asks the job to cancel; [`JobClient::wait`] then returns [`JobError::Cancelled`].
    pub fn cancel(&self) {
        self.supervisor.do_send(CancelJob);
    }

    /// Current counts of every operator in every subtask.
    pub fn operator_metrics(&self) -> Vec<OperatorMetrics> {
        self.shared.metrics.operators()
    }

    /// Current counts of every operator, summed over subtasks.
    pub fn operator_counts(&self) -> Vec<OperatorCount> {
        sum_by_operator(&self.shared.metrics.operators())
    }

    /// Current channel figures of every subtask.
    pub fn subtask_metrics(&self) -> Vec<SubtaskMetrics> {
        self.shared.metrics.subtasks()
    }

    /// Every restart so far: when, why, which attempt, the delay chosen and the tasks restarted.
    pub fn restart_history(&self) -> Vec<RestartRecord> {
        self.shared.restarts.lock().clone()
    }

    /// Total time spent restarting (from a failure to the restarted tasks running), on the job's
    /// clock (virtual time in deterministic mode).
    pub fn downtime(&self) -> Duration {
        *self.shared.downtime.lock()
    }

    /// Time since the job started (wall clock).
    pub fn uptime(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// Statistics of the job's recent checkpoints (completed and failed), oldest first.
    pub fn checkpoint_stats(&self) -> Vec<CheckpointStats> {
        self.shared.checkpoints.lock().iter().cloned().collect()
    }

    /// A receiver that sees each completed checkpoint's statistics.
    pub fn subscribe_checkpoints(&self) -> watch::Receiver<Option<CheckpointStats>> {
        self.shared.last_completed.subscribe()
    }

    /// Triggers a checkpoint now and waits for it to complete or fail. Fails at once with
    /// [`CheckpointFailureReason::JobTerminating`] when the job does not checkpoint or has ended.
    pub async fn trigger_checkpoint(&self) -> Result<CheckpointStats, CheckpointFailureReason> {
        // Just after spawn the supervisor may not have deployed the job (and its coordinator) yet.
        let mut status = self.shared.status.subscribe();
        let _ = status.wait_for(|s| *s != JobStatus::Created).await;
        let coordinator = self.shared.coordinator.lock().clone();

        let Some(coordinator) = coordinator else {
            return Err(CheckpointFailureReason::JobTerminating);
        };
        match coordinator.send(TriggerNow).await {
            Ok(rx) => rx
                .await
                .unwrap_or(Err(CheckpointFailureReason::JobTerminating)),
            Err(_) => Err(CheckpointFailureReason::JobTerminating),
        }
    }

    fn take_result(&mut self) -> Option<Result<JobResult, JobError>> {
        let result = self.shared.result.lock().take()?;
        if let Some(thread) = self.thread.take() {
            // The job's system is stopping; its thread ends right after it stored the result.
            let _ = thread.join();
        }
        Some(result)
    }

    /// Waits for the job to end, blocking the calling thread.
    pub fn wait_blocking(mut self) -> Result<JobResult, JobError> {
        {
            let mut slot = self.shared.result.lock();
            while slot.is_none() {
                self.shared.done.wait(&mut slot);
            }
        }
        self.take_result()
            .unwrap_or_else(|| Err(JobError::Startup("job result already taken".into())))
    }

    /// Waits for the job to end.
    pub async fn wait(mut self) -> Result<JobResult, JobError> {
        loop {
            let notified = self.shared.notify.notified();
            if self.shared.result.lock().is_some() {
                break;
            }
            notified.await;
        }
        let shared = self.shared.clone();
        let thread = self.thread.take();
        // Joining may block briefly while the job's threads wind down: do it off this runtime.
        let joined = std::thread::spawn(move || {
            if let Some(t) = thread {
                let _ = t.join();
            }
        });
        let _ = joined.join();
        let result = shared.result.lock().take();
        result.unwrap_or_else(|| Err(JobError::Startup("job result already taken".into())))
    }
}

/// Starts `spec` on a new actix system in a thread of its own and returns its client.
pub fn launch(spec: JobSpec) -> Result<JobClient, JobError> {
    let metrics = Arc::new(MetricsRegistry::default());
    let shared = Arc::new(JobShared::new(metrics));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread_shared = shared.clone();
    let spec = Arc::new(spec);
    let thread = std::thread::Builder::new()
        .name(format!("weir-job-{}", spec.name))
        .spawn(move || run_system(spec, thread_shared, addr_tx))
        .map_err(|e| JobError::Startup(format!("cannot start the job's thread: {e}")))?;
    match addr_rx.recv() {
        Ok(Ok(supervisor)) => Ok(JobClient {
            shared,
            supervisor,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(JobError::Startup(
                "the job's thread ended before it started".into(),
            ))
        }
    }
}

type AddrSender = std::sync::mpsc::Sender<Result<Addr<Supervisor>, JobError>>;

fn run_system(spec: Arc<JobSpec>, shared: Arc<JobShared>, addr_tx: AddrSender) {
    let deterministic = spec.runtime.deterministic_seed.is_some();
    let system = if deterministic {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build();
        match runtime {
            Ok(rt) => System::with_tokio_rt(move || rt),
            Err(e) => {
                let _ = addr_tx.send(Err(JobError::Startup(format!("tokio runtime: {e}"))));
                return;
            }
        }
    } else {
        System::new()
    };
    let arbiters: Vec<Arbiter> = if deterministic {
        Vec::new()
    } else {
        let n = match spec.runtime.arbiters {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        (0..n).map(|_| Arbiter::new()).collect()
    };
    let sent = system.block_on(async {
        let handles = if arbiters.is_empty() {
            vec![Arbiter::current()]
        } else {
            arbiters.iter().map(Arbiter::handle).collect()
        };
        let supervisor = Supervisor::new(spec, handles, shared.clone()).start();
        addr_tx.send(Ok(supervisor)).is_ok()
    });
    if sent {
        let _ = system.run();
    }
    for arbiter in arbiters {
        arbiter.stop();
        let _ = arbiter.join();
    }
}
