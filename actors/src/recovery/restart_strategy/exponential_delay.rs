//! The exponential-delay restart strategy: [`ExponentialDelayOptions`] (Flink's
//! `restart-strategy.exponential-delay.*` keys) and [`ExponentialDelayStrategy`]. Both are
//! re-exported from [`restart_strategy`](crate::recovery::restart_strategy), whose module docs describe how
//! strategies are used.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::recovery::restart_strategy::{
    check_count, check_duration, RestartBackoffTimeStrategy, RestartStrategyConfig,
    RestartStrategyError,
};
use crate::splitmix64::SplitMix64;

const EXPONENTIAL_INITIAL_BACKOFF: &str = "restart-strategy.exponential-delay.initial-backoff";
const EXPONENTIAL_MAX_BACKOFF: &str = "restart-strategy.exponential-delay.max-backoff";
const EXPONENTIAL_MULTIPLIER: &str = "restart-strategy.exponential-delay.backoff-multiplier";
const EXPONENTIAL_RESET_THRESHOLD: &str =
    "restart-strategy.exponential-delay.reset-backoff-threshold";
const EXPONENTIAL_JITTER: &str = "restart-strategy.exponential-delay.jitter-factor";
const EXPONENTIAL_ATTEMPTS: &str =
    "restart-strategy.exponential-delay.attempts-before-reset-backoff";

/// The parameters of [`ExponentialDelayStrategy`], Flink's
/// `restart-strategy.exponential-delay.*` keys.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExponentialDelayOptions {
    /// The first backoff, and the lower bound of every backoff; at least 1 ms.
    pub initial_backoff: Duration,
    /// The upper bound of every backoff; at least 1 ms and at least `initial_backoff`.
    pub max_backoff: Duration,
    /// The factor applied per attempt; greater than 1.
    pub backoff_multiplier: f64,
    /// A failure this long after the scheduled restart resets the attempt count; at least 1 ms.
    pub reset_backoff_threshold: Duration,
    /// The jitter as a fraction of the base backoff, in `[0, 1]`.
    pub jitter_factor: f64,
    /// Restarts allowed before the job fails (counted since the last reset); at least 1.
    pub attempts_before_reset_backoff: u32,
}

impl Default for ExponentialDelayOptions {
    /// Flink 2.3's defaults: initial 1 s, max 1 min, multiplier 1.5, reset threshold 1 h, jitter
    /// 0.1, attempts 2147483647.
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            backoff_multiplier: 1.5,
            reset_backoff_threshold: Duration::from_secs(3600),
            jitter_factor: 0.1,
            attempts_before_reset_backoff: 2_147_483_647,
        }
    }
}

impl ExponentialDelayOptions {
    /// Checks Flink's rules, in this order: initial ≥ 1 ms, max ≥ 1 ms, initial ≤ max,
    /// multiplier > 1, threshold ≥ 1 ms, 0 ≤ jitter ≤ 1, attempts ≥ 1. NaN fails its rule.
    pub fn validate(&self) -> Result<(), RestartStrategyError> {
        check_duration(EXPONENTIAL_INITIAL_BACKOFF, self.initial_backoff)?;
        check_duration(EXPONENTIAL_MAX_BACKOFF, self.max_backoff)?;
        if self.initial_backoff > self.max_backoff {
            return Err(RestartStrategyError::InitialBackoffAboveMax {
                key: EXPONENTIAL_INITIAL_BACKOFF,
                value: self.initial_backoff,
                max_key: EXPONENTIAL_MAX_BACKOFF,
                max: self.max_backoff,
            });
        }
        if self.backoff_multiplier.is_nan() || self.backoff_multiplier <= 1.0 {
            return Err(RestartStrategyError::MultiplierNotAboveOne {
                key: EXPONENTIAL_MULTIPLIER,
                value: self.backoff_multiplier,
            });
        }
        check_duration(EXPONENTIAL_RESET_THRESHOLD, self.reset_backoff_threshold)?;
        if !(0.0..=1.0).contains(&self.jitter_factor) {
            return Err(RestartStrategyError::JitterOutOfRange {
                key: EXPONENTIAL_JITTER,
                value: self.jitter_factor,
            });
        }
        check_count(EXPONENTIAL_ATTEMPTS, self.attempts_before_reset_backoff)
    }
}

impl From<ExponentialDelayOptions> for RestartStrategyConfig {
    fn from(options: ExponentialDelayOptions) -> Self {
        Self::ExponentialDelay {
            initial_backoff: options.initial_backoff,
            max_backoff: options.max_backoff,
            backoff_multiplier: options.backoff_multiplier,
            reset_backoff_threshold: options.reset_backoff_threshold,
            jitter_factor: options.jitter_factor,
            attempts_before_reset_backoff: options.attempts_before_reset_backoff,
        }
    }
}

/// Exponential delay, all times in whole milliseconds. State: `attempt = 0`, no restart scheduled.
/// On a failure at `now`:
///
/// 1. if `now <= next_restart`, the failure joins the restart already scheduled and is not
///    counted (`notify_failure` returns `false`);
/// 2. if `now - next_restart >= reset_threshold` (measured from the scheduled restart, not the
///    previous failure), `attempt = 0`;
/// 3. `base = trunc(initial * multiplier^attempt)`, saturating;
/// 4. `offset = trunc(base * jitter_factor)`; `jitter` is a uniform integer in `[-offset, offset]`
///    (0 when the factor is 0);
/// 5. `backoff = max(initial, min(base + jitter, max_backoff))`;
/// 6. `next_restart = now + backoff`; `attempt += 1`.
///
/// `can_restart = attempt <= attempts_before_reset_backoff`;
/// `backoff_time(now) = max(0, next_restart - now)`, so a merged failure waits only for the time
/// left, and two failures at the same instant are one restart.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialDelayStrategy {
    options: ExponentialDelayOptions,
    initial_ms: u64,
    max_ms: u64,
    attempt: u64,
    next_restart: Option<Duration>,
    rng: SplitMix64,
}

impl ExponentialDelayStrategy {
    /// A strategy with these parameters, drawing its jitter from a [`SplitMix64`] seeded with
    /// `seed`. Does not validate the options.
    pub fn new(options: &ExponentialDelayOptions, seed: u64) -> Self {
        Self {
            options: *options,
            initial_ms: whole_millis(options.initial_backoff),
            max_ms: whole_millis(options.max_backoff),
            attempt: 0,
            next_restart: None,
            rng: SplitMix64::new(seed),
        }
    }

    fn next_backoff_ms(&mut self) -> u64 {
        // Float-to-integer `as` casts saturate (and map NaN to 0), which is the truncation wanted.
        let power = self.options.backoff_multiplier.powf(self.attempt as f64);
        let base = (self.initial_ms as f64 * power) as u64;
        let jitter_factor = self.options.jitter_factor;
        let jitter = if jitter_factor > 0.0 {
            let offset = ((base as f64 * jitter_factor) as u64).min(i64::MAX as u64) as i64;
            self.rng.next_in_range(-offset, offset)
        } else {
            0
        };
        let jittered =
            (i128::from(base) + i128::from(jitter)).clamp(0, i128::from(u64::MAX)) as u64;
        jittered.min(self.max_ms).max(self.initial_ms)
    }
}

fn whole_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RestartBackoffTimeStrategy for ExponentialDelayStrategy {
    fn notify_failure(&mut self, now: Duration) -> bool {
        if let Some(next_restart) = self.next_restart {
            if now <= next_restart {
                return false;
            }
            if now - next_restart >= self.options.reset_backoff_threshold {
                self.attempt = 0;
            }
        }
        let backoff = Duration::from_millis(self.next_backoff_ms());
        self.next_restart = Some(now.saturating_add(backoff));
        self.attempt = self.attempt.saturating_add(1);
        true
    }

    fn can_restart(&self) -> bool {
        self.attempt <= u64::from(self.options.attempts_before_reset_backoff)
    }

    fn backoff_time(&self, now: Duration) -> Duration {
        self.next_restart.map_or(Duration::ZERO, |next_restart| {
            next_restart.saturating_sub(now)
        })
    }

    fn describe(&self) -> String {
        format!(
            "ExponentialDelayRestartBackoffTimeStrategy({:?}, attempt={})",
            self.options, self.attempt
        )
    }
}

#[cfg(test)]
#[path = "exponential_delay_tests.rs"]
mod tests;
