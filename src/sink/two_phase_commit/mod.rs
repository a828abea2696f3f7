//! Exactly-once output through two-phase commit (Flink's `TwoPhaseCommitSinkFunction`): the
//! records between two checkpoint barriers form one transaction of the target; the barrier
//! pre-commits it; the checkpoint's completion commits it.
//!
//! Implement [`TwoPhaseCommitSink`] for a target and apply it with
//! [`DataStream::sink_to_two_phase_commit`](crate::DataStream::sink_to_two_phase_commit). One
//! generic operator runs every implementation:
//! - **Open.** The subtask restores its transactions from the checkpoint (its share of the
//!   operator's list state, so also at another parallelism): each pre-committed one is
//!   committed ([`recover_and_commit`](TwoPhaseCommitSink::recover_and_commit), which must
//!   accept "already committed"), the one that was open is aborted
//!   ([`recover_and_abort`](TwoPhaseCommitSink::recover_and_abort)), and every transaction the
//!   target still holds prepared under this subtask's [`TransactionId::subtask_prefix`] is
//!   aborted ([`abort_prepared`](TwoPhaseCommitSink::abort_prepared)): a deployment that crashed
//!   left it, and no complete checkpoint covers it. Then it begins a transaction.
//! - **Records** go to [`invoke`](TwoPhaseCommitSink::invoke) in the open transaction.
//! - **Barrier `n`.** [`pre_commit`](TwoPhaseCommitSink::pre_commit) the open transaction,
//!   keep it in the operator state under `n`, begin the next. A failed pre-commit declines
//!   checkpoint `n` (its source positions never complete) and fails the subtask, so the records
//!   of that transaction are replayed from the previous checkpoint.
//! - **Checkpoint `n` complete.** Commit every pre-committed transaction up to `n`, in order,
//!   retrying as [`TwoPhaseCommitConfig`] says. A commit that still fails fails the subtask; the
//!   restore commits the transaction.
//!
//! # Threads
//! Every call into the sink runs on a thread of the sink subtask's own, in the order above, so
//! a slow target never stalls the other subtasks of the arbiter thread, and a commit still
//! running when the next barrier or notification arrives is finished first. The subtask waits
//! for that thread only where the protocol needs it: a barrier's snapshot is acknowledged once
//! its pre-commit returned (off the subtask's thread), and the job's last notification waits
//! for its commits. When the thread is [`TwoPhaseCommitConfig::queue_capacity`] batches behind,
//! the subtask stops reading input (its arbiter thread goes on with other subtasks, and
//! upstream runs out of credit, so memory stays bounded) until the thread catches up.
//!
//! # What is and is not guaranteed
//! - Every record is committed exactly once if the target's commit of a prepared transaction is
//!   durable and idempotent by name, as PostgreSQL's `COMMIT PREPARED` and XA's `XA COMMIT` are.
//! - A transaction the target times out or loses while the job is down is lost: weir cannot
//!   know. It reports, loudly, a commit of a transaction older than
//!   [`TwoPhaseCommitConfig::transaction_timeout`] (an `error` log and
//!   [`TransactionStats::timed_out`]).
//! - Without checkpointing nothing is ever committed (as in Flink).
//! - When a subtask stops (a failure, a cancel), queued records and commands are dropped; a
//!   command already running on the sink's thread finishes first (the subtask's teardown waits
//!   for it), and the next deployment of the same subtask in the same run starts only after it.

mod config;
mod operator;
mod recovery;
mod transaction_id;
mod two_phase_commit_sink;
mod worker;

pub use config::{TransactionStats, TwoPhaseCommitConfig};
pub(crate) use operator::TwoPhaseCommitOperator;
pub use transaction_id::TransactionId;
pub use two_phase_commit_sink::TwoPhaseCommitSink;
