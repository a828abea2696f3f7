//! The restart strategy a [`Configuration`] holds, applied over Flink's defaults or over a
//! strategy set in code.

use super::{ConfigError, Configuration};
use crate::config::keys::keys;
use crate::config::kinds::StrategyName;
use crate::config::values::parse_enum;
use crate::recovery::restart_strategy::{RestartStrategyConfig, RestartStrategyError};

impl Configuration {
    /// The restart strategy named by `restart-strategy.type`, its parameters' defaults filled in
    /// and validated; `None` when the type is unset (see
    /// [`effective_restart_strategy`](Self::effective_restart_strategy)).
    pub fn restart_strategy(&self) -> Result<Option<RestartStrategyConfig>, ConfigError> {
        self.restart_strategy_over(None)
    }

    /// `base` (a strategy set in code) with the restart settings this configuration holds
    /// applied over it. The strategy is the one `restart-strategy.type` names, or `base`'s when
    /// the type is unset; each parameter is read from its key, or kept from `base` when `base`
    /// is the same strategy, or Flink's default. `None` when neither names a strategy.
    pub fn restart_strategy_over(
        &self,
        base: Option<&RestartStrategyConfig>,
    ) -> Result<Option<RestartStrategyConfig>, ConfigError> {
        let named = self.read(keys::RESTART_STRATEGY, parse_enum::<StrategyName>)?;
        let Some(strategy) = named.or_else(|| base.map(name_of)) else {
            return Ok(None);
        };
        let base = base.filter(|base| name_of(base) == strategy);
        self.build_restart_strategy(strategy, base).map(Some)
    }

    /// The restart strategy in effect: the configured one, or, when `restart-strategy.type` is
    /// unset, Flink's default: exponential delay (its keys applied) when checkpointing is on, no
    /// restart otherwise.
    pub fn effective_restart_strategy(&self) -> Result<RestartStrategyConfig, ConfigError> {
        match self.restart_strategy()? {
            Some(config) => Ok(config),
            None if self.checkpoint_config()?.is_enabled() => {
                self.build_restart_strategy(StrategyName::ExponentialDelay, None)
            }
            None => Ok(RestartStrategyConfig::NoRestart),
        }
    }

    /// `strategy` with its parameters read from their keys, else from `base` (a strategy of the
    /// same kind), else Flink's defaults; validated.
    fn build_restart_strategy(
        &self,
        strategy: StrategyName,
        base: Option<&RestartStrategyConfig>,
    ) -> Result<RestartStrategyConfig, ConfigError> {
        let start = base.cloned().unwrap_or_else(|| default_of(strategy));
        let config = match start {
            RestartStrategyConfig::NoRestart => RestartStrategyConfig::NoRestart,
            RestartStrategyConfig::FixedDelay { attempts, delay } => {
                RestartStrategyConfig::FixedDelay {
                    attempts: self.count(keys::FIXED_DELAY_ATTEMPTS, attempts)?,
                    delay: self.duration(keys::FIXED_DELAY_DELAY, delay)?,
                }
            }
            RestartStrategyConfig::FailureRate {
                max_failures_per_interval,
                failure_rate_interval,
                delay,
            } => RestartStrategyConfig::FailureRate {
                max_failures_per_interval: self
                    .count(keys::FAILURE_RATE_MAX_FAILURES, max_failures_per_interval)?,
                failure_rate_interval: self
                    .duration(keys::FAILURE_RATE_INTERVAL, failure_rate_interval)?,
                delay: self.duration(keys::FAILURE_RATE_DELAY, delay)?,
            },
            RestartStrategyConfig::ExponentialDelay {
                initial_backoff,
                max_backoff,
                backoff_multiplier,
                reset_backoff_threshold,
                jitter_factor,
                attempts_before_reset_backoff,
            } => RestartStrategyConfig::ExponentialDelay {
                initial_backoff: self
                    .duration(keys::EXPONENTIAL_INITIAL_BACKOFF, initial_backoff)?,
                max_backoff: self.duration(keys::EXPONENTIAL_MAX_BACKOFF, max_backoff)?,
                backoff_multiplier: self.float(keys::EXPONENTIAL_MULTIPLIER, backoff_multiplier)?,
                reset_backoff_threshold: self
                    .duration(keys::EXPONENTIAL_RESET_THRESHOLD, reset_backoff_threshold)?,
                jitter_factor: self.float(keys::EXPONENTIAL_JITTER, jitter_factor)?,
                attempts_before_reset_backoff: self
                    .count(keys::EXPONENTIAL_ATTEMPTS, attempts_before_reset_backoff)?,
            },
        };
        config.validate().map_err(|source| {
            let key = parameter_key(&source);
            let error = ConfigError::RestartStrategy {
                strategy: strategy.name(),
                source,
            };
            self.locate(key, error)
        })?;
        Ok(config)
    }
}

/// The name of `config`'s strategy.
fn name_of(config: &RestartStrategyConfig) -> StrategyName {
    match config {
        RestartStrategyConfig::NoRestart => StrategyName::NoRestart,
        RestartStrategyConfig::FixedDelay { .. } => StrategyName::FixedDelay,
        RestartStrategyConfig::FailureRate { .. } => StrategyName::FailureRate,
        RestartStrategyConfig::ExponentialDelay { .. } => StrategyName::ExponentialDelay,
    }
}

/// `strategy` with Flink's default parameters.
fn default_of(strategy: StrategyName) -> RestartStrategyConfig {
    match strategy {
        StrategyName::NoRestart => RestartStrategyConfig::NoRestart,
        StrategyName::FixedDelay => RestartStrategyConfig::fixed_delay_default(),
        StrategyName::FailureRate => RestartStrategyConfig::failure_rate_default(),
        StrategyName::ExponentialDelay => RestartStrategyConfig::exponential_delay_default(),
    }
}

/// The key of the parameter a validation error is about.
fn parameter_key(error: &RestartStrategyError) -> &'static str {
    match error {
        RestartStrategyError::CountTooSmall { key, .. }
        | RestartStrategyError::DurationTooShort { key, .. }
        | RestartStrategyError::InitialBackoffAboveMax { key, .. }
        | RestartStrategyError::MultiplierNotAboveOne { key, .. }
        | RestartStrategyError::JitterOutOfRange { key, .. } => key,
    }
}
