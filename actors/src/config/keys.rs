//! The table of configuration keys weir knows: each key's current name, its deprecated names,
//! its default written as text, what it sets, and the parser that checks its values. [`keys`] is
//! re-exported as [`configuration::keys`](crate::config::configuration::keys), and each key's
//! [`KeyDescription`] is public through
//! [`Configuration::describe`](crate::config::configuration::Configuration::describe).
//!
//! A key whose feature weir does not have yet (unaligned checkpoints, the `CLAIM` claim mode)
//! is in the table so a Flink file that sets it to its default still reads; any
//! other value is refused with
//! [`ConfigError::Unsupported`](crate::config::configuration::ConfigError::Unsupported).

use crate::config::kinds::{
    CheckpointingMode, ExternalizedCheckpointRetention, FailoverStrategyKind, RecoveryClaimMode,
    StateBackendKind, Storage, StrategyName,
};
use crate::config::values::{
    count, parse_bool, parse_dir, parse_duration, parse_enum, parse_float, parse_max_parallelism,
    positive, text,
};

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;

/// What weir knows about one configuration key, for a harness or a tool that lists settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyDescription {
    /// The key's current name, as Flink 2.3 spells it.
    pub name: &'static str,
    /// The default as a configuration file would write it (`10 min`, `EXACTLY_ONCE`); `None`
    /// when the key has no default value (unset means "off" or "derived", as `description`
    /// says).
    pub default: Option<&'static str>,
    /// Older names still accepted, with a warning, in the order they are looked up.
    pub deprecated_names: &'static [&'static str],
    /// What the key sets.
    pub description: &'static str,
    /// Why weir refuses any value but the default, when it does not support the setting yet.
    pub unsupported: Option<&'static str>,
}

/// Declares every known key once: its constant in [`keys`], its deprecated names, its default,
/// the parser that checks its values and, for a feature weir lacks, why it is refused.
macro_rules! known_keys {
    (@why) => { None };
    (@why $why:literal) => { Some($why) };
    ($($(#[doc = $doc:literal])* $name:ident = $key:literal $(| $old:literal)*,
        $default:expr => $parse:expr $(, unsupported: $why:literal)?;)*) => {
        /// The keys weir knows, as Flink 2.3 spells them; the [module docs](crate::config::configuration)
        /// list their values and defaults.
        pub mod keys {
            $($(#[doc = $doc])* pub const $name: &str = $key;)*
        }

        pub(crate) static KEYS: &[KeySpec] = &[$(KeySpec {
            description: KeyDescription {
                name: $key,
                default: $default,
                deprecated_names: &[$($old),*],
                description: concat!($($doc),*),
                unsupported: known_keys!(@why $($why)?),
            },
            normalize: |value| ($parse)(value).map(|parsed| format!("{parsed:?}")),
        }),*];
    };
}

known_keys! {
    /// Time between checkpoints; unset turns checkpointing off.
    CHECKPOINTING_INTERVAL = "execution.checkpointing.interval", None => parse_duration;
    /// `EXACTLY_ONCE` or `AT_LEAST_ONCE`.
    CHECKPOINTING_MODE = "execution.checkpointing.mode", Some("EXACTLY_ONCE")
        => parse_enum::<CheckpointingMode>;
    /// How long a checkpoint may take before it is aborted.
    CHECKPOINTING_TIMEOUT = "execution.checkpointing.timeout", Some("10 min") => parse_duration;
    /// Least pause between the end of one checkpoint and the next trigger.
    CHECKPOINTING_MIN_PAUSE = "execution.checkpointing.min-pause", Some("0 ms") => parse_duration;
    /// Most checkpoints in flight at once.
    CHECKPOINTING_MAX_CONCURRENT = "execution.checkpointing.max-concurrent-checkpoints",
        Some("1") => count;
    /// Consecutive failed checkpoints tolerated before a failover.
    CHECKPOINTING_TOLERABLE_FAILED = "execution.checkpointing.tolerable-failed-checkpoints",
        Some("0") => count;
    /// What cancellation does to retained checkpoints.
    CHECKPOINTING_EXTERNALIZED_RETENTION = "execution.checkpointing.externalized-checkpoint-retention",
        Some("NO_EXTERNALIZED_CHECKPOINTS") => parse_enum::<ExternalizedCheckpointRetention>;
    /// Completed checkpoints kept.
    CHECKPOINTING_NUM_RETAINED = "execution.checkpointing.num-retained" | "state.checkpoints.num-retained",
        Some("1") => count;
    /// Directory for file-system checkpoint storage; unset keeps checkpoints in memory.
    CHECKPOINTING_DIR = "execution.checkpointing.dir" | "state.checkpoints.dir" | "state.backend.fs.checkpointdir",
        None => parse_dir;
    /// Default directory for savepoints.
    CHECKPOINTING_SAVEPOINT_DIR = "execution.checkpointing.savepoint-dir" | "state.savepoints.dir" | "savepoints.state.backend.fs.dir",
        None => parse_dir;
    /// Checkpoint storage: `jobmanager` (memory) or `filesystem`; unset means `filesystem` when a
    /// checkpoint directory is set, memory otherwise.
    CHECKPOINTING_STORAGE = "execution.checkpointing.storage" | "state.checkpoint-storage",
        None => parse_enum::<Storage>;
    /// Whether checkpoints are incremental.
    CHECKPOINTING_INCREMENTAL = "execution.checkpointing.incremental" | "state.backend.incremental",
        Some("false") => parse_bool;
    /// Whether barriers may overtake buffered records.
    CHECKPOINTING_UNALIGNED = "execution.checkpointing.unaligned.enabled" | "execution.checkpointing.unaligned",
        Some("false") => parse_bool, unsupported: "weir has no unaligned checkpoints yet";
    /// How long an aligned checkpoint waits before switching to unaligned.
    CHECKPOINTING_ALIGNED_TIMEOUT = "execution.checkpointing.aligned-checkpoint-timeout" | "execution.checkpointing.alignment-timeout",
        Some("0 ms") => parse_duration, unsupported: "weir has no unaligned checkpoints yet";
    /// The checkpoint or savepoint to restore from.
    STATE_RECOVERY_PATH = "execution.state-recovery.path" | "execution.savepoint.path",
        None => parse_dir;
    /// Whether state with no matching operator may be skipped (`allowNonRestoredState`).
    STATE_RECOVERY_IGNORE_UNCLAIMED = "execution.state-recovery.ignore-unclaimed-state" | "execution.savepoint.ignore-unclaimed-state",
        Some("false") => parse_bool;
    /// `NO_CLAIM` or `CLAIM`: who owns the restored snapshot.
    STATE_RECOVERY_CLAIM_MODE = "execution.state-recovery.claim-mode" | "execution.savepoint-restore-mode",
        Some("NO_CLAIM") => parse_enum::<RecoveryClaimMode>;
    /// `hashmap` or `rocksdb`.
    STATE_BACKEND_TYPE = "state.backend.type" | "state.backend", Some("hashmap")
        => parse_enum::<StateBackendKind>;
    /// `region` or `full`.
    FAILOVER_STRATEGY = "jobmanager.execution.failover-strategy", Some("region")
        => parse_enum::<FailoverStrategyKind>;
    /// Number of key groups; -1 derives it from the parallelism.
    MAX_PARALLELISM = "pipeline.max-parallelism", Some("-1") => parse_max_parallelism;
    /// Parallelism of operators that set none; unset, weir runs one subtask per core (Flink: 1).
    PARALLELISM_DEFAULT = "parallelism.default", None => positive;
    /// The job's name; unset, weir names it `weir job`.
    PIPELINE_NAME = "pipeline.name", None => text;
    /// The restart strategy's name; unset, exponential delay with checkpointing, else none.
    RESTART_STRATEGY = "restart-strategy.type" | "restart-strategy", None
        => parse_enum::<StrategyName>;
    /// Fixed delay: restarts allowed.
    FIXED_DELAY_ATTEMPTS = "restart-strategy.fixed-delay.attempts", Some("1") => count;
    /// Fixed delay: wait before each restart.
    FIXED_DELAY_DELAY = "restart-strategy.fixed-delay.delay", Some("1 s") => parse_duration;
    /// Failure rate: failures allowed per interval.
    FAILURE_RATE_MAX_FAILURES = "restart-strategy.failure-rate.max-failures-per-interval",
        Some("1") => count;
    /// Failure rate: the interval failures are counted over.
    FAILURE_RATE_INTERVAL = "restart-strategy.failure-rate.failure-rate-interval", Some("1 min")
        => parse_duration;
    /// Failure rate: wait before each restart.
    FAILURE_RATE_DELAY = "restart-strategy.failure-rate.delay", Some("1 s") => parse_duration;
    /// Exponential delay: the first backoff.
    EXPONENTIAL_INITIAL_BACKOFF = "restart-strategy.exponential-delay.initial-backoff",
        Some("1 s") => parse_duration;
    /// Exponential delay: the largest backoff.
    EXPONENTIAL_MAX_BACKOFF = "restart-strategy.exponential-delay.max-backoff", Some("1 min")
        => parse_duration;
    /// Exponential delay: the factor applied per attempt.
    EXPONENTIAL_MULTIPLIER = "restart-strategy.exponential-delay.backoff-multiplier", Some("1.5")
        => parse_float;
    /// Exponential delay: a failure this long after the scheduled restart resets the backoff.
    EXPONENTIAL_RESET_THRESHOLD = "restart-strategy.exponential-delay.reset-backoff-threshold",
        Some("1 h") => parse_duration;
    /// Exponential delay: jitter as a fraction of the backoff.
    EXPONENTIAL_JITTER = "restart-strategy.exponential-delay.jitter-factor", Some("0.1")
        => parse_float;
    /// Exponential delay: restarts allowed between resets.
    EXPONENTIAL_ATTEMPTS = "restart-strategy.exponential-delay.attempts-before-reset-backoff",
        Some("2147483647") => count;
}

/// A known key: its description, and a parser that checks a value and writes what it parsed
/// to, so that two spellings of one value (`0 ms`, `0`) compare equal.
pub(crate) struct KeySpec {
    pub(crate) description: KeyDescription,
    pub(crate) normalize: fn(&str) -> Result<String, String>,
}

impl KeySpec {
    /// The key's current name.
    pub(crate) fn key(&self) -> &'static str {
        self.description.name
    }

    /// The key's deprecated names.
    pub(crate) fn deprecated(&self) -> &'static [&'static str] {
        self.description.deprecated_names
    }

    /// Its current name, then its deprecated names, in lookup order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.key()).chain(self.deprecated().iter().copied())
    }

    /// The public description, the doc comment trimmed.
    pub(crate) fn describe(&self) -> KeyDescription {
        KeyDescription {
            description: self.description.description.trim(),
            ..self.description
        }
    }

    /// Checks `value`; for a key weir does not support yet, also whether it is the default.
    pub(crate) fn check(&self, value: &str) -> Result<Check, String> {
        let parsed = (self.normalize)(value)?;
        let Some(reason) = self.description.unsupported else {
            return Ok(Check::Accepted);
        };
        let default = self.description.default.map(self.normalize);
        Ok(match default {
            Some(Ok(default)) if default == parsed => Check::Accepted,
            _ => Check::Unsupported(reason),
        })
    }
}

/// What [`KeySpec::check`] found for a value that parses.
pub(crate) enum Check {
    /// The value can be set.
    Accepted,
    /// The key's feature is missing and the value is not its default: refused, for this reason.
    Unsupported(&'static str),
}

/// Finds a key's spec, and whether `key` is a deprecated name of it.
pub(crate) fn lookup(key: &str) -> Option<(&'static KeySpec, Option<&'static str>)> {
    KEYS.iter().find_map(|spec| {
        if spec.key() == key {
            Some((spec, None))
        } else {
            let old = spec.deprecated().iter().find(|old| **old == key)?;
            Some((spec, Some(*old)))
        }
    })
}

/// The known key an unknown `key` was most likely meant to be: a key it is a dotted suffix of,
/// one it matches ignoring case, or the nearest by edit distance when that distance is small
/// for the key's length. A deprecated name found so is given as its current name.
pub(crate) fn suggestion(key: &str) -> Option<&'static str> {
    let names = || {
        KEYS.iter()
            .flat_map(|spec| spec.names().map(move |n| (n, spec)))
    };
    if let Some((_, spec)) = names().find(|(n, _)| n.eq_ignore_ascii_case(key)) {
        return Some(spec.key());
    }
    let suffix = format!(".{key}");
    let mut by_suffix = KEYS.iter().filter(|spec| spec.key().ends_with(&suffix));
    if let (Some(spec), None) = (by_suffix.next(), by_suffix.next()) {
        return Some(spec.key());
    }
    let (distance, spec) = names()
        .map(|(name, spec)| (edit_distance(key, name), spec))
        .min_by_key(|(distance, _)| *distance)?;
    let limit = (key.chars().count() / 5).max(2);
    (distance <= limit).then(|| spec.key())
}

/// Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
