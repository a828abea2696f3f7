//! Flink-style string settings: `key: value` pairs, read from code or a flat YAML file, turned
//! into validated typed settings.
//!
//! ```
//! use std::time::Duration;
//! use weir_actors::configuration::Configuration;
//!
//! let config = Configuration::from_yaml_str(
//!     "# checkpoint every ten seconds\n\
//!      execution.checkpointing.interval: 10 s\n\
//!      restart-strategy.type: fixed-delay\n",
//! )?;
//! assert_eq!(config.checkpoint_config()?.interval, Some(Duration::from_secs(10)));
//! assert!(config.restart_strategy()?.is_some());
//! # Ok::<(), weir_actors::configuration::ConfigError>(())
//! ```
//!
//! # Guarantees
//! - **Known keys only**: [`Configuration::set`] rejects a key it does not know and a value that
//!   does not parse for its key, naming both. A file error also names the file and the line.
//! - **Flink's spellings**: keys, defaults and deprecated names are Flink 2.3's. A deprecated name
//!   is accepted with a warning and read as its replacement; the new name wins when both are set.
//! - **Validated typed reads**: [`Configuration::checkpoint_config`] and
//!   [`Configuration::restart_strategy`] apply the checks of [`CheckpointConfig::validate`] and
//!   [`RestartStrategyConfig::validate`].
//!
//! # Value syntax
//! - durations as Flink's `TimeUtils` writes them: a whole number and a unit (`10 s`, `10s`,
//!   `1 min`, `500 ms`, `1 h`, `2 d`; units `ns`, `µs`, `ms`, `s`, `min` or `m`, `h`, `d` and the
//!   long forms `nano`, `micro`, `milli`, `sec`, `second`, `minute`, `hour`, `day`, with or without a
//!   trailing `s`), a plain number of milliseconds, or ISO-8601 (`PT10M`, `PT1.5S`, `PT1H30M`);
//! - booleans `true`/`false`, integers, floats; enum values case-insensitively (`EXACTLY_ONCE`,
//!   `exactly_once`);
//! - directories as local paths, optionally `file://` URIs.
//!
//! # File syntax
//! One `key: value` per line, Flink's flat `config.yaml`/`flink-conf.yaml` style. `#` starts a
//! comment at the start of a line or after a space; blank lines are skipped; a value may be quoted
//! with `"` or `'`. Nested YAML blocks are not supported: write the flat key. A key set twice takes
//! its later value.
//!
//! # Keys
//! | key | value | default | older name |
//! | --- | --- | --- | --- |
//! | `execution.checkpointing.interval` | duration | none: checkpointing off | |
//! | `execution.checkpointing.mode` | `EXACTLY_ONCE`, `AT_LEAST_ONCE` | `EXACTLY_ONCE` | |
//! | `execution.checkpointing.timeout` | duration | 10 min | |
//! | `execution.checkpointing.min-pause` | duration | 0 | |
//! | `execution.checkpointing.max-concurrent-checkpoints` | integer | 1 | |
//! | `execution.checkpointing.tolerable-failed-checkpoints` | integer | 0 | |
//! | `execution.checkpointing.externalized-checkpoint-retention` | `NO_EXTERNALIZED_CHECKPOINTS`, `RETAIN_ON_CANCELLATION`, `DELETE_ON_CANCELLATION` | `NO_EXTERNALIZED_CHECKPOINTS` | |
//! | `execution.checkpointing.num-retained` | integer | 1 | `state.checkpoints.num-retained` |
//! | `execution.checkpointing.dir` | directory | none | `state.checkpoints.dir` |
//! | `execution.checkpointing.savepoint-dir` | directory | none | `state.savepoints.dir` |
//! | `execution.checkpointing.storage` | `jobmanager`, `filesystem` | `filesystem` if a dir is set, else none | `state.checkpoint-storage` |
//! | `execution.checkpointing.incremental` | boolean | false | `state.backend.incremental` |
//! | `execution.checkpointing.unaligned.enabled` | boolean | false | `execution.checkpointing.unaligned` |
//! | `execution.checkpointing.aligned-checkpoint-timeout` | duration | 0 | `execution.checkpointing.alignment-timeout` |
//! | `execution.state-recovery.path` | directory | none | `execution.savepoint.path` |
//! | `execution.state-recovery.ignore-unclaimed-state` | boolean | false | `execution.savepoint.ignore-unclaimed-state` |
//! | `execution.state-recovery.claim-mode` | `NO_CLAIM`, `CLAIM` | `NO_CLAIM` | |
//! | `state.backend.type` | `hashmap`, `rocksdb` | `hashmap` | `state.backend` |
//! | `jobmanager.execution.failover-strategy` | `region`, `full` | `region` | |
//! | `pipeline.max-parallelism` | -1 or 1..=32768 | -1 (derived) | |
//! | `parallelism.default` | positive integer | none (weir: one per core) | |
//! | `pipeline.name` | text | none | |
//! | `restart-strategy.type` | `none`/`off`/`disable`, `fixed-delay`/`fixeddelay`, `failure-rate`/`failurerate`, `exponential-delay`/`exponentialdelay` | none | `restart-strategy` |
//! | `restart-strategy.fixed-delay.attempts` / `.delay` | integer / duration | 1 / 1 s | |
//! | `restart-strategy.failure-rate.max-failures-per-interval` / `.failure-rate-interval` / `.delay` | integer / duration / duration | 1 / 1 min / 1 s | |
//! | `restart-strategy.exponential-delay.initial-backoff` / `.max-backoff` / `.backoff-multiplier` | duration / duration / float | 1 s / 1 min / 1.5 | |
//! | `restart-strategy.exponential-delay.reset-backoff-threshold` / `.jitter-factor` / `.attempts-before-reset-backoff` | duration / float / integer | 1 h / 0.1 / 2147483647 | |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checkpoint_config::{
    CheckpointConfig, CheckpointConfigError, CheckpointStorageConfig, CheckpointingMode,
    ExternalizedCheckpointRetention, DEFAULT_CHECKPOINT_TIMEOUT,
};
use crate::restart_strategy::{RestartStrategyConfig, RestartStrategyError};

#[cfg(test)]
#[path = "configuration_tests.rs"]
mod tests;

/// Declares every known key once: its constant in [`keys`], its deprecated names and the parser
/// that checks its values.
macro_rules! known_keys {
    ($($(#[doc = $doc:literal])* $name:ident = $key:literal $(| $old:literal)* => $parse:expr;)*) => {
        /// The keys weir knows, as Flink 2.3 spells them; the [module docs](super) list their values
        /// and defaults.
        pub mod keys {
            $($(#[doc = $doc])* pub const $name: &str = $key;)*
        }

        static KEYS: &[KeySpec] = &[$(KeySpec {
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

/// Which state backend keeps keyed state (`state.backend.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StateBackendKind {
    /// Objects on the heap (`hashmap`, the default).
    #[default]
    HashMap,
    /// Serialized in an embedded RocksDB (`rocksdb`).
    RocksDb,
}

/// What restarts when a task fails (`jobmanager.execution.failover-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum FailoverStrategyKind {
    /// Only the failed task's pipelined region (`region`, the default).
    #[default]
    Region,
    /// Every task of the job (`full`).
    Full,
}

/// Who owns the snapshot a job is restored from (`execution.state-recovery.claim-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RecoveryClaimMode {
    /// The snapshot stays the user's; the first checkpoint after restore is a full one (`NO_CLAIM`).
    #[default]
    NoClaim,
    /// The job takes the snapshot over and may delete it once subsumed (`CLAIM`).
    Claim,
}

/// Why a line of a configuration file is not a flat `key: value` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// No `: ` separates a key from a value.
    #[error("expected `key: value`")]
    MissingSeparator,
    /// Nothing before the `:`.
    #[error("empty key")]
    EmptyKey,
    /// A key with no value.
    #[error("missing value")]
    MissingValue,
    /// A key opening a nested YAML block, or an indented line.
    #[error("nested YAML blocks are not supported; write flat keys such as `execution.checkpointing.interval: 10 s`")]
    NestedBlock,
    /// A quoted value without its closing quote, or with text after it.
    #[error("badly quoted value")]
    BadQuote,
}

/// A configuration that cannot be read, or a setting that is not valid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key is not one weir knows.
    #[error("unknown configuration key `{key}`")]
    UnknownKey {
        /// The key as given.
        key: String,
    },
    /// The value does not parse, or is out of range, for its key.
    #[error("invalid value `{value}` for `{key}`: {reason}")]
    InvalidValue {
        /// The key as given (a deprecated name stays as written).
        key: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting needs another key that is not set.
    #[error("`{key}` must be set when `{required_by}` is `{value}`")]
    MissingKey {
        /// The key that is missing.
        key: &'static str,
        /// The key whose value needs it.
        required_by: &'static str,
        /// That key's value.
        value: String,
    },
    /// The checkpoint settings are inconsistent or out of range.
    #[error("invalid checkpoint configuration: {0}")]
    Checkpoint(#[from] CheckpointConfigError),
    /// The restart strategy's parameters are out of range.
    #[error("invalid restart strategy `{strategy}`: {source}")]
    RestartStrategy {
        /// The strategy, as Flink names it (`fixed-delay`, ...).
        strategy: &'static str,
        /// The rule broken, naming its key.
        #[source]
        source: RestartStrategyError,
    },
    /// A line of a file is not a flat `key: value` line.
    #[error("{kind}: `{text}`")]
    Syntax {
        /// The line's text.
        text: String,
        /// What is wrong with it.
        kind: SyntaxErrorKind,
    },
    /// An error at a line of a configuration file or string.
    #[error("{}: {source}", location(.file, .line))]
    AtLine {
        /// The file, when read with [`Configuration::from_file`].
        file: Option<PathBuf>,
        /// The line, counted from 1.
        line: usize,
        /// The error itself.
        #[source]
        source: Box<ConfigError>,
    },
    /// The file cannot be read.
    #[error("cannot read configuration file {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn location(file: &Option<PathBuf>, line: &usize) -> String {
    match file {
        Some(path) => format!("{}:{line}", path.display()),
        None => format!("line {line}"),
    }
}

impl ConfigError {
    /// The configuration key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { key } | Self::InvalidValue { key, .. } => Some(key),
            Self::MissingKey { key, .. } => Some(key),
            Self::Checkpoint(error) => Some(error.key()),
            Self::RestartStrategy { .. } => Some(keys::RESTART_STRATEGY),
            Self::AtLine { source, .. } => source.key(),
            Self::Syntax { .. } | Self::Io { .. } => None,
        }
    }

    /// The line of the file or string the error is at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::AtLine { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The file the error is in, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::AtLine { file, .. } => file.as_deref(),
            Self::Io { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// A known key: its name, its deprecated names, and a check of its values.
struct KeySpec {
    key: &'static str,
    deprecated: &'static [&'static str],
    check: fn(&str) -> Result<(), String>,
}

/// Finds a key's spec, and whether `key` is a deprecated name of it.
fn lookup(key: &str) -> Option<(&'static KeySpec, Option<&'static str>)> {
    KEYS.iter().find_map(|spec| {
        if spec.key == key {
            Some((spec, None))
        } else {
            let old = spec.deprecated.iter().find(|old| **old == key)?;
            Some((spec, Some(*old)))
        }
    })
}

/// Flink-style string settings. Holds only known keys with values that parse; see the
/// [module docs](self) for the keys, the value syntax and the file syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    /// Values by the name they were set under (a key or one of its deprecated names).
    values: BTreeMap<&'static str, String>,
}

impl Configuration {
    /// An empty configuration: every setting at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key weir knows, by its current name.
    pub fn known_keys() -> impl Iterator<Item = &'static str> {
        KEYS.iter().map(|spec| spec.key)
    }

    /// The current name for a deprecated key, or `None` if `key` is not a deprecated name.
    pub fn replacement_for(key: &str) -> Option<&'static str> {
        lookup(key).and_then(|(spec, old)| old.map(|_| spec.key))
    }

    /// Sets `key` to `value` (surrounding whitespace trimmed). A deprecated name is accepted with a
    /// warning; a value set under the current name takes precedence over one set under a
    /// deprecated name, as in Flink.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self, ConfigError> {
        let (spec, old) = lookup(key).ok_or_else(|| ConfigError::UnknownKey { key: key.into() })?;
        let value = value.trim();
        (spec.check)(value).map_err(|reason| invalid(key, value, reason))?;
        if let Some(old) = old {
            tracing::warn!(
                deprecated = old,
                replacement = spec.key,
                "configuration key `{old}` is deprecated; use `{}`",
                spec.key
            );
        }
        self.values
            .insert(old.unwrap_or(spec.key), value.to_owned());
        Ok(self)
    }

    /// The value in effect for `key` (or for the key a deprecated name maps to); `None` if unset
    /// or unknown.
    pub fn get(&self, key: &str) -> Option<&str> {
        let (spec, _) = lookup(key)?;
        self.raw(spec).map(|(_, value)| value)
    }

    /// Removes `key` under its current and deprecated names; returns the value that was in effect.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let (spec, _) = lookup(key)?;
        let names = std::iter::once(&spec.key).chain(spec.deprecated);
        let removed: Vec<_> = names.filter_map(|name| self.values.remove(name)).collect();
        removed.into_iter().next()
    }

    /// The settings as stored, by the name each was set under, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.values
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
    }

    /// Reads flat `key: value` lines (see the [module docs](self)); errors name the line.
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, None)
    }

    /// Reads a flat `config.yaml`/`flink-conf.yaml` file; errors name the file and the line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, Some(path))
    }

    fn parse(text: &str, file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = Self::new();
        let mut seen = BTreeSet::new();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let at = |source| ConfigError::AtLine {
                file: file.map(Path::to_path_buf),
                line: index + 1,
                source: Box::new(source),
            };
            let nested = lines[index + 1..]
                .iter()
                .find(|next| !is_blank_or_comment(next))
                .is_some_and(|next| next.starts_with([' ', '\t']));
            let Some((key, value)) = parse_line(line, nested).map_err(at)? else {
                continue;
            };
            if !seen.insert(key) {
                tracing::warn!(
                    key,
                    line = index + 1,
                    "configuration key set twice; the later value wins"
                );
            }
            config.set(key, value).map_err(at)?;
        }
        Ok(config)
    }

    /// The value in effect for a spec, with the name it was set under.
    fn raw(&self, spec: &KeySpec) -> Option<(&'static str, &str)> {
        std::iter::once(&spec.key)
            .chain(spec.deprecated)
            .find_map(|name| Some((*name, self.values.get(name)?.as_str())))
    }

    fn read<T>(
        &self,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((spec, _)) = lookup(key) else {
            return Ok(None);
        };
        match self.raw(spec) {
            Some((name, value)) => parse(value).map(Some).map_err(|r| invalid(name, value, r)),
            None => Ok(None),
        }
    }

    fn duration(&self, key: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        Ok(self.read(key, parse_duration)?.unwrap_or(default))
    }

    fn count(&self, key: &'static str, default: u32) -> Result<u32, ConfigError> {
        Ok(self.read(key, count)?.unwrap_or(default))
    }

    fn float(&self, key: &'static str, default: f64) -> Result<f64, ConfigError> {
        Ok(self.read(key, parse_float)?.unwrap_or(default))
    }

    fn flag(&self, key: &'static str) -> Result<bool, ConfigError> {
        Ok(self.read(key, parse_bool)?.unwrap_or(false))
    }

    fn choice<T: FlinkEnum + Default>(&self, key: &'static str) -> Result<T, ConfigError> {
        Ok(self.read(key, parse_enum::<T>)?.unwrap_or_default())
    }

    fn dir(&self, key: &'static str) -> Option<PathBuf> {
        self.read(key, parse_dir).ok().flatten()
    }

    /// The checkpoint settings, defaults filled in and validated with
    /// [`CheckpointConfig::validate`]. Storage is `filesystem` at `execution.checkpointing.dir`
    /// when a directory is set and no storage is named, as in Flink.
    pub fn checkpoint_config(&self) -> Result<CheckpointConfig, ConfigError> {
        let dir = self.dir(keys::CHECKPOINTING_DIR);
        let storage = match (
            self.read(keys::CHECKPOINTING_STORAGE, parse_enum::<Storage>)?,
            dir,
        ) {
            (Some(Storage::JobManager), _) => Some(CheckpointStorageConfig::JobManager),
            (Some(Storage::FileSystem) | None, Some(dir)) => {
                Some(CheckpointStorageConfig::FileSystem(dir))
            }
            (Some(Storage::FileSystem), None) => {
                return Err(ConfigError::MissingKey {
                    key: keys::CHECKPOINTING_DIR,
                    required_by: keys::CHECKPOINTING_STORAGE,
                    value: "filesystem".into(),
                })
            }
            (None, None) => None,
        };
        let config = CheckpointConfig {
            interval: self.read(keys::CHECKPOINTING_INTERVAL, parse_duration)?,
            mode: self.choice(keys::CHECKPOINTING_MODE)?,
            timeout: self.duration(keys::CHECKPOINTING_TIMEOUT, DEFAULT_CHECKPOINT_TIMEOUT)?,
            min_pause: self.duration(keys::CHECKPOINTING_MIN_PAUSE, Duration::ZERO)?,
            max_concurrent: self.count(keys::CHECKPOINTING_MAX_CONCURRENT, 1)?,
            tolerable_failed_checkpoints: self.count(keys::CHECKPOINTING_TOLERABLE_FAILED, 0)?,
            num_retained: self.count(keys::CHECKPOINTING_NUM_RETAINED, 1)?,
            externalized_retention: self.choice(keys::CHECKPOINTING_EXTERNALIZED_RETENTION)?,
            storage,
            incremental: self.flag(keys::CHECKPOINTING_INCREMENTAL)?,
            unaligned: self.flag(keys::CHECKPOINTING_UNALIGNED)?,
            aligned_checkpoint_timeout: self
                .duration(keys::CHECKPOINTING_ALIGNED_TIMEOUT, Duration::ZERO)?,
        };
        config.validate()?;
        Ok(config)
    }

    /// The restart strategy named by `restart-strategy.type`, its parameters' defaults filled in
    /// and validated; `None` when the type is unset (see
    /// [`effective_restart_strategy`](Self::effective_restart_strategy)).
    pub fn restart_strategy(&self) -> Result<Option<RestartStrategyConfig>, ConfigError> {
        let Some(strategy) = self.read(keys::RESTART_STRATEGY, parse_enum::<StrategyName>)? else {
            return Ok(None);
        };
        self.build_restart_strategy(strategy).map(Some)
    }

    /// The restart strategy in effect: the configured one, or, when `restart-strategy.type` is
    /// unset, Flink's default: exponential delay (its keys applied) when checkpointing is on, no
    /// restart otherwise.
    pub fn effective_restart_strategy(&self) -> Result<RestartStrategyConfig, ConfigError> {
        match self.restart_strategy()? {
            Some(config) => Ok(config),
            None if self.checkpoint_config()?.is_enabled() => {
                self.build_restart_strategy(StrategyName::ExponentialDelay)
            }
            None => Ok(RestartStrategyConfig::NoRestart),
        }
    }

    fn build_restart_strategy(
        &self,
        strategy: StrategyName,
    ) -> Result<RestartStrategyConfig, ConfigError> {
        let second = Duration::from_secs(1);
        let config = match strategy {
            StrategyName::NoRestart => RestartStrategyConfig::NoRestart,
            StrategyName::FixedDelay => RestartStrategyConfig::FixedDelay {
                attempts: self.count(keys::FIXED_DELAY_ATTEMPTS, 1)?,
                delay: self.duration(keys::FIXED_DELAY_DELAY, second)?,
            },
            StrategyName::FailureRate => RestartStrategyConfig::FailureRate {
                max_failures_per_interval: self.count(keys::FAILURE_RATE_MAX_FAILURES, 1)?,
                failure_rate_interval: self
                    .duration(keys::FAILURE_RATE_INTERVAL, Duration::from_secs(60))?,
                delay: self.duration(keys::FAILURE_RATE_DELAY, second)?,
            },
            StrategyName::ExponentialDelay => RestartStrategyConfig::ExponentialDelay {
                initial_backoff: self.duration(keys::EXPONENTIAL_INITIAL_BACKOFF, second)?,
                max_backoff: self
                    .duration(keys::EXPONENTIAL_MAX_BACKOFF, Duration::from_secs(60))?,
                backoff_multiplier: self.float(keys::EXPONENTIAL_MULTIPLIER, 1.5)?,
                reset_backoff_threshold: self
                    .duration(keys::EXPONENTIAL_RESET_THRESHOLD, Duration::from_secs(3600))?,
                jitter_factor: self.float(keys::EXPONENTIAL_JITTER, 0.1)?,
                attempts_before_reset_backoff: self
                    .count(keys::EXPONENTIAL_ATTEMPTS, i32::MAX.unsigned_abs())?,
            },
        };
        config
            .validate()
            .map_err(|source| ConfigError::RestartStrategy {
                strategy: strategy.name(),
                source,
            })?;
        Ok(config)
    }

    /// The state backend (`state.backend.type`); `hashmap` by default.
    pub fn state_backend(&self) -> Result<StateBackendKind, ConfigError> {
        self.choice(keys::STATE_BACKEND_TYPE)
    }

    /// The failover strategy (`jobmanager.execution.failover-strategy`); `region` by default.
    pub fn failover_strategy(&self) -> Result<FailoverStrategyKind, ConfigError> {
        self.choice(keys::FAILOVER_STRATEGY)
    }

    /// The maximum parallelism (`pipeline.max-parallelism`); `None` when unset or -1, meaning
    /// derived from the parallelism as Flink derives it.
    pub fn max_parallelism(&self) -> Result<Option<u32>, ConfigError> {
        Ok(self
            .read(keys::MAX_PARALLELISM, parse_max_parallelism)?
            .flatten())
    }

    /// The default parallelism (`parallelism.default`); `None` when unset, where weir uses one
    /// subtask per core (Flink uses 1).
    pub fn parallelism_default(&self) -> Result<Option<u32>, ConfigError> {
        self.read(keys::PARALLELISM_DEFAULT, positive)
    }

    /// The snapshot to restore from (`execution.state-recovery.path`).
    pub fn state_recovery_path(&self) -> Option<PathBuf> {
        self.dir(keys::STATE_RECOVERY_PATH)
    }

    /// Whether state of operators missing from the job may be skipped on restore
    /// (`execution.state-recovery.ignore-unclaimed-state`, `allowNonRestoredState`); false by
    /// default.
    pub fn allow_non_restored_state(&self) -> Result<bool, ConfigError> {
        self.flag(keys::STATE_RECOVERY_IGNORE_UNCLAIMED)
    }

    /// Who owns the restored snapshot (`execution.state-recovery.claim-mode`); `NO_CLAIM` by
    /// default.
    pub fn claim_mode(&self) -> Result<RecoveryClaimMode, ConfigError> {
        self.choice(keys::STATE_RECOVERY_CLAIM_MODE)
    }

    /// The default savepoint directory (`execution.checkpointing.savepoint-dir`).
    pub fn savepoint_dir(&self) -> Option<PathBuf> {
        self.dir(keys::CHECKPOINTING_SAVEPOINT_DIR)
    }

    /// The job's name (`pipeline.name`).
    pub fn pipeline_name(&self) -> Option<&str> {
        self.get(keys::PIPELINE_NAME)
    }
}

fn invalid(key: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.into(),
        value: value.into(),
        reason,
    }
}

fn count(value: &str) -> Result<u32, String> {
    parse_int(value, 0)
}

fn positive(value: &str) -> Result<u32, String> {
    parse_int(value, 1)
}

fn text(_: &str) -> Result<(), String> {
    Ok(())
}

/// An enum written as one of a few names, compared case-insensitively as Flink does.
trait FlinkEnum: Copy + 'static {
    /// Accepted names and their values; the first name of a value is its canonical one.
    const NAMES: &'static [(&'static str, Self)];
}

fn parse_enum<T: FlinkEnum>(value: &str) -> Result<T, String> {
    let value = value.trim();
    match T::NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value))
    {
        Some((_, found)) => Ok(*found),
        None => {
            let names: Vec<_> = T::NAMES.iter().map(|(name, _)| *name).collect();
            Err(format!(
                "expected one of {} (case-insensitive)",
                names.join(", ")
            ))
        }
    }
}

macro_rules! flink_enum {
    ($ty:ty { $($name:literal => $variant:ident),+ $(,)? }) => {
        impl FlinkEnum for $ty {
            const NAMES: &'static [(&'static str, Self)] = &[$(($name, <$ty>::$variant)),+];
        }
    };
}

flink_enum!(CheckpointingMode { "EXACTLY_ONCE" => ExactlyOnce, "AT_LEAST_ONCE" => AtLeastOnce });
flink_enum!(ExternalizedCheckpointRetention {
    "NO_EXTERNALIZED_CHECKPOINTS" => NoExternalizedCheckpoints,
    "RETAIN_ON_CANCELLATION" => RetainOnCancellation,
    "DELETE_ON_CANCELLATION" => DeleteOnCancellation,
});
flink_enum!(RecoveryClaimMode { "NO_CLAIM" => NoClaim, "CLAIM" => Claim });
flink_enum!(StateBackendKind { "hashmap" => HashMap, "rocksdb" => RocksDb });
flink_enum!(FailoverStrategyKind { "region" => Region, "full" => Full });
flink_enum!(Storage { "jobmanager" => JobManager, "filesystem" => FileSystem });
flink_enum!(StrategyName {
    "none" => NoRestart, "off" => NoRestart, "disable" => NoRestart,
    "fixed-delay" => FixedDelay, "fixeddelay" => FixedDelay,
    "failure-rate" => FailureRate, "failurerate" => FailureRate,
    "exponential-delay" => ExponentialDelay, "exponentialdelay" => ExponentialDelay,
});

/// `execution.checkpointing.storage` by name; the directory is a separate key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    JobManager,
    FileSystem,
}

/// `restart-strategy.type` by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrategyName {
    NoRestart,
    FixedDelay,
    FailureRate,
    ExponentialDelay,
}

/// A value's canonical (first) name.
fn canonical_name<T: FlinkEnum + PartialEq>(value: T) -> &'static str {
    T::NAMES
        .iter()
        .find(|(_, candidate)| *candidate == value)
        .map_or("", |(name, _)| name)
}

impl StrategyName {
    fn name(self) -> &'static str {
        canonical_name(self)
    }
}

macro_rules! display_flink_name {
    ($($ty:ty),+) => {$(
        impl fmt::Display for $ty {
            /// Writes the value as Flink spells it, e.g. `hashmap`, `region`, `NO_CLAIM`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(canonical_name(*self))
            }
        }
    )+};
}

display_flink_name!(StateBackendKind, FailoverStrategyKind, RecoveryClaimMode);

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("expected `true` or `false`".into()),
    }
}

/// An integer from `min` to `i32::MAX` (Flink's options are Java `int`s).
fn parse_int(value: &str, min: i64) -> Result<u32, String> {
    let range = || format!("expected an integer from {min} to {}", i32::MAX);
    let number: i64 = value.trim().parse().map_err(|_| range())?;
    if number < min || number > i64::from(i32::MAX) {
        return Err(range());
    }
    u32::try_from(number).map_err(|_| range())
}

fn parse_float(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err("expected a finite number".into()),
    }
}

/// `-1` (derive it) or 1 to 32768, Flink's `UPPER_BOUND_MAX_PARALLELISM`.
fn parse_max_parallelism(value: &str) -> Result<Option<u32>, String> {
    let reason = || "expected -1 or an integer from 1 to 32768".to_string();
    match value.trim().parse::<i64>().map_err(|_| reason())? {
        -1 => Ok(None),
        n @ 1..=32768 => u32::try_from(n).map(Some).map_err(|_| reason()),
        _ => Err(reason()),
    }
}

/// A local directory: a path, or a `file://` URI. Other schemes are refused.
fn parse_dir(value: &str) -> Result<PathBuf, String> {
    let value = value.trim();
    let path = match value.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => rest,
        None if value.starts_with("file:") => &value["file:".len()..],
        Some((scheme, _)) => {
            return Err(format!(
                "weir stores snapshots on the local file system; `{scheme}://` is not supported"
            ))
        }
        None => value,
    };
    if path.is_empty() {
        return Err("expected a directory".into());
    }
    Ok(PathBuf::from(path))
}

/// A duration as Flink writes it (see the module docs).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.trim_start_matches(['+', '-']).starts_with(['P', 'p']) {
        return parse_iso_duration(text);
    }
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return Err(
            "expected a whole number and a unit (`10 s`, `500 ms`) or ISO-8601 (`PT10S`)".into(),
        );
    }
    let amount: i128 = text[..digits].parse().map_err(|_| "number too large")?;
    let unit = text[digits..].trim().to_lowercase();
    let nanos_per_unit: i128 = match unit.as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "s" | "sec" | "secs" | "second" | "seconds" => NANOS_PER_SECOND,
        "min" | "m" | "minute" | "minutes" => 60 * NANOS_PER_SECOND,
        "h" | "hour" | "hours" => 3_600 * NANOS_PER_SECOND,
        "d" | "day" | "days" => 86_400 * NANOS_PER_SECOND,
        other => {
            return Err(format!(
                "unknown time unit `{other}`; expected d, h, min, s, ms, µs or ns \
                 (or day, hour, minute, second, milli, micro, nano, optionally plural)"
            ))
        }
    };
    let nanos = amount
        .checked_mul(nanos_per_unit)
        .ok_or("duration too large")?;
    duration_from_nanos(nanos)
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;

fn duration_from_nanos(nanos: i128) -> Result<Duration, String> {
    if nanos < 0 {
        return Err("negative durations are not allowed".into());
    }
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).map_err(|_| "duration too large")?;
    let subsec = u32::try_from(nanos % NANOS_PER_SECOND).map_err(|_| "duration too large")?;
    Ok(Duration::new(seconds, subsec))
}

/// An ISO-8601 duration as Java's `Duration.parse` reads it: `[±]P[±nD][T[±nH][±nM][±n[.f]S]]`,
/// case-insensitive, at least one part. A negative total is refused.
fn parse_iso_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("not an ISO-8601 duration (`PT10M`, `PT1.5S`, `P1DT2H`): `{text}`");
    let upper = text.to_ascii_uppercase();
    let (negative, rest) = split_sign(&upper);
    let mut rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (mut total, mut rank, mut in_time, mut parts) = (0i128, 0, false, 0);
    while !rest.is_empty() {
        if let Some(after_t) = rest.strip_prefix('T').filter(|_| !in_time) {
            (in_time, rest) = (true, after_t);
            if rest.is_empty() {
                return Err(bad());
            }
            continue;
        }
        let (part_negative, after_sign) = split_sign(rest);
        let digits = after_sign
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_sign.len());
        let whole: i128 = after_sign[..digits].parse().map_err(|_| bad())?;
        let mut after = &after_sign[digits..];
        let mut fraction = 0i128;
        if let Some(frac) = after.strip_prefix(['.', ',']) {
            let len = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            if len > 9 || !frac[len..].starts_with('S') {
                return Err(bad());
            }
            let padded = format!("{:0<9}", &frac[..len]);
            fraction = padded.parse().map_err(|_| bad())?;
            after = &frac[len..];
        }
        let (unit_rank, unit_nanos) = match (after.chars().next(), in_time) {
            (Some('D'), false) => (1, 86_400 * NANOS_PER_SECOND),
            (Some('H'), true) => (2, 3_600 * NANOS_PER_SECOND),
            (Some('M'), true) => (3, 60 * NANOS_PER_SECOND),
            (Some('S'), true) => (4, NANOS_PER_SECOND),
            _ => return Err(bad()),
        };
        if unit_rank <= rank || whole > i128::from(u64::MAX) {
            return Err(bad());
        }
        let part = whole * unit_nanos + fraction;
        total += if part_negative { -part } else { part };
        (rank, parts, rest) = (unit_rank, parts + 1, &after[1..]);
    }
    if parts == 0 {
        return Err(bad());
    }
    duration_from_nanos(if negative { -total } else { total })
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    }
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// Splits a flat YAML line into key and value; `None` for a blank or comment line. `nested`
/// says whether the next content line is indented.
fn parse_line(line: &str, nested: bool) -> Result<Option<(&str, &str)>, ConfigError> {
    let syntax = |kind| ConfigError::Syntax {
        text: line.into(),
        kind,
    };
    let line_text = line.trim_start_matches('\u{feff}');
    if is_blank_or_comment(line_text) {
        return Ok(None);
    }
    if line_text.starts_with([' ', '\t']) {
        return Err(syntax(SyntaxErrorKind::NestedBlock));
    }
    let separator = line_text
        .char_indices()
        .find(|&(i, c)| {
            c == ':'
                && line_text[i + 1..]
                    .chars()
                    .next()
                    .map_or(true, char::is_whitespace)
        })
        .map(|(i, _)| i)
        .ok_or_else(|| syntax(SyntaxErrorKind::MissingSeparator))?;
    let key = line_text[..separator].trim();
    if key.is_empty() {
        return Err(syntax(SyntaxErrorKind::EmptyKey));
    }
    let rest = line_text[separator + 1..].trim();
    let value = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &rest[1..];
            let end = inner
                .find(quote)
                .ok_or_else(|| syntax(SyntaxErrorKind::BadQuote))?;
            if !is_blank_or_comment(&inner[end + 1..]) {
                return Err(syntax(SyntaxErrorKind::BadQuote));
            }
            &inner[..end]
        }
        _ => {
            let comment = rest.find(" #").or_else(|| rest.find("\t#"));
            let value = comment.map_or(rest, |at| &rest[..at]).trim();
            if value.is_empty() || value.starts_with('#') {
                let kind = if nested {
                    SyntaxErrorKind::NestedBlock
                } else {
                    SyntaxErrorKind::MissingValue
                };
                return Err(syntax(kind));
            }
            value
        }
    };
    Ok(Some((key, value)))
}
