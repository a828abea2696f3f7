use super::*;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn too_short(key: &'static str, value: Duration) -> RestartStrategyError {
    RestartStrategyError::DurationTooShort {
        key,
        value,
        min: ms(1),
    }
}

// ---- no restart ----

#[test]
fn no_restart_never_restarts() {
    let mut strategy = RestartStrategyConfig::NoRestart.create(0);
    assert!(strategy.notify_failure(ms(5)));
    assert!(!strategy.can_restart());
    assert_eq!(strategy.backoff_time(ms(5)), Duration::ZERO);
    assert_eq!(strategy.describe(), "NoRestartBackoffTimeStrategy");
}

// ---- fixed delay ----

#[test]
fn fixed_delay_gives_exactly_the_configured_number_of_restarts_then_fails() {
    let mut strategy = FixedDelayStrategy::new(3, ms(250));
    for failure in 1..=3 {
        assert!(strategy.notify_failure(ms(failure * 1000)));
        assert!(strategy.can_restart(), "failure {failure} should restart");
        assert_eq!(strategy.backoff_time(ms(failure * 1000)), ms(250));
    }
    assert!(strategy.notify_failure(ms(4000)));
    assert!(!strategy.can_restart());
}

#[test]
fn fixed_delay_with_zero_attempts_never_restarts() {
    let mut strategy = RestartStrategyConfig::FixedDelay {
        attempts: 0,
        delay: ms(0),
    }
    .create(0);
    strategy.notify_failure(ms(0));
    assert!(!strategy.can_restart());
}

#[test]
fn fixed_delay_never_resets_however_far_apart_the_failures_are() {
    let mut strategy = FixedDelayStrategy::new(1, ms(10));
    strategy.notify_failure(ms(0));
    assert!(strategy.can_restart());
    strategy.notify_failure(Duration::from_secs(365 * 24 * 3600));
    assert!(!strategy.can_restart());
}

#[test]
fn fixed_delay_default_is_one_attempt_after_one_second() {
    let config = RestartStrategyConfig::fixed_delay_default();
    assert_eq!(
        config,
        RestartStrategyConfig::FixedDelay {
            attempts: 1,
            delay: Duration::from_secs(1)
        }
    );
    let mut strategy = config.create(0);
    strategy.notify_failure(ms(0));
    assert!(strategy.can_restart());
    assert_eq!(strategy.backoff_time(ms(0)), Duration::from_secs(1));
    strategy.notify_failure(ms(5000));
    assert!(!strategy.can_restart());
    assert!(strategy.describe().contains("max_attempts=1"));
}

#[test]
fn fixed_delay_with_max_attempts_keeps_restarting() {
    let mut strategy = FixedDelayStrategy::new(u32::MAX, ms(1));
    for now in 0..10_000 {
        strategy.notify_failure(ms(now));
    }
    assert!(strategy.can_restart());
}

// ---- failure rate ----

#[test]
fn failure_rate_fails_when_max_plus_one_failures_fall_inside_one_interval() {
    let mut strategy = FailureRateStrategy::new(2, Duration::from_secs(10), ms(100));
    strategy.notify_failure(ms(0));
    assert!(strategy.can_restart());
    strategy.notify_failure(ms(1000));
    assert!(strategy.can_restart());
    strategy.notify_failure(ms(9000));
    assert!(!strategy.can_restart());
}

#[test]
fn failure_rate_a_gap_of_exactly_the_interval_still_counts_as_inside() {
    let mut strategy = FailureRateStrategy::new(1, Duration::from_secs(60), ms(100));
    strategy.notify_failure(ms(0));
    assert!(strategy.can_restart());
    strategy.notify_failure(ms(60_000));
    assert!(!strategy.can_restart());
}

#[test]
fn failure_rate_a_gap_one_ms_longer_than_the_interval_is_outside() {
    let mut strategy = FailureRateStrategy::new(1, Duration::from_secs(60), ms(100));
    strategy.notify_failure(ms(0));
    strategy.notify_failure(ms(60_001));
    assert!(strategy.can_restart());
}

#[test]
fn failure_rate_window_slides_so_spread_out_failures_restart_forever() {
    let mut strategy = FailureRateStrategy::new(3, ms(1000), ms(0));
    // Four failures per 1001 ms never put four inside one 1000 ms interval.
    for failure in 0..1000u64 {
        strategy.notify_failure(ms(failure * 334));
        assert!(strategy.can_restart(), "failure {failure} should restart");
    }
    assert!(strategy.failure_times.len() <= 4);
    // A burst then fails the job: the last four failures are within the interval.
    for now in 333_667..=333_669 {
        strategy.notify_failure(ms(now));
    }
    assert!(!strategy.can_restart());
}

#[test]
fn failure_rate_backoff_is_the_constant_delay() {
    let config = RestartStrategyConfig::failure_rate_default();
    assert_eq!(
        config,
        RestartStrategyConfig::FailureRate {
            max_failures_per_interval: 1,
            failure_rate_interval: Duration::from_secs(60),
            delay: Duration::from_secs(1),
        }
    );
    let mut strategy = config.create(0);
    strategy.notify_failure(ms(7));
    assert_eq!(strategy.backoff_time(ms(7)), Duration::from_secs(1));
    assert_eq!(strategy.backoff_time(ms(700)), Duration::from_secs(1));
    assert!(strategy
        .describe()
        .starts_with("FailureRateRestartBackoffTimeStrategy("));
}

// ---- validation ----

#[test]
fn defaults_and_edge_values_validate() {
    for config in [
        RestartStrategyConfig::NoRestart,
        RestartStrategyConfig::fixed_delay_default(),
        RestartStrategyConfig::failure_rate_default(),
        RestartStrategyConfig::exponential_delay_default(),
        RestartStrategyConfig::FixedDelay {
            attempts: 0,
            delay: Duration::ZERO,
        },
        RestartStrategyConfig::FailureRate {
            max_failures_per_interval: 1,
            failure_rate_interval: ms(1),
            delay: Duration::ZERO,
        },
        ExponentialDelayOptions {
            initial_backoff: ms(1),
            max_backoff: ms(1),
            backoff_multiplier: 1.000_001,
            reset_backoff_threshold: ms(1),
            jitter_factor: 1.0,
            attempts_before_reset_backoff: 1,
        }
        .into(),
    ] {
        assert_eq!(config.validate(), Ok(()), "{config:?}");
    }
}

#[test]
fn failure_rate_rejects_zero_max_failures() {
    let config = RestartStrategyConfig::FailureRate {
        max_failures_per_interval: 0,
        failure_rate_interval: Duration::from_secs(1),
        delay: Duration::ZERO,
    };
    let error = config.validate().expect_err("0 failures must be rejected");
    assert_eq!(
        error,
        RestartStrategyError::CountTooSmall {
            key: "restart-strategy.failure-rate.max-failures-per-interval",
            value: 0,
            min: 1,
        }
    );
    assert_eq!(
        error.to_string(),
        "`restart-strategy.failure-rate.max-failures-per-interval` must be at least 1, got 0"
    );
}

#[test]
fn failure_rate_rejects_an_interval_below_one_ms() {
    let config = RestartStrategyConfig::FailureRate {
        max_failures_per_interval: 1,
        failure_rate_interval: Duration::from_micros(999),
        delay: Duration::ZERO,
    };
    assert_eq!(
        config.validate(),
        Err(too_short(
            "restart-strategy.failure-rate.failure-rate-interval",
            Duration::from_micros(999)
        ))
    );
}
