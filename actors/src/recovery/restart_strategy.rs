//! Restart strategies: whether a failed job may restart, and after how long.
//!
//! These are Flink's `RestartBackoffTimeStrategy` implementations as plain, pure structs: no actor,
//! no timer, no clock, no global randomness. The caller passes the current time (`now`, a
//! [`Duration`] since an epoch of its choosing) to every time-dependent call, and the exponential
//! strategy draws its jitter from a seeded [`SplitMix64`].
//!
//! # How the failure handler uses a strategy
//!
//! When a task fails with a recoverable error, the handler records the failure with
//! [`RestartBackoffTimeStrategy::notify_failure`], then asks
//! [`RestartBackoffTimeStrategy::can_restart`]. If it may, it restarts after
//! [`RestartBackoffTimeStrategy::backoff_time`]; otherwise it fails the job with "recovery is
//! suppressed by [`describe`](RestartBackoffTimeStrategy::describe)".
//!
//! ```
//! use std::time::Duration;
//! use weir_actors::recovery::restart_strategy::RestartStrategyConfig;
//!
//! let config = RestartStrategyConfig::FixedDelay { attempts: 2, delay: Duration::from_secs(1) };
//! config.validate().expect("valid configuration");
//! let mut strategy = config.create(42);
//! let mut decisions = Vec::new();
//! for failure in 0..3u64 {
//!     let now = Duration::from_secs(10 * failure);
//!     strategy.notify_failure(now);
//!     decisions.push(strategy.can_restart().then(|| strategy.backoff_time(now)));
//! }
//! assert_eq!(decisions, [Some(Duration::from_secs(1)), Some(Duration::from_secs(1)), None]);
//! assert!(strategy.describe().starts_with("FixedDelayRestartBackoffTimeStrategy"));
//! ```
//!
//! # Guarantees
//!
//! - **Deterministic**: the same configuration, seed and sequence of `now` values give the same
//!   decisions and backoffs, run after run. No strategy reads the wall clock.
//! - **No panics, no overflow**: all arithmetic saturates; an absurd configuration yields absurd but
//!   well-defined backoffs. [`RestartStrategyConfig::create`] does not validate: call
//!   [`RestartStrategyConfig::validate`] first to reject configurations Flink rejects.
//! - **Flink's numbers**: backoffs match Flink 2.3's strategies driven by a manual clock. Like
//!   Flink, the exponential strategy works in whole milliseconds (a sub-millisecond part of a
//!   configured duration is dropped); unlike Flink, its jitter comes from a seeded [`SplitMix64`].

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod exponential_delay;
pub use crate::splitmix64::SplitMix64;
pub use exponential_delay::{ExponentialDelayOptions, ExponentialDelayStrategy};

const FAILURE_RATE_MAX_FAILURES: &str = "restart-strategy.failure-rate.max-failures-per-interval";
const FAILURE_RATE_INTERVAL: &str = "restart-strategy.failure-rate.failure-rate-interval";

const ONE_MS: Duration = Duration::from_millis(1);

/// A restart strategy configuration that Flink would reject. Each variant names the offending
/// parameter by its Flink configuration key and carries the rejected value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RestartStrategyError {
    /// A count is below its minimum.
    #[error("`{key}` must be at least {min}, got {value}")]
    CountTooSmall {
        /// The Flink configuration key of the parameter.
        key: &'static str,
        /// The rejected value.
        value: u32,
        /// The smallest accepted value.
        min: u32,
    },
    /// A duration is shorter than its minimum.
    #[error("`{key}` must be at least {min:?}, got {value:?}")]
    DurationTooShort {
        /// The Flink configuration key of the parameter.
        key: &'static str,
        /// The rejected value.
        value: Duration,
        /// The shortest accepted value.
        min: Duration,
    },
    /// The exponential strategy's initial backoff exceeds its maximum backoff.
    #[error("`{key}` ({value:?}) must not exceed `{max_key}` ({max:?})")]
    InitialBackoffAboveMax {
        /// The Flink configuration key of the initial backoff.
        key: &'static str,
        /// The rejected initial backoff.
        value: Duration,
        /// The Flink configuration key of the maximum backoff.
        max_key: &'static str,
        /// The configured maximum backoff.
        max: Duration,
    },
    /// The backoff multiplier is not greater than 1 (or is NaN).
    #[error("`{key}` must be greater than 1, got {value}")]
    MultiplierNotAboveOne {
        /// The Flink configuration key of the parameter.
        key: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The jitter factor is outside `[0, 1]` (or is NaN).
    #[error("`{key}` must be between 0 and 1 inclusive, got {value}")]
    JitterOutOfRange {
        /// The Flink configuration key of the parameter.
        key: &'static str,
        /// The rejected value.
        value: f64,
    },
}

/// Which restart strategy a job uses, with its parameters (Flink's `restart-strategy.*` keys).
///
/// The serde representation is the default externally tagged one, so it round-trips through
/// non-self-describing formats such as postcard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RestartStrategyConfig {
    /// Never restart: the first recoverable failure fails the job (`restart-strategy.type: none`).
    NoRestart,
    /// Restart at most `attempts` times, each after `delay`; see [`FixedDelayStrategy`].
    FixedDelay {
        /// `restart-strategy.fixed-delay.attempts` (Flink default 1).
        attempts: u32,
        /// `restart-strategy.fixed-delay.delay` (Flink default 1 s).
        delay: Duration,
    },
    /// Restart unless more than `max_failures_per_interval` failures fall within
    /// `failure_rate_interval`; see [`FailureRateStrategy`].
    FailureRate {
        /// `restart-strategy.failure-rate.max-failures-per-interval` (Flink default 1).
        max_failures_per_interval: u32,
        /// `restart-strategy.failure-rate.failure-rate-interval` (Flink default 1 min).
        failure_rate_interval: Duration,
        /// `restart-strategy.failure-rate.delay` (Flink default 1 s).
        delay: Duration,
    },
    /// Restart with a growing, jittered backoff; see [`ExponentialDelayStrategy`].
    ExponentialDelay {
        /// `restart-strategy.exponential-delay.initial-backoff` (Flink default 1 s).
        initial_backoff: Duration,
        /// `restart-strategy.exponential-delay.max-backoff` (Flink default 1 min).
        max_backoff: Duration,
        /// `restart-strategy.exponential-delay.backoff-multiplier` (Flink default 1.5).
        backoff_multiplier: f64,
        /// `restart-strategy.exponential-delay.reset-backoff-threshold` (Flink default 1 h).
        reset_backoff_threshold: Duration,
        /// `restart-strategy.exponential-delay.jitter-factor` (Flink default 0.1).
        jitter_factor: f64,
        /// `restart-strategy.exponential-delay.attempts-before-reset-backoff` (Flink default
        /// 2147483647).
        attempts_before_reset_backoff: u32,
    },
}

impl RestartStrategyConfig {
    /// Fixed delay with Flink's defaults: 1 attempt, 1 s delay.
    pub fn fixed_delay_default() -> Self {
        Self::FixedDelay {
            attempts: 1,
            delay: Duration::from_secs(1),
        }
    }

    /// Failure rate with Flink's defaults: 1 failure per 1 min interval, 1 s delay.
    pub fn failure_rate_default() -> Self {
        Self::FailureRate {
            max_failures_per_interval: 1,
            failure_rate_interval: Duration::from_secs(60),
            delay: Duration::from_secs(1),
        }
    }

    /// Exponential delay with Flink's current defaults (see [`ExponentialDelayOptions::default`]).
    pub fn exponential_delay_default() -> Self {
        ExponentialDelayOptions::default().into()
    }

    /// The strategy Flink uses when `restart-strategy.type` is not set: exponential delay with its
    /// defaults when checkpointing is enabled, no restart otherwise.
    pub fn default_for(checkpointing_enabled: bool) -> Self {
        if checkpointing_enabled {
            Self::exponential_delay_default()
        } else {
            Self::NoRestart
        }
    }

    /// The strategy's name as Flink's `restart-strategy.type` spells it: `none`, `fixed-delay`,
    /// `failure-rate` or `exponential-delay`.
    pub fn flink_name(&self) -> &'static str {
        match self {
            Self::NoRestart => "none",
            Self::FixedDelay { .. } => "fixed-delay",
            Self::FailureRate { .. } => "failure-rate",
            Self::ExponentialDelay { .. } => "exponential-delay",
        }
    }

    /// Checks the parameters against Flink's rules: fixed delay accepts any attempts and delay;
    /// failure rate needs at least 1 failure and an interval of at least 1 ms; exponential delay
    /// as in [`ExponentialDelayOptions::validate`].
    pub fn validate(&self) -> Result<(), RestartStrategyError> {
        if let Some(options) = self.exponential_options() {
            return options.validate();
        }
        match *self {
            Self::FailureRate {
                max_failures_per_interval: max,
                failure_rate_interval: interval,
                ..
            } => check_count(FAILURE_RATE_MAX_FAILURES, max)
                .and_then(|()| check_duration(FAILURE_RATE_INTERVAL, interval)),
            _ => Ok(()),
        }
    }

    /// Builds a fresh strategy (no failures recorded) for this configuration. `seed` feeds the
    /// exponential strategy's jitter and is ignored by the others. Does not validate.
    pub fn create(&self, seed: u64) -> Box<dyn RestartBackoffTimeStrategy + Send> {
        if let Some(options) = self.exponential_options() {
            return Box::new(ExponentialDelayStrategy::new(&options, seed));
        }
        match *self {
            Self::FixedDelay { attempts, delay } => {
                Box::new(FixedDelayStrategy::new(attempts, delay))
            }
            Self::FailureRate {
                max_failures_per_interval: max,
                failure_rate_interval: interval,
                delay,
            } => Box::new(FailureRateStrategy::new(max, interval, delay)),
            _ => Box::new(NoRestartStrategy),
        }
    }

    fn exponential_options(&self) -> Option<ExponentialDelayOptions> {
        match *self {
            Self::ExponentialDelay {
                initial_backoff,
                max_backoff,
                backoff_multiplier,
                reset_backoff_threshold,
                jitter_factor,
                attempts_before_reset_backoff,
            } => Some(ExponentialDelayOptions {
                initial_backoff,
                max_backoff,
                backoff_multiplier,
                reset_backoff_threshold,
                jitter_factor,
                attempts_before_reset_backoff,
            }),
            _ => None,
        }
    }
}

pub(crate) fn check_count(key: &'static str, value: u32) -> Result<(), RestartStrategyError> {
    let error = RestartStrategyError::CountTooSmall { key, value, min: 1 };
    (value >= 1).then_some(()).ok_or(error)
}

pub(crate) fn check_duration(
    key: &'static str,
    value: Duration,
) -> Result<(), RestartStrategyError> {
    if value >= ONE_MS {
        Ok(())
    } else {
        Err(RestartStrategyError::DurationTooShort {
            key,
            value,
            min: ONE_MS,
        })
    }
}

/// Whether a failed job may restart, and after how long (Flink's `RestartBackoffTimeStrategy`).
///
/// `now` is the time since an arbitrary epoch fixed by the caller; it must not go backwards.
pub trait RestartBackoffTimeStrategy: fmt::Debug {
    /// Records a failure at `now`. Returns whether it was counted: `false` when it joins a restart
    /// that is already scheduled (exponential delay only).
    fn notify_failure(&mut self, now: Duration) -> bool;

    /// Whether the job may restart after the failures recorded so far.
    fn can_restart(&self) -> bool;

    /// How long to wait, from `now`, before restarting after the last recorded failure.
    fn backoff_time(&self, now: Duration) -> Duration;

    /// A one-line description with the parameters, for `recovery is suppressed by <describe>`.
    fn describe(&self) -> String;
}

/// Never restarts: `can_restart = false`, `backoff_time = 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRestartStrategy;

impl RestartBackoffTimeStrategy for NoRestartStrategy {
    fn notify_failure(&mut self, _now: Duration) -> bool {
        true
    }

    fn can_restart(&self) -> bool {
        false
    }

    fn backoff_time(&self, _now: Duration) -> Duration {
        Duration::ZERO
    }

    fn describe(&self) -> String {
        "NoRestartBackoffTimeStrategy".to_owned()
    }
}

/// Fixed delay: each failure does `attempt += 1`; `can_restart = attempt <= max_attempts`;
/// `backoff_time = delay`, constant.
///
/// So exactly `max_attempts` restarts; failure number `max_attempts + 1` fails the job, however
/// far apart the failures are (the count never resets). With 0 attempts it never restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedDelayStrategy {
    max_attempts: u32,
    delay: Duration,
    attempt: u64,
}

impl FixedDelayStrategy {
    /// A strategy allowing `max_attempts` restarts, each after `delay`.
    pub fn new(max_attempts: u32, delay: Duration) -> Self {
        Self {
            max_attempts,
            delay,
            attempt: 0,
        }
    }
}

impl RestartBackoffTimeStrategy for FixedDelayStrategy {
    fn notify_failure(&mut self, _now: Duration) -> bool {
        self.attempt = self.attempt.saturating_add(1);
        true
    }

    fn can_restart(&self) -> bool {
        self.attempt <= u64::from(self.max_attempts)
    }

    fn backoff_time(&self, _now: Duration) -> Duration {
        self.delay
    }

    fn describe(&self) -> String {
        format!(
            "FixedDelayRestartBackoffTimeStrategy(max_attempts={}, backoff_time={:?}, attempt={})",
            self.max_attempts, self.delay, self.attempt
        )
    }
}

/// Failure rate: a queue of failure times. On a failure at `now`, if the queue holds more than
/// `max` entries the oldest is dropped, then `now` is pushed. `can_restart` is true while the
/// queue holds at most `max` entries, and otherwise `newest - oldest > interval`;
/// `backoff_time = delay`, constant.
///
/// So the job fails when `max + 1` failures fall inside one interval, and a gap of exactly the
/// interval still counts as inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRateStrategy {
    max_failures: u32,
    interval: Duration,
    delay: Duration,
    failure_times: VecDeque<Duration>,
}

impl FailureRateStrategy {
    /// A strategy allowing at most `max_failures` failures within any `interval`, restarting
    /// after `delay`.
    pub fn new(max_failures: u32, interval: Duration, delay: Duration) -> Self {
        Self {
            max_failures,
            interval,
            delay,
            failure_times: VecDeque::new(),
        }
    }

    fn is_full(&self) -> bool {
        self.failure_times.len() as u64 > u64::from(self.max_failures)
    }
}

impl RestartBackoffTimeStrategy for FailureRateStrategy {
    fn notify_failure(&mut self, now: Duration) -> bool {
        if self.is_full() {
            self.failure_times.pop_front();
        }
        self.failure_times.push_back(now);
        true
    }

    fn can_restart(&self) -> bool {
        match (self.failure_times.front(), self.failure_times.back()) {
            (Some(oldest), Some(newest)) if self.is_full() => {
                newest.saturating_sub(*oldest) > self.interval
            }
            _ => true,
        }
    }

    fn backoff_time(&self, _now: Duration) -> Duration {
        self.delay
    }

    fn describe(&self) -> String {
        format!(
            "FailureRateRestartBackoffTimeStrategy(max_failures_per_interval={}, \
             failure_rate_interval={:?}, backoff_time={:?})",
            self.max_failures, self.interval, self.delay
        )
    }
}

#[cfg(test)]
#[path = "restart_strategy_tests.rs"]
mod tests;
