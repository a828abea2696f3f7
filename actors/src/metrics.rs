//! Counters per operator and per subtask, readable from the job's client and exported through the
//! [`metrics`](https://docs.rs/metrics) crate. Exporting costs nothing when no recorder is
//! installed.
//!
//! # Naming scheme
//! Every name starts with `weir_`; counters end in `_total`; times are whole milliseconds and
//! end in `_ms`; sizes end in `_bytes`. Labels say what a figure belongs to:
//!
//! | level | labels | metrics |
//! | --- | --- | --- |
//! | operator | `operator` (its name), `uid`, `subtask` (index from 0) | [`RECORDS_IN`], [`RECORDS_OUT`] |
//! | task (a chain of operators in one subtask) | `task` (the chain's name, e.g. `Source: Sequence -> Map`), `subtask` | [`BATCHES_IN`], [`BATCHES_OUT`], [`BACKPRESSURED_MS`], [`SOURCE_IDLE_MS`], [`SOURCE_IDLE`] |
//! | job | none | [`CHECKPOINTS_COMPLETED`], [`CHECKPOINTS_FAILED`], [`LAST_CHECKPOINT_DURATION_MS`], [`LAST_CHECKPOINT_SIZE_BYTES`], [`LAST_CHECKPOINT_ALIGNMENT_MS`], [`RESTARTS`], [`DOWNTIME_MS`] |
//!
//! Job-level metrics carry no job label: with several jobs in one process, their counters add
//! up and their gauges show the job that set them last. Counters keep growing across restarts
//! (a restarted subtask gets its earlier counters back), so records a restore replays are
//! counted again.

/// Counter: records an operator read (operator level).
pub const RECORDS_IN: &str = "weir_records_in_total";
/// Counter: records an operator emitted (operator level).
pub const RECORDS_OUT: &str = "weir_records_out_total";
/// Counter: batches a subtask read from its input channels (task level).
pub const BATCHES_IN: &str = "weir_batches_in_total";
/// Counter: batches a subtask sent on its output channels (task level).
pub const BATCHES_OUT: &str = "weir_batches_out_total";
/// Counter: milliseconds a subtask could not send for lack of credit (task level).
pub const BACKPRESSURED_MS: &str = "weir_backpressured_ms_total";
/// Counter: milliseconds a source subtask had nothing to read (task level).
pub const SOURCE_IDLE_MS: &str = "weir_source_idle_ms_total";
/// Gauge: 1 while a source subtask has nothing to read (it reported itself idle), else 0
/// (task level).
pub const SOURCE_IDLE: &str = "weir_source_idle";
/// Counter: completed checkpoints (job level).
pub const CHECKPOINTS_COMPLETED: &str = "weir_checkpoints_completed_total";
/// Counter: failed (declined, expired, aborted) checkpoints (job level).
pub const CHECKPOINTS_FAILED: &str = "weir_checkpoints_failed_total";
/// Gauge: duration of the last completed checkpoint, in milliseconds (job level).
pub const LAST_CHECKPOINT_DURATION_MS: &str = "weir_last_checkpoint_duration_ms";
/// Gauge: state size of the last completed checkpoint, in bytes (job level).
pub const LAST_CHECKPOINT_SIZE_BYTES: &str = "weir_last_checkpoint_size_bytes";
/// Gauge: the longest barrier alignment of the last completed checkpoint, in milliseconds (job
/// level).
pub const LAST_CHECKPOINT_ALIGNMENT_MS: &str = "weir_last_checkpoint_alignment_ms";
/// Counter: restarts (job level).
pub const RESTARTS: &str = "weir_restarts_total";
/// Gauge: total time spent restarting, in milliseconds (job level).
pub const DOWNTIME_MS: &str = "weir_downtime_ms";
/// Gauge: a two-phase-commit sink's transactions begun and not yet pre-committed (label `uid`).
pub const SINK_TRANSACTIONS_OPEN: &str = "weir_sink_transactions_open";
/// Gauge: its transactions pre-committed and not yet committed (label `uid`).
pub const SINK_TRANSACTIONS_PENDING: &str = "weir_sink_transactions_pending";
/// Counter: its transactions committed, on completion or on restore (label `uid`).
pub const SINK_TRANSACTIONS_COMMITTED: &str = "weir_sink_transactions_committed_total";
/// Counter: its transactions aborted on restore (label `uid`).
pub const SINK_TRANSACTIONS_ABORTED: &str = "weir_sink_transactions_aborted_total";
/// Counter: commits of transactions older than the sink's transaction timeout (label `uid`).
pub const SINK_TRANSACTIONS_TIMED_OUT: &str = "weir_sink_transactions_timed_out_total";
/// Gauge: how long the sink's last commit took, retries included, in milliseconds (label `uid`).
pub const SINK_LAST_COMMIT_MS: &str = "weir_sink_last_commit_ms";

/// Every metric name weir exports, in the order of the table above.
pub const ALL: [&str; 20] = [
    RECORDS_IN,
    RECORDS_OUT,
    BATCHES_IN,
    BATCHES_OUT,
    BACKPRESSURED_MS,
    SOURCE_IDLE_MS,
    SOURCE_IDLE,
    CHECKPOINTS_COMPLETED,
    CHECKPOINTS_FAILED,
    LAST_CHECKPOINT_DURATION_MS,
    LAST_CHECKPOINT_SIZE_BYTES,
    LAST_CHECKPOINT_ALIGNMENT_MS,
    RESTARTS,
    DOWNTIME_MS,
    SINK_TRANSACTIONS_OPEN,
    SINK_TRANSACTIONS_PENDING,
    SINK_TRANSACTIONS_COMMITTED,
    SINK_TRANSACTIONS_ABORTED,
    SINK_TRANSACTIONS_TIMED_OUT,
    SINK_LAST_COMMIT_MS,
];

use parking_lot::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Record counts of one operator in one subtask; updated once per batch.
#[derive(Debug)]
pub struct OperatorCounters {
    records_in: AtomicU64,
    records_out: AtomicU64,
    exported_in: metrics::Counter,
    exported_out: metrics::Counter,
}

impl OperatorCounters {
    /// Adds `n` records read by the operator.
    #[inline]
    pub fn add_in(&self, n: usize) {
        self.records_in.fetch_add(n as u64, Ordering::Relaxed);
        self.exported_in.increment(n as u64);
    }

    /// Adds `n` records emitted by the operator.
    #[inline]
    pub fn add_out(&self, n: usize) {
        self.records_out.fetch_add(n as u64, Ordering::Relaxed);
        self.exported_out.increment(n as u64);
    }
}

/// Channel-level figures of one subtask, kept by the runtime.
#[derive(Debug)]
pub struct SubtaskCounters {
    batches_in: AtomicU64,
    batches_out: AtomicU64,
    backpressured_ns: AtomicU64,
    idle_ns: AtomicU64,
    idle: std::sync::atomic::AtomicBool,
    max_queued_batches: AtomicU64,
    max_backlog_batches: AtomicU64,
    exported_batches_in: metrics::Counter,
    exported_batches_out: metrics::Counter,
    exported_backpressure: metrics::Counter,
    exported_idle_ms: metrics::Counter,
    exported_idle: metrics::Gauge,
}

impl SubtaskCounters {
    /// One batch read from an input channel.
    #[inline]
    pub fn batch_in(&self) {
        self.batches_in.fetch_add(1, Ordering::Relaxed);
        self.exported_batches_in.increment(1);
    }

    /// One batch sent on an output channel.
    #[inline]
    pub fn batch_out(&self) {
        self.batches_out.fetch_add(1, Ordering::Relaxed);
        self.exported_batches_out.increment(1);
    }

    /// Time spent unable to send for lack of credit. The exported counter follows the total in
    /// whole milliseconds, so waits shorter than a millisecond add up there too.
    pub fn backpressured(&self, nanos: u64) {
        let before = self.backpressured_ns.fetch_add(nanos, Ordering::Relaxed);
        let whole_ms = (before + nanos) / 1_000_000 - before / 1_000_000;
        if whole_ms > 0 {
            self.exported_backpressure.increment(whole_ms);
        }
    }

    /// Whether the subtask's source is idle now (it had nothing to read at its last poll).
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::Relaxed);
        self.exported_idle.set(f64::from(u8::from(idle)));
    }

    /// Time the subtask's source spent idle; exported in whole milliseconds, as
    /// [`SubtaskCounters::backpressured`].
    pub fn idle_for(&self, nanos: u64) {
        let before = self.idle_ns.fetch_add(nanos, Ordering::Relaxed);
        let whole_ms = (before + nanos) / 1_000_000 - before / 1_000_000;
        if whole_ms > 0 {
            self.exported_idle_ms.increment(whole_ms);
        }
    }

    /// Records that one output channel held `backlog` batches waiting for credit.
    #[inline]
    pub fn observe_backlog(&self, backlog: usize) {
        self.max_backlog_batches
            .fetch_max(backlog as u64, Ordering::Relaxed);
    }

    /// Records that one input channel held `queued` batches at once.
    #[inline]
    pub fn observe_queued(&self, queued: usize) {
        self.max_queued_batches
            .fetch_max(queued as u64, Ordering::Relaxed);
    }
}

/// A point-in-time copy of one operator's counts in one subtask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorMetrics {
    /// Operator name.
    pub name: String,
    /// Operator uid.
    pub uid: String,
    /// Subtask index.
    pub subtask: u32,
    /// Records the operator read.
    pub records_in: u64,
    /// Records the operator emitted.
    pub records_out: u64,
}

/// A point-in-time copy of one subtask's channel figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtaskMetrics {
    /// The task's name.
    pub task: String,
    /// Subtask index.
    pub subtask: u32,
    /// Batches read from input channels.
    pub batches_in: u64,
    /// Batches sent on output channels.
    pub batches_out: u64,
    /// Nanoseconds spent with an output channel out of credit.
    pub backpressured_ns: u64,
    /// Nanoseconds the subtask's source had nothing to read (0 for other tasks).
    pub idle_ns: u64,
    /// Whether the subtask's source is idle now.
    pub idle: bool,
    /// The most batches any one input channel held at once; never above the credit per channel.
    pub max_queued_batches: u64,
    /// The most batches any one output channel held waiting for credit.
    pub max_backlog_batches: u64,
}

type OperatorEntry = (String, String, u32, Arc<OperatorCounters>);
type SubtaskEntry = (String, u32, Arc<SubtaskCounters>);

/// Every counter of a job, shared by its subtasks (writers) and its client (reader).
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    operators: RwLock<Vec<OperatorEntry>>,
    subtasks: RwLock<Vec<SubtaskEntry>>,
}

impl MetricsRegistry {
    /// The counters of operator `name`/`uid` in `subtask`, created on first use. A restarted
    /// subtask gets its earlier counters back, so counts keep growing across restarts.
    pub fn operator(&self, name: &str, uid: &str, subtask: u32) -> Arc<OperatorCounters> {
        if let Some(found) = self
            .operators
            .read()
            .iter()
            .find(|(_, u, s, _)| u == uid && *s == subtask)
        {
            return found.3.clone();
        }
        let labels = [
            ("operator", name.to_string()),
            ("uid", uid.to_string()),
            ("subtask", subtask.to_string()),
        ];
        let counters = Arc::new(OperatorCounters {
            records_in: AtomicU64::new(0),
            records_out: AtomicU64::new(0),
            exported_in: metrics::counter!(RECORDS_IN, &labels),
            exported_out: metrics::counter!(RECORDS_OUT, &labels),
        });
        self.operators
            .write()
            .push((name.to_string(), uid.to_string(), subtask, counters.clone()));
        counters
    }

    /// The channel counters of task `task` in `subtask`, created on first use.
    pub fn subtask(&self, task: &str, subtask: u32) -> Arc<SubtaskCounters> {
        if let Some(found) = self
            .subtasks
            .read()
            .iter()
            .find(|(t, s, _)| t == task && *s == subtask)
        {
            return found.2.clone();
        }
        let labels = [("task", task.to_string()), ("subtask", subtask.to_string())];
        let counters = Arc::new(SubtaskCounters {
            batches_in: AtomicU64::new(0),
            batches_out: AtomicU64::new(0),
            backpressured_ns: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
            idle: std::sync::atomic::AtomicBool::new(false),
            max_queued_batches: AtomicU64::new(0),
            max_backlog_batches: AtomicU64::new(0),
            exported_batches_in: metrics::counter!(BATCHES_IN, &labels),
            exported_batches_out: metrics::counter!(BATCHES_OUT, &labels),
            exported_backpressure: metrics::counter!(BACKPRESSURED_MS, &labels),
            exported_idle_ms: metrics::counter!(SOURCE_IDLE_MS, &labels),
            exported_idle: metrics::gauge!(SOURCE_IDLE, &labels),
        });
        self.subtasks
            .write()
            .push((task.to_string(), subtask, counters.clone()));
        counters
    }

    /// Every operator's counts, one entry per operator and subtask, in registration order.
    pub fn operators(&self) -> Vec<OperatorMetrics> {
        self.operators
            .read()
            .iter()
            .map(|(name, uid, subtask, c)| OperatorMetrics {
                name: name.clone(),
                uid: uid.clone(),
                subtask: *subtask,
                records_in: c.records_in.load(Ordering::Relaxed),
                records_out: c.records_out.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Every subtask's channel figures.
    pub fn subtasks(&self) -> Vec<SubtaskMetrics> {
        self.subtasks
            .read()
            .iter()
            .map(|(task, subtask, c)| SubtaskMetrics {
                task: task.clone(),
                subtask: *subtask,
                batches_in: c.batches_in.load(Ordering::Relaxed),
                batches_out: c.batches_out.load(Ordering::Relaxed),
                backpressured_ns: c.backpressured_ns.load(Ordering::Relaxed),
                idle_ns: c.idle_ns.load(Ordering::Relaxed),
                idle: c.idle.load(Ordering::Relaxed),
                max_queued_batches: c.max_queued_batches.load(Ordering::Relaxed),
                max_backlog_batches: c.max_backlog_batches.load(Ordering::Relaxed),
            })
            .collect()
    }
}
