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
//! use weir_actors::restart_strategy::RestartStrategyConfig;
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

const FAILURE_RATE_MAX_FAILURES: &str = "restart-strategy.failure-rate.max-failures-per-interval";
const FAILURE_RATE_INTERVAL: &str = "restart-strategy.failure-rate.failure-rate-interval";
const EXPONENTIAL_INITIAL_BACKOFF: &str = "restart-strategy.exponential-delay.initial-backoff";
const EXPONENTIAL_MAX_BACKOFF: &str = "restart-strategy.exponential-delay.max-backoff";
const EXPONENTIAL_MULTIPLIER: &str = "restart-strategy.exponential-delay.backoff-multiplier";
const EXPONENTIAL_RESET_THRESHOLD: &str =
    "restart-strategy.exponential-delay.reset-backoff-threshold";
const EXPONENTIAL_JITTER: &str = "restart-strategy.exponential-delay.jitter-factor";
const EXPONENTIAL_ATTEMPTS: &str =
    "restart-strategy.exponential-delay.attempts-before-reset-backoff";

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

fn check_count(key: &'static str, value: u32) -> Result<(), RestartStrategyError> {
    let error = RestartStrategyError::CountTooSmall { key, value, min: 1 };
    (value >= 1).then_some(()).ok_or(error)
}

fn check_duration(key: &'static str, value: Duration) -> Result<(), RestartStrategyError> {
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

/// A tiny deterministic pseudo-random generator (SplitMix64, after Steele, Lea and Flood): a 64-bit
/// counter advanced by the golden-ratio increment, then mixed. Not cryptographic; used so that
/// jitter replays identically from a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose output is fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 uniformly distributed bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `[low, high]`, both inclusive, without modulo bias. If `low > high` the
    /// bounds are swapped.
    pub fn next_in_range(&mut self, low: i64, high: i64) -> i64 {
        let (low, high) = (low.min(high), low.max(high));
        // Number of values minus one; fits in u64 even for the full i64 range.
        let span = high.wrapping_sub(low) as u64;
        if span == u64::MAX {
            return self.next_u64() as i64;
        }
        low.wrapping_add(self.next_below(span + 1) as i64)
    }

    /// A uniform integer in `[0, bound)` for `bound >= 1`, by widening multiplication with
    /// rejection of the biased low products.
    fn next_below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
#[path = "restart_strategy_tests.rs"]
mod tests;
