//! Starting a job on its own actix system, and the handle to it: [`JobClient`].
//!
//! Each job runs in a system on a thread of its own, with its own arbiter pool, so starting one
//! works whether or not the caller is inside an actix system or a tokio runtime, and nothing of a
//! job outlives it: when it ends, its actors stop and its threads are joined.

#[cfg(unix)]
mod ctrl_c;

#[cfg(unix)]
pub use ctrl_c::CtrlCError;

use crate::actors::job_result::{sum_by_operator, JobResult, OperatorCount};
use crate::actors::job_shared::JobShared;
use crate::actors::job_status::JobStatus;
use crate::actors::messages::{CancelJob, StopJob};
use crate::actors::messages::{SavepointOutcome, TriggerNow, TriggerSavepoint};
use crate::actors::supervisor::Supervisor;
use crate::checkpoint::savepoint::SavepointError;
use crate::checkpoint::snapshot_kind::SavepointFormat;
use crate::checkpoint::stats::{CheckpointFailureReason, CheckpointStats};
use crate::error::JobError;
use crate::graph::job_spec::JobSpec;
use crate::metrics::{MetricsRegistry, OperatorMetrics, SubtaskMetrics};
use crate::recovery::restart_history::RestartRecord;
use actix::{Actor, Addr, Arbiter, System};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The handle to a running job: await it, cancel it, read its status and metrics.
pub struct JobClient {
    shared: Arc<JobShared>,
    job_id: String,
    savepoints: SavepointSettings,
    supervisor: Addr<Supervisor>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a savepoint request asks for.
#[derive(Debug, Clone, Copy)]
struct SavepointKind {
    /// The job stops with it.
    stop: bool,
    /// The sources' input ends first (`stop --drain`).
    drain: bool,
    /// How its state is written.
    format: SavepointFormat,
}

/// What a client knows of the job's savepoints.
#[derive(Debug, Clone)]
struct SavepointSettings {
    /// Whether the job checkpoints (without, no savepoint can be taken).
    checkpointing: bool,
    /// `execution.checkpointing.savepoint-dir`.
    default_dir: Option<PathBuf>,
}

impl JobClient {
    /// The job's id: its checkpoint directory's name under the checkpoint directory, and the
    /// `<job id>` of its savepoints' directories (the job's name when it does not checkpoint).
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Takes a savepoint into `dir` now and waits for it: an aligned checkpoint whose files are
    /// copied, as it completes, into `<dir>/savepoint-<job id>-<checkpoint id>/` (self-contained:
    /// move or copy it and it still restores; never deleted by the job). As in Flink since 1.15,
    /// it has no side effects: no operator is notified of its completion (a two-phase-commit
    /// sink commits what it covered with the next checkpoint), and it is not a checkpoint of
    /// the job (not retained in the job's directory, never restored from on a restart). A
    /// savepoint that fails (declined, expired, not written) leaves the job running and returns
    /// [`SavepointError::Failed`].
    ///
    /// Its state is in the [canonical](SavepointFormat::Canonical) format;
    /// [`trigger_savepoint_with_format`](Self::trigger_savepoint_with_format) chooses.
    pub async fn trigger_savepoint(&self, dir: impl AsRef<Path>) -> SavepointOutcome {
        self.trigger_savepoint_with_format(dir, SavepointFormat::Canonical)
            .await
    }

    /// [`trigger_savepoint`](Self::trigger_savepoint) with its state written in `format`
    /// (Flink's `flink savepoint --type canonical|native`).
    pub async fn trigger_savepoint_with_format(
        &self,
        dir: impl AsRef<Path>,
        format: SavepointFormat,
    ) -> SavepointOutcome {
        let kind = SavepointKind {
            stop: false,
            drain: false,
            format,
        };
        self.savepoint(dir.as_ref(), kind).await
    }

    async fn savepoint(&self, dir: &Path, kind: SavepointKind) -> SavepointOutcome {
        let dir = dir.to_path_buf();
        if !self.savepoints.checkpointing {
            return Err(SavepointError::NotCheckpointing);
        }
        let mut status = self.shared.status.subscribe();
        let _ = status.wait_for(|s| *s != JobStatus::Created).await;
        let terminating = |dir: PathBuf| SavepointError::Failed {
            dir,
            reason: CheckpointFailureReason::JobTerminating,
        };
        let coordinator = self.shared.savepoints.lock().clone();
        let Some(coordinator) = coordinator else {
            return Err(terminating(dir));
        };
        let message = TriggerSavepoint {
            dir: dir.clone(),
            stop: kind.stop,
            drain: kind.drain,
            format: kind.format,
        };
        match coordinator.send(message).await {
            Ok(rx) => rx.await.unwrap_or_else(|_| Err(terminating(dir))),
            Err(_) => Err(terminating(dir)),
        }
    }

    /// Takes a savepoint into the job's default savepoint directory
    /// (`execution.checkpointing.savepoint-dir`); [`SavepointError::NoDirectory`] when none is set.
    pub async fn trigger_savepoint_default(&self) -> SavepointOutcome {
        match self.savepoints.default_dir.clone() {
            Some(dir) => self.trigger_savepoint(dir).await,
            None => Err(SavepointError::NoDirectory),
        }
    }

    /// Stops the job with a savepoint into `dir` (Flink's `stop --savepointPath`, without
    /// `--drain`): every source reads nothing after it has emitted the savepoint's barrier, so
    /// no record after the savepoint reaches any sink, transactional or not. Once the
    /// savepoint's checkpoint completes, no other checkpoint is triggered or completed, its
    /// completion (the commit of a 2PC sink's transaction) is sent to every subtask, and the job
    /// then ends [`JobStatus::Finished`] without running end of input: a job started from the
    /// savepoint continues exactly where the output stops. If the savepoint fails, the sources
    /// read on and the job keeps running. To run end of input before the savepoint, see
    /// [`stop_with_savepoint_and_drain`](Self::stop_with_savepoint_and_drain).
    pub async fn stop_with_savepoint(&self, dir: impl AsRef<Path>) -> SavepointOutcome {
        self.stop_with_savepoint_with_format(dir, SavepointFormat::Canonical)
            .await
    }

    /// [`stop_with_savepoint`](Self::stop_with_savepoint) with the savepoint's state written
    /// in `format`.
    pub async fn stop_with_savepoint_with_format(
        &self,
        dir: impl AsRef<Path>,
        format: SavepointFormat,
    ) -> SavepointOutcome {
        let kind = SavepointKind {
            stop: true,
            drain: false,
            format,
        };
        let savepoint = self.savepoint(dir.as_ref(), kind).await?;
        self.supervisor.do_send(StopJob);
        Ok(savepoint)
    }

    /// Stops the job with a savepoint into `dir` after draining it (Flink's `stop --drain
    /// --savepointPath`): every source's input ends now, as if it had read everything, each
    /// subtask fires every processing-time timer still pending and then runs end of input
    /// (what both emit reaches the sinks; timers those firings register are dropped), and the
    /// savepoint is
    /// the job's final checkpoint, taken once every input ended and committed with it; the job
    /// then ends [`JobStatus::Finished`]. Meant for a job that will not be resumed: one resumed
    /// from the savepoint reads on where the sources stopped, but its operators have already
    /// run end of input once. If a failure restarts part of the job first, the savepoint fails with
    /// [`SavepointError::Failed`] and the job goes on.
    pub async fn stop_with_savepoint_and_drain(&self, dir: impl AsRef<Path>) -> SavepointOutcome {
        let kind = SavepointKind {
            stop: true,
            drain: true,
            format: SavepointFormat::Canonical,
        };
        let savepoint = self.savepoint(dir.as_ref(), kind).await?;
        self.supervisor.do_send(StopJob);
        Ok(savepoint)
    }

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
        self.take_result().unwrap_or(Err(JobError::ResultTaken))
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
        result.unwrap_or(Err(JobError::ResultTaken))
    }
}

/// Starts `spec` on a new actix system in a thread of its own and returns its client.
pub fn launch(spec: JobSpec) -> Result<JobClient, JobError> {
    let metrics = Arc::new(MetricsRegistry::default());
    let shared = Arc::new(JobShared::new(metrics));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let job_id = spec
        .checkpointing
        .as_ref()
        .map_or_else(|| spec.name.clone(), |cp| cp.job_id.clone());
    let savepoints = SavepointSettings {
        checkpointing: spec.checkpointing.is_some(),
        default_dir: spec
            .checkpointing
            .as_ref()
            .and_then(|cp| cp.default_savepoint_dir.clone()),
    };
    let thread_shared = shared.clone();
    let spec = Arc::new(spec);
    let thread = std::thread::Builder::new()
        .name(format!("weir-job-{}", spec.name))
        .spawn(move || run_system(spec, thread_shared, addr_tx))
        .map_err(|e| JobError::Startup(format!("cannot start the job's thread: {e}")))?;
    match addr_rx.recv() {
        Ok(Ok(supervisor)) => Ok(JobClient {
            shared,
            job_id,
            savepoints,
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
