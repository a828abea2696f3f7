//! [`TwoPhaseCommitOperator`]: the operator that runs any [`TwoPhaseCommitSink`] on a thread of
//! its own (see [`super::worker`]), turning the subtask's calls into the worker's commands.

use super::config::TwoPhaseCommitConfig;
use super::recovery::{owned_subtasks, TransactionState};
use super::transaction_id::TransactionId;
use super::two_phase_commit_sink::TwoPhaseCommitSink;
use super::worker::{Command, Shared, Worker, WorkerSetup};
use crate::error::{BoxError, TaskError, TaskErrorKind};
use crate::state::operator::{encode_list_state, OperatorStateStore};
use crate::task::operator::{Operator, OperatorInfo, StateWriter};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, sync_channel, Sender};
use std::sync::Arc;
use weir_actors::CheckpointId;

/// The name of the operator list state that holds the sink's transactions.
const STATE_NAME: &str = "two-phase-commit-transactions";

/// Runs a two-phase-commit sink: the subtask's side of its thread.
pub(crate) struct TwoPhaseCommitOperator<T> {
    driver: Driver<T>,
    shared: Arc<Shared>,
    input_ended: bool,
}

/// Where the sink's calls run.
enum Driver<T> {
    /// On the sink's own thread.
    Thread(Sender<Command<T>>, Option<std::thread::JoinHandle<()>>),
    /// On the subtask's thread, in deterministic mode, where virtual time would not wait for
    /// another thread (one thread does everything there, so nothing runs alongside anyway).
    Inline(Box<dyn FnMut(Command<T>) + Send>),
}

fn encode<X: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static>(
    transactions: &[TransactionState<X>],
) -> Result<Vec<u8>, BoxError> {
    encode_list_state(STATE_NAME, transactions)
}

impl<T: Send + 'static> TwoPhaseCommitOperator<T> {
    /// Restores `info`'s share of the sink's transactions and starts the sink's thread, which
    /// recovers them before anything else.
    pub(crate) fn open<S: TwoPhaseCommitSink<T>>(
        sink: S,
        config: TwoPhaseCommitConfig,
        info: &OperatorInfo,
    ) -> Result<Self, TaskError> {
        let state_error = |e: &dyn std::fmt::Display| {
            TaskError::new(TaskErrorKind::State, e.to_string()).in_operator(info.label())
        };
        let mut store = OperatorStateStore::open(info).map_err(|e| state_error(&e))?;
        let list = (store.context())
            .list_state::<TransactionState<S::Transaction>>(STATE_NAME)
            .map_err(|e| state_error(&e))?;
        let subtask = &info.subtask;
        let old_parallelism = info.restored_chain_states().len() as u32;
        let setup = WorkerSetup {
            uid: info.uid.clone(),
            first_id: TransactionId {
                job_id: subtask.job_id.clone(),
                operator_uid: info.uid.clone(),
                subtask: subtask.index,
                run: subtask.first_checkpoint_id,
                attempt: subtask.attempt,
                sequence: 0,
            },
            execution: subtask.execution,
            owned_subtasks: owned_subtasks(subtask.index, subtask.parallelism, old_parallelism),
            restored: list.get(),
            encode: encode::<S::Transaction>,
            config: config.clone(),
        };
        let shared = Arc::new(Shared::new(config.queue_capacity(), subtask.waker.clone()));
        let mut worker = Worker::new(sink, setup, shared.clone());
        let driver = if subtask.deterministic {
            worker.open();
            Driver::Inline(Box::new(move |command| worker.execute(command)))
        } else {
            let (commands, received) = channel();
            let thread = std::thread::Builder::new()
                .name(format!("weir-sink-{}-{}", info.uid, subtask.index))
                .spawn(move || worker.run(received))
                .map_err(|e| state_error(&format!("the sink's thread cannot start: {e}")))?;
            Driver::Thread(commands, Some(thread))
        };
        Ok(TwoPhaseCommitOperator {
            driver,
            shared,
            input_ended: false,
        })
    }

    /// The sink thread's first error, if there is one.
    fn check(&self) -> Result<(), BoxError> {
        match self.shared.failure.lock().clone() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    fn send(&mut self, command: Command<T>) -> Result<(), BoxError> {
        self.check()?;
        match &mut self.driver {
            Driver::Thread(commands, _) => commands.send(command).map_err(|_| {
                (self.shared.failure.lock().clone())
                    .unwrap_or_else(|| "the sink's thread stopped".into())
                    .into()
            }),
            Driver::Inline(run) => {
                run(command);
                Ok(())
            }
        }
    }

    /// Waits until every command sent so far is done.
    fn sync(&mut self) -> Result<(), BoxError> {
        let (reply, answer) = sync_channel(1);
        self.send(Command::Sync(reply))?;
        match answer.recv() {
            Ok(None) => Ok(()),
            Ok(Some(error)) => Err(error.into()),
            Err(_) => Err("the sink's thread stopped".into()),
        }
    }
}

impl<T> Drop for TwoPhaseCommitOperator<T> {
    /// Drops the queued commands and waits for the one running on the sink's thread, so that
    /// nothing of this deployment runs once its job ended (a restore in the next run never
    /// races it).
    fn drop(&mut self) {
        self.shared.abandoned.store(true, Ordering::Release);
        if let Driver::Thread(commands, thread) = &mut self.driver {
            *commands = channel().0;
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
    }
}

impl<T: Send + 'static> Operator<T, ()> for TwoPhaseCommitOperator<T> {
    fn process_batch(&mut self, input: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        if input.is_empty() {
            return self.check();
        }
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        self.send(Command::Records(input))
    }

    /// While [`TwoPhaseCommitConfig::queue_capacity`] batches wait for the sink's thread.
    fn is_busy(&self) -> bool {
        self.shared.is_full()
    }

    fn end_of_input(&mut self, _: &mut Vec<()>) -> Result<(), BoxError> {
        self.input_ended = true;
        self.send(Command::Finish)
    }

    /// Hands the barrier to the sink's thread; the returned writer (off the subtask's thread)
    /// waits for the pre-commit and encodes the transactions it answers with.
    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        let (reply, answer) = sync_channel(1);
        self.send(Command::Barrier { checkpoint, reply })?;
        Ok(Some(Box::new(move || match answer.recv() {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(error)) => Err(error.into()),
            Err(_) => Err("the sink's thread stopped before the pre-commit".into()),
        })))
    }

    /// Nothing to do: the transactions were restored when the operator opened, from every
    /// subtask's state (a restore at another parallelism takes a share of each).
    fn restore_state(&mut self, _: &[u8]) -> Result<(), BoxError> {
        Ok(())
    }

    /// Queues the commits; after end of input (the job's last checkpoints) waits for them, so
    /// the job finishes only once its output is committed.
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        self.send(Command::Commit(checkpoint))?;
        match self.input_ended {
            true => self.sync(),
            false => Ok(()),
        }
    }

    /// The transactions stay pending: a later checkpoint's completion commits them (as Flink's
    /// sink does).
    fn notify_checkpoint_aborted(&mut self, _: CheckpointId) -> Result<(), BoxError> {
        self.check()
    }
}
