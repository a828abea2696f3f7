//! [`TwoPhaseCommitConfig`], how a two-phase-commit sink retries and what it reports, and
//! [`TransactionStats`], the counts it keeps.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_actors::metrics as names;

/// How a two-phase-commit sink (and the write-ahead and upsert sinks built on it) commits.
///
/// Built with [`TwoPhaseCommitConfig::default`] and its `with_…` methods:
/// ```
/// use std::time::Duration;
/// use weir::sink::two_phase_commit::TwoPhaseCommitConfig;
/// let config = TwoPhaseCommitConfig::default()
///     .with_commit_attempts(5)
///     .with_retry_backoff(Duration::from_millis(200))
///     .with_transaction_timeout(Duration::from_secs(900));
/// assert_eq!(config.commit_attempts(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct TwoPhaseCommitConfig {
    commit_attempts: u32,
    retry_backoff: Duration,
    transaction_timeout: Option<Duration>,
    queue_capacity: usize,
    stats: TransactionStats,
}

impl Default for TwoPhaseCommitConfig {
    /// 3 commit attempts, 100 ms backoff (doubling), no transaction timeout, 8 queued batches,
    /// fresh statistics.
    fn default() -> Self {
        TwoPhaseCommitConfig {
            commit_attempts: 3,
            retry_backoff: Duration::from_millis(100),
            transaction_timeout: None,
            queue_capacity: 8,
            stats: TransactionStats::default(),
        }
    }
}

impl TwoPhaseCommitConfig {
    /// How many times a commit is tried before the subtask fails (at least 1).
    pub fn with_commit_attempts(mut self, attempts: u32) -> Self {
        self.commit_attempts = attempts.max(1);
        self
    }

    /// The pause after the first failed commit attempt; it doubles after each further one (at
    /// most 30 s).
    pub fn with_retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// The target's transaction timeout: committing a transaction prepared this long ago or
    /// longer is reported as a risk of data loss (the target may have aborted it), as Flink's
    /// `transactionTimeout` warning does.
    pub fn with_transaction_timeout(mut self, timeout: Duration) -> Self {
        self.transaction_timeout = Some(timeout);
        self
    }

    /// How many record batches may wait for the sink's thread before the subtask stops reading
    /// input until the thread catches up (at least 1).
    pub fn with_queue_capacity(mut self, batches: usize) -> Self {
        self.queue_capacity = batches.max(1);
        self
    }

    /// Counts into `stats` (shared by every subtask of the sink), instead of fresh statistics.
    pub fn with_stats(mut self, stats: &TransactionStats) -> Self {
        self.stats = stats.clone();
        self
    }

    /// See [`with_commit_attempts`](Self::with_commit_attempts).
    pub fn commit_attempts(&self) -> u32 {
        self.commit_attempts
    }

    /// See [`with_retry_backoff`](Self::with_retry_backoff).
    pub fn retry_backoff(&self) -> Duration {
        self.retry_backoff
    }

    /// See [`with_transaction_timeout`](Self::with_transaction_timeout).
    pub fn transaction_timeout(&self) -> Option<Duration> {
        self.transaction_timeout
    }

    /// See [`with_queue_capacity`](Self::with_queue_capacity).
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// The statistics the sink counts into.
    pub fn stats(&self) -> &TransactionStats {
        &self.stats
    }
}

#[derive(Debug, Default)]
struct Counts {
    open: AtomicI64,
    pending: AtomicI64,
    committed: AtomicU64,
    recovered: AtomicU64,
    aborted: AtomicU64,
    timed_out: AtomicU64,
    commit_micros: AtomicU64,
}

/// The transactions of a sink, over all its subtasks and restarts (a cheap handle: clones
/// share the counts). The same figures go to the `metrics` facade, labelled with the sink's
/// uid (`weir::runtime::metrics::SINK_TRANSACTIONS_OPEN` and the names after it).
#[derive(Debug, Clone, Default)]
pub struct TransactionStats(Arc<Counts>);

impl TransactionStats {
    /// Fresh statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions begun and not yet pre-committed or aborted.
    pub fn open(&self) -> i64 {
        self.0.open.load(Ordering::Relaxed)
    }

    /// Transactions pre-committed and not yet committed.
    pub fn pending(&self) -> i64 {
        self.0.pending.load(Ordering::Relaxed)
    }

    /// Transactions committed, on checkpoint completion or on restore.
    pub fn committed(&self) -> u64 {
        self.0.committed.load(Ordering::Relaxed)
    }

    /// Of [`committed`](Self::committed), those committed by a restore.
    pub fn recovered(&self) -> u64 {
        self.0.recovered.load(Ordering::Relaxed)
    }

    /// Transactions aborted: open ones found by a restore and prepared ones a crashed
    /// deployment left.
    pub fn aborted(&self) -> u64 {
        self.0.aborted.load(Ordering::Relaxed)
    }

    /// Commits of transactions older than the configured transaction timeout: each one a risk
    /// of data loss.
    pub fn timed_out(&self) -> u64 {
        self.0.timed_out.load(Ordering::Relaxed)
    }

    /// The time all commits took, in total.
    pub fn commit_time(&self) -> Duration {
        Duration::from_micros(self.0.commit_micros.load(Ordering::Relaxed))
    }

    pub(super) fn add_open(&self, uid: &str, delta: i64) {
        self.0.open.fetch_add(delta, Ordering::Relaxed);
        metrics::gauge!(names::SINK_TRANSACTIONS_OPEN, "uid" => uid.to_string())
            .increment(delta as f64);
    }

    pub(super) fn add_pending(&self, uid: &str, delta: i64) {
        self.0.pending.fetch_add(delta, Ordering::Relaxed);
        metrics::gauge!(names::SINK_TRANSACTIONS_PENDING, "uid" => uid.to_string())
            .increment(delta as f64);
    }

    pub(super) fn count_commit(&self, uid: &str, took: Duration, recovered: bool) {
        self.0.committed.fetch_add(1, Ordering::Relaxed);
        if recovered {
            self.0.recovered.fetch_add(1, Ordering::Relaxed);
        }
        (self.0.commit_micros).fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        metrics::gauge!(names::SINK_LAST_COMMIT_MS, "uid" => uid.to_string())
            .set(took.as_millis() as f64);
        metrics::counter!(names::SINK_TRANSACTIONS_COMMITTED, "uid" => uid.to_string())
            .increment(1);
    }

    pub(super) fn count_abort(&self, uid: &str) {
        self.0.aborted.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(names::SINK_TRANSACTIONS_ABORTED, "uid" => uid.to_string()).increment(1);
    }

    pub(super) fn count_timed_out(&self, uid: &str) {
        self.0.timed_out.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(names::SINK_TRANSACTIONS_TIMED_OUT, "uid" => uid.to_string())
            .increment(1);
    }
}
