//! Flink-style string settings: `key: value` pairs, read from code or a flat YAML file, turned
//! into validated typed settings.
//!
//! ```
//! use std::time::Duration;
//! use weir_actors::config::configuration::Configuration;
//!
//! let config = Configuration::from_yaml_str(
//!     "# checkpoint every ten seconds\n\
//!      execution.checkpointing.interval: 10 s\n\
//!      restart-strategy.type: fixed-delay\n",
//! )?;
//! assert_eq!(config.checkpoint_config()?.interval, Some(Duration::from_secs(10)));
//! assert!(config.restart_strategy()?.is_some());
//! # Ok::<(), weir_actors::config::configuration::ConfigError>(())
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
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::checkpoint_config::{
    CheckpointConfig, CheckpointStorageConfig, DEFAULT_CHECKPOINT_TIMEOUT,
};
use crate::config::keys::{lookup, KeySpec, KEYS};
use crate::config::values::{
    count, parse_bool, parse_dir, parse_duration, parse_enum, parse_float, parse_max_parallelism,
    positive, FlinkEnum, Storage, StrategyName,
};
use crate::recovery::restart_strategy::RestartStrategyConfig;

pub use crate::config::error::{ConfigError, SyntaxErrorKind};
pub use crate::config::keys::keys;

#[cfg(test)]
#[path = "configuration_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "test_support.rs"]
pub(crate) mod test_support;

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
                    .is_none_or(char::is_whitespace)
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
