//! The sink's own thread: every call into a [`TwoPhaseCommitSink`] runs here, one command at a
//! time, in the order the subtask sent them.
//!
//! A deployment of a sink subtask holds its subtask's *lease* for as long as its thread runs,
//! so the next deployment of the same subtask (after a restart in this process) starts its
//! restore only once the previous one's running command finished: two deployments never
//! commit, abort or list the same subtask's transactions at once.

use super::config::TwoPhaseCommitConfig;
use super::recovery::{is_timed_out, restore_plan, TransactionState};
use super::transaction_id::TransactionId;
use super::two_phase_commit_sink::TwoPhaseCommitSink;
use crate::error::BoxError;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use weir_actors::graph::task_waker::TaskWaker;
use weir_actors::CheckpointId;

/// How long a new deployment waits for the previous deployment of its subtask to stop.
const LEASE_WAIT: Duration = Duration::from_secs(60);

/// What the subtask asks of its sink's thread.
pub(super) enum Command<T> {
    /// Write these records in the open transaction.
    Records(Vec<T>),
    /// Barrier `checkpoint`: pre-commit, begin the next transaction, and answer with the
    /// transactions the operator state keeps (the open one last).
    Barrier {
        checkpoint: CheckpointId,
        reply: SyncSender<Result<Vec<u8>, String>>,
    },
    /// Commit every pre-committed transaction up to this checkpoint.
    Commit(CheckpointId),
    /// Every input ended.
    Finish,
    /// Answer once every earlier command is done, with the failure if there is one.
    Sync(SyncSender<Option<String>>),
}

/// Encodes the transactions the operator state keeps.
pub(super) type Encoder<X> = fn(&[TransactionState<X>]) -> Result<Vec<u8>, BoxError>;

/// Who the thread works for, and what it restores.
pub(super) struct WorkerSetup<X> {
    /// The sink's uid, for logs and metrics.
    pub uid: String,
    /// The transaction id of the deployment's first transaction (sequence 0).
    pub first_id: TransactionId,
    /// The job execution's number in the process (the lease is per execution).
    pub execution: u64,
    /// Subtasks whose leftover prepared transactions this one aborts.
    pub owned_subtasks: Vec<u32>,
    /// Transactions restored from the operator state.
    pub restored: Vec<TransactionState<X>>,
    /// Encodes the operator state.
    pub encode: Encoder<X>,
    /// Retries, timeout, statistics.
    pub config: TwoPhaseCommitConfig,
}

/// What the thread shares with the subtask.
pub(super) struct Shared {
    /// The first error; every later command is skipped.
    pub failure: Mutex<Option<String>>,
    /// Set when the subtask stopped: queued commands are dropped.
    pub abandoned: AtomicBool,
    /// Record batches sent and not yet written.
    pub queued: AtomicUsize,
    /// How many may be queued before the subtask is busy.
    pub capacity: usize,
    /// Wakes the subtask when the queue is no longer full.
    pub waker: TaskWaker,
}

impl Shared {
    pub(super) fn new(capacity: usize, waker: TaskWaker) -> Self {
        Shared {
            failure: Mutex::new(None),
            abandoned: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            capacity,
            waker,
        }
    }

    /// Whether the queue of record batches is full.
    pub(super) fn is_full(&self) -> bool {
        self.queued.load(Ordering::Acquire) >= self.capacity
    }

    /// One batch left the queue: wake the subtask if that ends its wait.
    fn dequeued(&self) {
        if self.queued.fetch_sub(1, Ordering::AcqRel) >= self.capacity {
            self.waker.wake();
        }
    }
}

/// The sink's thread and its state.
pub(super) struct Worker<T, S: TwoPhaseCommitSink<T>> {
    sink: S,
    setup: WorkerSetup<S::Transaction>,
    next_sequence: u64,
    open: Option<TransactionState<S::Transaction>>,
    pending: BTreeMap<CheckpointId, TransactionState<S::Transaction>>,
    shared: Arc<Shared>,
    /// Every input ended: no transaction is begun after the open one.
    finished: bool,
}

/// The message of a panic in the sink.
fn panicked(payload: Box<dyn std::any::Any + Send>) -> String {
    let message = (payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    format!("the sink panicked: {message}")
}

fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The lease of every sink subtask of this process, by its transaction prefix.
fn lease_of(prefix: &str) -> Arc<Mutex<()>> {
    static LEASES: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let leases = LEASES.get_or_init(Default::default);
    leases.lock().entry(prefix.to_string()).or_default().clone()
}

impl<T: Send + 'static, S: TwoPhaseCommitSink<T>> Worker<T, S> {
    pub(super) fn new(sink: S, setup: WorkerSetup<S::Transaction>, shared: Arc<Shared>) -> Self {
        Worker {
            sink,
            setup,
            next_sequence: 0,
            finished: false,
            open: None,
            pending: BTreeMap::new(),
            shared,
        }
    }

    /// Runs the thread: holds the subtask's lease, restores, then runs each command until the
    /// subtask drops its sender.
    pub(super) fn run(mut self, commands: Receiver<Command<T>>) {
        let id = &self.setup.first_id;
        let prefix = TransactionId::subtask_prefix(&id.job_id, &id.operator_uid, id.subtask);
        let lease = lease_of(&format!("{prefix}@{}", self.setup.execution));
        // Wait for the previous deployment, but not once this one was dropped itself.
        let started = Instant::now();
        let _held = loop {
            if let Some(held) = lease.try_lock_for(Duration::from_millis(50)) {
                break held;
            }
            if self.shared.abandoned.load(Ordering::Acquire) {
                return;
            }
            if started.elapsed() > LEASE_WAIT {
                self.fail(format!(
                    "the previous deployment of sink subtask {prefix}… did not stop within {LEASE_WAIT:?}"
                ));
                return;
            }
        };
        self.open();
        while let Ok(command) = commands.recv() {
            if self.shared.abandoned.load(Ordering::Acquire) {
                break;
            }
            self.execute(command);
        }
    }

    /// Restores and begins the first transaction; a failure is kept for the subtask.
    pub(super) fn open(&mut self) {
        let opened = catch_unwind(AssertUnwindSafe(|| {
            self.restore().and_then(|()| self.begin())
        }));
        if let Err(e) = opened.unwrap_or_else(|panic| Err(panicked(panic))) {
            self.fail(e);
        }
    }

    /// Runs one command. A panic in the sink fails the subtask as an error does (a command's
    /// reply is dropped with it, which its waiter reads as a failure).
    pub(super) fn execute(&mut self, command: Command<T>) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.handle(command))) {
            self.fail(panicked(panic));
        }
    }

    fn failed(&self) -> Option<String> {
        self.shared.failure.lock().clone()
    }

    fn fail(&self, error: String) {
        tracing::error!(sink = %self.setup.uid, "{error}");
        self.shared.failure.lock().get_or_insert(error);
    }

    fn handle(&mut self, command: Command<T>) {
        if matches!(command, Command::Records(_)) {
            self.shared.dequeued();
        }
        let failed = self.failed();
        match command {
            Command::Sync(reply) => {
                let _ = reply.send(failed);
            }
            Command::Barrier { reply, .. } if failed.is_some() => {
                let _ = reply.send(Err(failed.unwrap_or_default()));
            }
            _ if failed.is_some() => {}
            Command::Records(records) => {
                if let Err(e) = self.invoke(records) {
                    self.fail(e);
                }
            }
            Command::Barrier { checkpoint, reply } => {
                let answer = self.barrier(checkpoint);
                if let Err(e) = &answer {
                    self.fail(e.clone());
                }
                let _ = reply.send(answer);
            }
            Command::Commit(up_to) => {
                if let Err(e) = self.commit_up_to(up_to) {
                    self.fail(e);
                }
            }
            Command::Finish => {
                self.finished = true;
                let result = match self.open.as_mut() {
                    Some(open) => self.sink.finish(&mut open.transaction),
                    None => Ok(()),
                };
                if let Err(e) = result {
                    self.fail(format!("finishing the open transaction failed: {e}"));
                }
            }
        }
    }

    /// Commits what the restored checkpoint pre-committed, aborts what was open, then aborts
    /// what crashed deployments of the owned subtasks left prepared.
    fn restore(&mut self) -> Result<(), String> {
        let plan = restore_plan(std::mem::take(&mut self.setup.restored));
        let stats = self.setup.config.stats().clone();
        for t in &plan.commit {
            self.commit_one(t, true)?;
        }
        for t in &plan.abort {
            self.sink.recover_and_abort(&t.transaction).map_err(|e| {
                format!(
                    "aborting the restored open transaction {} failed: {e}",
                    t.id
                )
            })?;
            stats.count_abort(&self.setup.uid);
        }
        let id = &self.setup.first_id;
        for &subtask in &self.setup.owned_subtasks {
            let prefix = TransactionId::subtask_prefix(&id.job_id, &id.operator_uid, subtask);
            let leftovers = (self.sink.prepared_transactions(&prefix))
                .map_err(|e| format!("listing the prepared transactions {prefix}… failed: {e}"))?;
            for name in leftovers {
                tracing::warn!(sink = %self.setup.uid, "aborting transaction {name}, left prepared by an earlier deployment and covered by no complete checkpoint");
                (self.sink.abort_prepared(&name))
                    .map_err(|e| format!("aborting the leftover transaction {name} failed: {e}"))?;
                stats.count_abort(&self.setup.uid);
            }
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), String> {
        let id = TransactionId {
            sequence: self.next_sequence,
            ..self.setup.first_id.clone()
        };
        self.next_sequence += 1;
        let transaction = (self.sink.begin_transaction(id.clone()))
            .map_err(|e| format!("beginning transaction {id} failed: {e}"))?;
        self.setup.config.stats().add_open(&self.setup.uid, 1);
        self.open = Some(TransactionState {
            id,
            checkpoint: None,
            prepared_at_ms: 0,
            transaction,
        });
        Ok(())
    }

    fn invoke(&mut self, records: Vec<T>) -> Result<(), String> {
        let open = self.open.as_mut().ok_or("no transaction is open")?;
        let id = open.id.clone();
        (self.sink.invoke_batch(&mut open.transaction, records))
            .map_err(|e| format!("writing to transaction {id} failed: {e}"))
    }

    /// Pre-commits the open transaction and begins the next — none once input ended: nothing
    /// can be written after the transaction that held the last records, and a transaction
    /// prepared by a checkpoint that comes after the job's last completed one would be left
    /// prepared when the job finishes.
    fn barrier(&mut self, checkpoint: CheckpointId) -> Result<Vec<u8>, String> {
        if let Some(mut open) = self.open.take() {
            let id = open.id.clone();
            (self.sink.pre_commit(&mut open.transaction)).map_err(|e| {
                format!("pre-committing transaction {id} for checkpoint {checkpoint} failed: {e}")
            })?;
            open.checkpoint = Some(checkpoint);
            open.prepared_at_ms = epoch_millis();
            let stats = self.setup.config.stats();
            stats.add_open(&self.setup.uid, -1);
            stats.add_pending(&self.setup.uid, 1);
            self.pending.insert(checkpoint, open);
            if !self.finished {
                self.begin()?;
            }
        }
        let mut kept: Vec<_> = self.pending.values().cloned().collect();
        kept.extend(self.open.clone());
        (self.setup.encode)(&kept).map_err(|e| {
            format!("encoding the transactions of checkpoint {checkpoint} failed: {e}")
        })
    }

    fn commit_up_to(&mut self, up_to: CheckpointId) -> Result<(), String> {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > up_to {
                break;
            }
            let t = entry.get().clone();
            self.commit_one(&t, false)?;
            self.pending.pop_first();
            self.setup.config.stats().add_pending(&self.setup.uid, -1);
        }
        Ok(())
    }

    /// Commits `t`, retrying with a doubling backoff; on restore through `recover_and_commit`.
    fn commit_one(
        &mut self,
        t: &TransactionState<S::Transaction>,
        recovering: bool,
    ) -> Result<(), String> {
        let config = self.setup.config.clone();
        if is_timed_out(
            t.prepared_at_ms,
            epoch_millis(),
            config.transaction_timeout(),
        ) {
            tracing::error!(sink = %self.setup.uid, "transaction {} was prepared at least the transaction timeout ({:?}) ago: the target may have aborted it, and its records may be lost", t.id, config.transaction_timeout().unwrap_or_default());
            config.stats().count_timed_out(&self.setup.uid);
        }
        let started = Instant::now();
        let mut backoff = config.retry_backoff();
        let mut attempt = 1;
        loop {
            let result = match recovering {
                true => self.sink.recover_and_commit(&t.transaction),
                false => self.sink.commit(&t.transaction),
            };
            match result {
                Ok(()) => break,
                Err(e) if attempt >= config.commit_attempts() => {
                    return Err(format!(
                        "committing transaction {} of checkpoint {} failed {attempt} times, last: {e}",
                        t.id,
                        t.checkpoint.unwrap_or_default()
                    ));
                }
                Err(e) => {
                    tracing::warn!(sink = %self.setup.uid, "committing transaction {} failed (attempt {attempt}), retrying in {backoff:?}: {e}", t.id);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    attempt += 1;
                }
            }
        }
        config
            .stats()
            .count_commit(&self.setup.uid, started.elapsed(), recovering);
        Ok(())
    }
}

impl<T, S: TwoPhaseCommitSink<T>> Drop for Worker<T, S> {
    /// Takes what this deployment still held out of the statistics.
    fn drop(&mut self) {
        let stats = self.setup.config.stats();
        if self.open.is_some() {
            stats.add_open(&self.setup.uid, -1);
        }
        stats.add_pending(&self.setup.uid, -(self.pending.len() as i64));
    }
}
