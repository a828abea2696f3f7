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
//!   [`RestartStrategyConfig::validate`]; an error about a key read from a file names the file
//!   and the line the key was set on.
//! - **No setting without effect**: a key whose feature weir does not have yet (unaligned
//!   checkpoints) is accepted at its default only; any other
//!   value is refused by [`Configuration::set`] with [`ConfigError::Unsupported`].
//! - **Only what is set is applied**: [`Configuration::checkpoint_config_over`] and
//!   [`Configuration::restart_strategy_over`] change only the settings whose keys are present.
//! - **Self-describing**: [`Configuration::describe`] gives each key's default (as text), its
//!   deprecated names and what it sets; an unknown key's error suggests the key it most likely
//!   means.
//!
//! # Value syntax
//! - durations as Flink's `TimeUtils` writes them: a whole number and a unit (`10 s`, `10s`,
//!   `1 min`, `500 ms`, `1 h`, `2 d`; units `ns`, `µs`, `ms`, `s`, `min` or `m`, `h`, `d` and the
//!   long forms `nano`, `micro`, `milli`, `sec`, `second`, `minute`, `hour`, `day`, with or without a
//!   trailing `s`), a plain number of milliseconds, or ISO-8601 (`PT10M`, `PT1.5S`, `PT1H30M`);
//!   a decimal in the unit form (`1.5 s`) is refused, as Flink refuses it, and the error names
//!   the whole-number and ISO-8601 forms of the same duration (`1500 ms`, `PT1.5S`);
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
//! | key | value | default | older names |
//! | --- | --- | --- | --- |
//! | `execution.checkpointing.interval` | duration | none: checkpointing off | |
//! | `execution.checkpointing.mode` | `EXACTLY_ONCE`, `AT_LEAST_ONCE` | `EXACTLY_ONCE` | |
//! | `execution.checkpointing.timeout` | duration | 10 min | |
//! | `execution.checkpointing.min-pause` | duration | 0 | |
//! | `execution.checkpointing.max-concurrent-checkpoints` | integer | 1 | |
//! | `execution.checkpointing.tolerable-failed-checkpoints` | integer | 0 | |
//! | `execution.checkpointing.externalized-checkpoint-retention` | `NO_EXTERNALIZED_CHECKPOINTS`, `RETAIN_ON_CANCELLATION`, `DELETE_ON_CANCELLATION` | `NO_EXTERNALIZED_CHECKPOINTS` | |
//! | `execution.checkpointing.num-retained` | integer | 1 | `state.checkpoints.num-retained` |
//! | `execution.checkpointing.dir` | directory | none | `state.checkpoints.dir`, `state.backend.fs.checkpointdir` |
//! | `execution.checkpointing.savepoint-dir` | directory | none | `state.savepoints.dir`, `savepoints.state.backend.fs.dir` |
//! | `execution.checkpointing.storage` | `jobmanager`, `filesystem` | `filesystem` if a dir is set, else none | `state.checkpoint-storage` |
//! | `execution.checkpointing.incremental` | boolean | false | `state.backend.incremental` |
//! | `execution.checkpointing.unaligned.enabled` | boolean (only `false` until weir has unaligned checkpoints) | false | `execution.checkpointing.unaligned` |
//! | `execution.checkpointing.aligned-checkpoint-timeout` | duration (only 0 until weir has unaligned checkpoints) | 0 | `execution.checkpointing.alignment-timeout` |
//! | `execution.state-recovery.path` | directory | none | `execution.savepoint.path` |
//! | `execution.state-recovery.ignore-unclaimed-state` | boolean | false | `execution.savepoint.ignore-unclaimed-state` |
//! | `execution.state-recovery.claim-mode` | `NO_CLAIM`, `CLAIM` | `NO_CLAIM` | `execution.savepoint-restore-mode` |
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::flat_yaml;
use crate::config::keys::{lookup, suggestion, Check, KeySpec, KEYS};
use crate::config::kinds::FlinkEnum;
use crate::config::values::{
    count, parse_bool, parse_dir, parse_duration, parse_enum, parse_float, parse_max_parallelism,
    positive,
};

pub use crate::config::error::{ConfigError, SyntaxErrorKind};
pub use crate::config::keys::{keys, KeyDescription};
pub use crate::config::kinds::{FailoverStrategyKind, RecoveryClaimMode, StateBackendKind};

mod checkpointing;
mod restart;

#[cfg(test)]
#[path = "configuration_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "configuration_over_tests.rs"]
mod over_tests;

#[cfg(test)]
#[path = "test_support.rs"]
pub(crate) mod test_support;

/// Where a value was read from: a line of a file or string.
#[derive(Debug, Clone)]
struct Origin {
    file: Option<PathBuf>,
    line: usize,
}

/// Flink-style string settings. Holds only known keys with values that parse; see the
/// [module docs](self) for the keys, the value syntax and the file syntax. Two configurations
/// are equal when they hold the same values, wherever the values were read from.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    /// Values by the name they were set under (a key or one of its deprecated names).
    values: BTreeMap<&'static str, String>,
    /// The line each value read from a file or string was on, by the same names.
    origins: BTreeMap<&'static str, Origin>,
}

impl PartialEq for Configuration {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl Eq for Configuration {}

impl Configuration {
    /// An empty configuration: every setting at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key weir knows, by its current name.
    pub fn known_keys() -> impl Iterator<Item = &'static str> {
        KEYS.iter().map(KeySpec::key)
    }

    /// What weir knows about every key: name, default as text, deprecated names, description.
    pub fn key_descriptions() -> impl Iterator<Item = KeyDescription> {
        KEYS.iter().map(KeySpec::describe)
    }

    /// The description of `key`, given by its current name or a deprecated one; `None` if weir
    /// does not know it.
    pub fn describe(key: &str) -> Option<KeyDescription> {
        lookup(key).map(|(spec, _)| spec.describe())
    }

    /// The current name for a deprecated key, or `None` if `key` is not a deprecated name.
    pub fn replacement_for(key: &str) -> Option<&'static str> {
        lookup(key).and_then(|(spec, old)| old.map(|_| spec.key()))
    }

    /// Sets `key` to `value` (surrounding whitespace trimmed). A deprecated name is accepted with a
    /// warning; a value set under the current name takes precedence over one set under a
    /// deprecated name, as in Flink. An unknown key is an error suggesting the key it most
    /// likely means; a value other than the default for a key whose feature weir lacks is
    /// [`ConfigError::Unsupported`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self, ConfigError> {
        let (spec, old) = lookup(key).ok_or_else(|| ConfigError::UnknownKey {
            key: key.into(),
            suggestion: suggestion(key),
        })?;
        let value = value.trim();
        match spec
            .check(value)
            .map_err(|reason| invalid(key, value, reason))?
        {
            Check::Accepted => {}
            Check::Unsupported(reason) => {
                return Err(ConfigError::Unsupported {
                    key: key.into(),
                    value: value.into(),
                    reason,
                })
            }
        }
        if let Some(old) = old {
            tracing::warn!(
                deprecated = old,
                replacement = spec.key(),
                "configuration key `{old}` is deprecated; use `{}`",
                spec.key()
            );
        }
        let name = old.unwrap_or(spec.key());
        self.values.insert(name, value.to_owned());
        self.origins.remove(name);
        Ok(self)
    }

    /// The value in effect for `key` (or for the key a deprecated name maps to); `None` if unset
    /// or unknown.
    pub fn get(&self, key: &str) -> Option<&str> {
        let (spec, _) = lookup(key)?;
        self.raw(spec).map(|(_, value)| value)
    }

    /// Whether `key` (under its current name or a deprecated one) is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Removes `key` under its current and deprecated names; returns the value that was in effect.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let (spec, _) = lookup(key)?;
        let removed: Vec<_> = spec
            .names()
            .filter_map(|name| {
                self.origins.remove(name);
                self.values.remove(name)
            })
            .collect();
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
        let mut seen = BTreeMap::new();
        for (line, setting) in flat_yaml::settings(text) {
            let origin = Origin {
                file: file.map(Path::to_path_buf),
                line,
            };
            let at = |source| origin.locate(source);
            let (key, value) = setting.map_err(at)?;
            if let Some(first) = seen.insert(key, line) {
                tracing::warn!(
                    key,
                    line,
                    first,
                    "configuration key set twice; the later value wins"
                );
            }
            config.set(key, value).map_err(at)?;
            if let Some((spec, old)) = lookup(key) {
                config.origins.insert(old.unwrap_or(spec.key()), origin);
            }
        }
        Ok(config)
    }

    /// The value in effect for a spec, with the name it was set under.
    fn raw(&self, spec: &KeySpec) -> Option<(&'static str, &str)> {
        spec.names()
            .find_map(|name| Some((name, self.values.get(name)?.as_str())))
    }

    /// `error`, placed at the line `key` (the name in effect for it) was read from, if it was
    /// read from a file or string.
    fn locate(&self, key: &str, error: ConfigError) -> ConfigError {
        let origin = lookup(key)
            .and_then(|(spec, _)| self.raw(spec))
            .and_then(|(name, _)| self.origins.get(name));
        match origin {
            Some(origin) => origin.locate(error),
            None => error,
        }
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
            Some((name, value)) => parse(value)
                .map(Some)
                .map_err(|r| self.locate(key, invalid(name, value, r))),
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

    fn flag(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        Ok(self.read(key, parse_bool)?.unwrap_or(default))
    }

    fn choice<T: FlinkEnum + Default>(&self, key: &'static str) -> Result<T, ConfigError> {
        Ok(self.read(key, parse_enum::<T>)?.unwrap_or_default())
    }

    fn dir(&self, key: &'static str) -> Option<PathBuf> {
        self.read(key, parse_dir).ok().flatten()
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
        self.flag(keys::STATE_RECOVERY_IGNORE_UNCLAIMED, false)
    }

    /// Who owns the restored snapshot (`execution.state-recovery.claim-mode`): `NO_CLAIM` (the
    /// default: the job never deletes it) or `CLAIM` (the job disposes of it once subsumed).
    pub fn claim_mode(&self) -> Result<RecoveryClaimMode, ConfigError> {
        self.choice(keys::STATE_RECOVERY_CLAIM_MODE)
    }

    /// The default savepoint directory (`execution.checkpointing.savepoint-dir`), if set.
    pub fn savepoint_dir(&self) -> Option<PathBuf> {
        self.dir(keys::CHECKPOINTING_SAVEPOINT_DIR)
    }

    /// The job's name (`pipeline.name`).
    pub fn pipeline_name(&self) -> Option<&str> {
        self.get(keys::PIPELINE_NAME)
    }
}

impl Origin {
    /// `error`, placed at this line.
    fn locate(&self, error: ConfigError) -> ConfigError {
        ConfigError::AtLine {
            file: self.file.clone(),
            line: self.line,
            source: Box::new(error),
        }
    }
}

fn invalid(key: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.into(),
        value: value.into(),
        reason,
    }
}
