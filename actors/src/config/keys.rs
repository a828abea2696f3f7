//! The table of configuration keys weir knows: each key's current name, its deprecated names and
//! the parser that checks its values. [`keys`] is re-exported as
//! [`configuration::keys`](crate::config::configuration::keys).

use crate::config::checkpoint_config::{CheckpointingMode, ExternalizedCheckpointRetention};
use crate::config::configuration::{FailoverStrategyKind, RecoveryClaimMode, StateBackendKind};
use crate::config::values::{
    count, parse_bool, parse_dir, parse_duration, parse_enum, parse_float, parse_max_parallelism,
    positive, text, Storage, StrategyName,
};

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;

/// Declares every known key once: its constant in [`keys`], its deprecated names and the parser
/// that checks its values.
macro_rules! known_keys {
    ($($(#[doc = $doc:literal])* $name:ident = $key:literal $(| $old:literal)* => $parse:expr;)*) => {
        /// The keys weir knows, as Flink 2.3 spells them; the [module docs](crate::config::configuration)
        /// list their values and defaults.
        pub mod keys {
            $($(#[doc = $doc])* pub const $name: &str = $key;)*
        }

        pub(crate) static KEYS: &[KeySpec] = &[$(KeySpec {
            key: $key,
            deprecated: &[$($old),*],
            check: |value| ($parse)(value).map(drop),
        }),*];
    };
}

known_keys! {
    /// Time between checkpoints; unset turns checkpointing off.
    CHECKPOINTING_INTERVAL = "execution.checkpointing.interval" => parse_duration;
    /// `EXACTLY_ONCE` or `AT_LEAST_ONCE`.
    CHECKPOINTING_MODE = "execution.checkpointing.mode" => parse_enum::<CheckpointingMode>;
    /// How long a checkpoint may take before it is aborted.
    CHECKPOINTING_TIMEOUT = "execution.checkpointing.timeout" => parse_duration;
    /// Least pause between the end of one checkpoint and the next trigger.
    CHECKPOINTING_MIN_PAUSE = "execution.checkpointing.min-pause" => parse_duration;
    /// Most checkpoints in flight at once.
    CHECKPOINTING_MAX_CONCURRENT = "execution.checkpointing.max-concurrent-checkpoints" => count;
    /// Consecutive failed checkpoints tolerated before a failover.
    CHECKPOINTING_TOLERABLE_FAILED = "execution.checkpointing.tolerable-failed-checkpoints"
        => count;
    /// What cancellation does to retained checkpoints.
    CHECKPOINTING_EXTERNALIZED_RETENTION = "execution.checkpointing.externalized-checkpoint-retention"
        => parse_enum::<ExternalizedCheckpointRetention>;
    /// Completed checkpoints kept.
    CHECKPOINTING_NUM_RETAINED = "execution.checkpointing.num-retained" | "state.checkpoints.num-retained"
        => count;
    /// Directory for file-system checkpoint storage.
    CHECKPOINTING_DIR = "execution.checkpointing.dir" | "state.checkpoints.dir" => parse_dir;
    /// Default directory for savepoints.
    CHECKPOINTING_SAVEPOINT_DIR = "execution.checkpointing.savepoint-dir" | "state.savepoints.dir"
        => parse_dir;
    /// Checkpoint storage: `jobmanager` (memory) or `filesystem`.
    CHECKPOINTING_STORAGE = "execution.checkpointing.storage" | "state.checkpoint-storage"
        => parse_enum::<Storage>;
    /// Whether checkpoints are incremental.
    CHECKPOINTING_INCREMENTAL = "execution.checkpointing.incremental" | "state.backend.incremental"
        => parse_bool;
    /// Whether barriers may overtake buffered records.
    CHECKPOINTING_UNALIGNED = "execution.checkpointing.unaligned.enabled" | "execution.checkpointing.unaligned"
        => parse_bool;
    /// How long an aligned checkpoint waits before switching to unaligned.
    CHECKPOINTING_ALIGNED_TIMEOUT = "execution.checkpointing.aligned-checkpoint-timeout" | "execution.checkpointing.alignment-timeout"
        => parse_duration;
    /// The checkpoint or savepoint to restore from.
    STATE_RECOVERY_PATH = "execution.state-recovery.path" | "execution.savepoint.path" => parse_dir;
    /// Whether state with no matching operator may be skipped (`allowNonRestoredState`).
    STATE_RECOVERY_IGNORE_UNCLAIMED = "execution.state-recovery.ignore-unclaimed-state" | "execution.savepoint.ignore-unclaimed-state"
        => parse_bool;
    /// `NO_CLAIM` or `CLAIM`: who owns the restored snapshot.
    STATE_RECOVERY_CLAIM_MODE = "execution.state-recovery.claim-mode"
        => parse_enum::<RecoveryClaimMode>;
    /// `hashmap` or `rocksdb`.
    STATE_BACKEND_TYPE = "state.backend.type" | "state.backend" => parse_enum::<StateBackendKind>;
    /// `region` or `full`.
    FAILOVER_STRATEGY = "jobmanager.execution.failover-strategy"
        => parse_enum::<FailoverStrategyKind>;
    /// Number of key groups; -1 derives it from the parallelism.
    MAX_PARALLELISM = "pipeline.max-parallelism" => parse_max_parallelism;
    /// Parallelism of operators that set none.
    PARALLELISM_DEFAULT = "parallelism.default" => positive;
    /// The job's name.
    PIPELINE_NAME = "pipeline.name" => text;
    /// The restart strategy's name.
    RESTART_STRATEGY = "restart-strategy.type" | "restart-strategy" => parse_enum::<StrategyName>;
    /// Fixed delay: restarts allowed.
    FIXED_DELAY_ATTEMPTS = "restart-strategy.fixed-delay.attempts" => count;
    /// Fixed delay: wait before each restart.
    FIXED_DELAY_DELAY = "restart-strategy.fixed-delay.delay" => parse_duration;
    /// Failure rate: failures allowed per interval.
    FAILURE_RATE_MAX_FAILURES = "restart-strategy.failure-rate.max-failures-per-interval" => count;
    /// Failure rate: the interval failures are counted over.
    FAILURE_RATE_INTERVAL = "restart-strategy.failure-rate.failure-rate-interval" => parse_duration;
    /// Failure rate: wait before each restart.
    FAILURE_RATE_DELAY = "restart-strategy.failure-rate.delay" => parse_duration;
    /// Exponential delay: the first backoff.
    EXPONENTIAL_INITIAL_BACKOFF = "restart-strategy.exponential-delay.initial-backoff"
        => parse_duration;
    /// Exponential delay: the largest backoff.
    EXPONENTIAL_MAX_BACKOFF = "restart-strategy.exponential-delay.max-backoff" => parse_duration;
    /// Exponential delay: the factor applied per attempt.
    EXPONENTIAL_MULTIPLIER = "restart-strategy.exponential-delay.backoff-multiplier" => parse_float;
    /// Exponential delay: a failure this long after the scheduled restart resets the backoff.
    EXPONENTIAL_RESET_THRESHOLD = "restart-strategy.exponential-delay.reset-backoff-threshold"
        => parse_duration;
    /// Exponential delay: jitter as a fraction of the backoff.
    EXPONENTIAL_JITTER = "restart-strategy.exponential-delay.jitter-factor" => parse_float;
    /// Exponential delay: restarts allowed between resets.
    EXPONENTIAL_ATTEMPTS = "restart-strategy.exponential-delay.attempts-before-reset-backoff"
        => count;
}

/// A known key: its name, its deprecated names, and a check of its values.
pub(crate) struct KeySpec {
    pub(crate) key: &'static str,
    pub(crate) deprecated: &'static [&'static str],
    pub(crate) check: fn(&str) -> Result<(), String>,
}

/// Finds a key's spec, and whether `key` is a deprecated name of it.
pub(crate) fn lookup(key: &str) -> Option<(&'static KeySpec, Option<&'static str>)> {
    KEYS.iter().find_map(|spec| {
        if spec.key == key {
            Some((spec, None))
        } else {
            let old = spec.deprecated.iter().find(|old| **old == key)?;
            Some((spec, Some(*old)))
        }
    })
}
