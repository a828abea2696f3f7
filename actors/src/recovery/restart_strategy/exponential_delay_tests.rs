use super::*;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn options(initial_ms: u64, max_ms: u64, multiplier: f64) -> ExponentialDelayOptions {
    ExponentialDelayOptions {
        initial_backoff: ms(initial_ms),
        max_backoff: ms(max_ms),
        backoff_multiplier: multiplier,
        reset_backoff_threshold: Duration::from_secs(3600),
        jitter_factor: 0.0,
        attempts_before_reset_backoff: u32::MAX,
    }
}

/// Fails `count` times, each failure 1 ms after the restart the previous one scheduled; returns
/// the backoffs in milliseconds.
fn backoffs_one_ms_after_each_restart(
    strategy: &mut dyn RestartBackoffTimeStrategy,
    count: usize,
) -> Vec<u128> {
    let mut now = ms(0);
    let mut backoffs = Vec::new();
    for _ in 0..count {
        assert!(
            strategy.notify_failure(now),
            "failure at {now:?} was merged"
        );
        assert!(strategy.can_restart());
        let backoff = strategy.backoff_time(now);
        backoffs.push(backoff.as_millis());
        now += backoff + ms(1);
    }
    backoffs
}

fn too_short(key: &'static str, value: Duration) -> RestartStrategyError {
    RestartStrategyError::DurationTooShort {
        key,
        value,
        min: ms(1),
    }
}

fn exponential_error(options: ExponentialDelayOptions) -> RestartStrategyError {
    let config = RestartStrategyConfig::from(options);
    let from_config = config
        .validate()
        .expect_err("invalid options must be rejected");
    // Compared as text: the NaN cases are not equal to themselves.
    assert_eq!(
        options.validate().map_err(|error| error.to_string()),
        Err(from_config.to_string())
    );
    from_config
}

// ---- exponential delay ----

#[test]
fn exponential_worked_example_matches_flink_semantics() {
    let mut strategy = ExponentialDelayStrategy::new(&options(1000, 60_000, 1.5), 0);
    assert_eq!(
        backoffs_one_ms_after_each_restart(&mut strategy, 13),
        [1000, 1500, 2250, 3375, 5062, 7593, 11390, 17085, 25628, 38443, 57665, 60000, 60000]
    );
}

#[test]
fn exponential_base_is_truncated_from_the_power_not_rounded_step_by_step() {
    let mut strategy = ExponentialDelayStrategy::new(&options(333, 60_000, 1.5), 0);
    assert_eq!(
        backoffs_one_ms_after_each_restart(&mut strategy, 5),
        [333, 499, 749, 1123, 1685]
    );
}

#[test]
fn exponential_one_ms_with_multiplier_one_point_one_stays_one_ms_for_eight_attempts_then_two() {
    let mut strategy = ExponentialDelayStrategy::new(&options(1, 60_000, 1.1), 0);
    assert_eq!(
        backoffs_one_ms_after_each_restart(&mut strategy, 9),
        [1, 1, 1, 1, 1, 1, 1, 1, 2]
    );
}

fn doubling_with_ten_second_reset() -> ExponentialDelayStrategy {
    let mut options = options(1000, 60_000, 2.0);
    options.reset_backoff_threshold = Duration::from_secs(10);
    let mut strategy = ExponentialDelayStrategy::new(&options, 0);
    assert!(strategy.notify_failure(ms(0)));
    assert_eq!(strategy.backoff_time(ms(0)), ms(1000));
    assert!(strategy.notify_failure(ms(1001)));
    assert_eq!(strategy.backoff_time(ms(1001)), ms(2000));
    // The restart is scheduled at 3001 ms.
    strategy
}

#[test]
fn exponential_failure_exactly_the_reset_threshold_after_the_scheduled_restart_resets() {
    let mut strategy = doubling_with_ten_second_reset();
    assert!(strategy.notify_failure(ms(3001 + 10_000)));
    assert_eq!(strategy.backoff_time(ms(13_001)), ms(1000));
}

#[test]
fn exponential_failure_one_ms_short_of_the_reset_threshold_keeps_doubling() {
    let mut strategy = doubling_with_ten_second_reset();
    assert!(strategy.notify_failure(ms(3001 + 9_999)));
    assert_eq!(strategy.backoff_time(ms(13_000)), ms(4000));
}

#[test]
fn exponential_reset_threshold_is_measured_from_the_scheduled_restart_not_the_previous_failure() {
    let mut options = options(1000, 60_000, 2.0);
    options.reset_backoff_threshold = Duration::from_secs(10);
    let mut strategy = ExponentialDelayStrategy::new(&options, 0);
    // The restart is scheduled at 1000 ms. The next failure comes 10 500 ms after the first
    // failure, but only 9 500 ms after the scheduled restart.
    strategy.notify_failure(ms(0));
    strategy.notify_failure(ms(10_500));
    assert_eq!(strategy.backoff_time(ms(10_500)), ms(2000));
}

#[test]
fn exponential_two_failures_at_the_same_instant_are_one_restart() {
    let mut strategy = ExponentialDelayStrategy::new(&options(1000, 60_000, 1.5), 0);
    assert!(strategy.notify_failure(ms(500)));
    assert!(!strategy.notify_failure(ms(500)));
    assert!(strategy.can_restart());
    assert_eq!(strategy.backoff_time(ms(500)), ms(1000));
    // The next counted failure continues from attempt 1, not 2.
    assert!(strategy.notify_failure(ms(1501)));
    assert_eq!(strategy.backoff_time(ms(1501)), ms(1500));
}

#[test]
fn exponential_failure_before_the_scheduled_restart_waits_only_for_the_time_left() {
    let mut strategy = ExponentialDelayStrategy::new(&options(1000, 60_000, 1.5), 0);
    strategy.notify_failure(ms(0));
    assert!(!strategy.notify_failure(ms(400)));
    assert_eq!(strategy.backoff_time(ms(400)), ms(600));
    // A failure exactly at the scheduled restart also joins it.
    assert!(!strategy.notify_failure(ms(1000)));
    assert_eq!(strategy.backoff_time(ms(1000)), Duration::ZERO);
}

#[test]
fn exponential_backoff_time_is_zero_before_any_failure_and_after_the_restart_time() {
    let mut strategy = ExponentialDelayStrategy::new(&options(1000, 60_000, 1.5), 0);
    assert_eq!(strategy.backoff_time(ms(123)), Duration::ZERO);
    assert!(strategy.can_restart());
    strategy.notify_failure(ms(0));
    assert_eq!(strategy.backoff_time(ms(5000)), Duration::ZERO);
}

#[test]
fn exponential_attempts_limit_fails_the_failure_after_the_last_allowed_restart() {
    let mut options = options(10, 1000, 2.0);
    options.attempts_before_reset_backoff = 3;
    let mut strategy = ExponentialDelayStrategy::new(&options, 0);
    let mut now = ms(0);
    for attempt in 1..=3 {
        assert!(strategy.notify_failure(now));
        assert!(strategy.can_restart(), "attempt {attempt} should restart");
        // Merged failures do not use up attempts.
        assert!(!strategy.notify_failure(now + ms(1)));
        assert!(strategy.can_restart());
        now += strategy.backoff_time(now) + ms(1);
    }
    assert!(strategy.notify_failure(now));
    assert!(!strategy.can_restart());
}

#[test]
fn exponential_reset_also_restores_the_attempts() {
    let mut options = options(10, 1000, 2.0);
    options.attempts_before_reset_backoff = 1;
    options.reset_backoff_threshold = Duration::from_secs(1);
    let mut strategy = ExponentialDelayStrategy::new(&options, 0);
    strategy.notify_failure(ms(0));
    assert!(strategy.can_restart());
    strategy.notify_failure(ms(11));
    assert!(!strategy.can_restart());
    // Restart scheduled at 11 + 20 ms; a failure a second after that resets the count.
    strategy.notify_failure(ms(31 + 1000));
    assert!(strategy.can_restart());
    assert_eq!(strategy.backoff_time(ms(1031)), ms(10));
}

#[test]
fn exponential_jitter_stays_within_bounds() {
    let mut options = options(1000, 60_000, 1.5);
    options.jitter_factor = 0.1;
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let mut strategy = ExponentialDelayStrategy::new(&options, seed);
        let mut now = ms(0);
        for attempt in 0..4 {
            strategy.notify_failure(now);
            let backoff = strategy.backoff_time(now).as_millis();
            // Bases 1000, 1500, 2250, 3375 with offsets 100, 150, 225, 337.
            let (base, offset) = [(1000, 100), (1500, 150), (2250, 225), (3375, 337)][attempt];
            assert!(
                backoff >= (base - offset).max(1000) && backoff <= base + offset,
                "seed {seed} attempt {attempt}: {backoff} ms"
            );
            if attempt == 3 {
                seen.insert(backoff);
            }
            now += strategy.backoff_time(now) + ms(1);
        }
    }
    // 200 draws from 675 values: the jitter actually varies.
    assert!(seen.len() > 100, "only {} distinct backoffs", seen.len());
}

#[test]
fn exponential_jitter_never_goes_below_initial_or_above_max() {
    let mut options = options(1000, 5000, 2.0);
    options.jitter_factor = 1.0;
    for seed in 0..100 {
        let mut strategy = ExponentialDelayStrategy::new(&options, seed);
        let backoffs = backoffs_one_ms_after_each_restart(&mut strategy, 8);
        assert!(
            backoffs.iter().all(|b| (1000..=5000).contains(b)),
            "{backoffs:?}"
        );
    }
}

#[test]
fn exponential_jitter_is_identical_for_the_same_seed_and_differs_for_another() {
    let config = RestartStrategyConfig::exponential_delay_default();
    let run = |seed| backoffs_one_ms_after_each_restart(config.create(seed).as_mut(), 10);
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn exponential_saturates_instead_of_overflowing() {
    let options = ExponentialDelayOptions {
        initial_backoff: ms(1),
        max_backoff: Duration::MAX,
        backoff_multiplier: 1e300,
        reset_backoff_threshold: Duration::MAX,
        jitter_factor: 1.0,
        attempts_before_reset_backoff: u32::MAX,
    };
    assert_eq!(options.validate(), Ok(()));
    let mut strategy = ExponentialDelayStrategy::new(&options, 3);
    let mut now = ms(0);
    for _ in 0..5 {
        strategy.notify_failure(now);
        assert!(strategy.can_restart());
        now = now
            .saturating_add(strategy.backoff_time(now))
            .saturating_add(ms(1));
    }
    strategy.notify_failure(Duration::MAX);
    assert!(strategy.backoff_time(Duration::MAX) <= Duration::MAX);
}

#[test]
fn exponential_defaults_match_flink() {
    assert_eq!(
        RestartStrategyConfig::exponential_delay_default(),
        RestartStrategyConfig::ExponentialDelay {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            backoff_multiplier: 1.5,
            reset_backoff_threshold: Duration::from_secs(3600),
            jitter_factor: 0.1,
            attempts_before_reset_backoff: 2_147_483_647,
        }
    );
    assert_eq!(
        RestartStrategyConfig::default_for(true),
        RestartStrategyConfig::exponential_delay_default()
    );
    assert_eq!(
        RestartStrategyConfig::default_for(false),
        RestartStrategyConfig::NoRestart
    );
    let description = RestartStrategyConfig::exponential_delay_default()
        .create(0)
        .describe();
    assert!(description.starts_with("ExponentialDelayRestartBackoffTimeStrategy("));
    assert!(
        description.contains("backoff_multiplier: 1.5"),
        "{description}"
    );
}

// ---- validation ----

#[test]
fn exponential_rejects_initial_and_max_backoff_below_one_ms() {
    let mut bad = options(1000, 60_000, 1.5);
    bad.initial_backoff = Duration::ZERO;
    assert_eq!(
        exponential_error(bad),
        too_short(
            "restart-strategy.exponential-delay.initial-backoff",
            Duration::ZERO
        )
    );
    let mut bad = options(1000, 60_000, 1.5);
    bad.max_backoff = Duration::ZERO;
    assert_eq!(
        exponential_error(bad),
        too_short(
            "restart-strategy.exponential-delay.max-backoff",
            Duration::ZERO
        )
    );
}

#[test]
fn exponential_rejects_initial_backoff_above_max_backoff() {
    let error = exponential_error(options(2000, 1000, 1.5));
    assert_eq!(
        error,
        RestartStrategyError::InitialBackoffAboveMax {
            key: "restart-strategy.exponential-delay.initial-backoff",
            value: ms(2000),
            max_key: "restart-strategy.exponential-delay.max-backoff",
            max: ms(1000),
        }
    );
    assert!(error
        .to_string()
        .contains("restart-strategy.exponential-delay.max-backoff"));
}

#[test]
fn exponential_rejects_a_multiplier_not_above_one() {
    for multiplier in [1.0, 0.5, -2.0, f64::NAN] {
        match exponential_error(options(1000, 60_000, multiplier)) {
            RestartStrategyError::MultiplierNotAboveOne { key, value } => {
                assert_eq!(key, "restart-strategy.exponential-delay.backoff-multiplier");
                assert!(value.to_bits() == multiplier.to_bits());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn exponential_rejects_a_reset_threshold_below_one_ms() {
    let mut bad = options(1000, 60_000, 1.5);
    bad.reset_backoff_threshold = Duration::from_nanos(1);
    assert_eq!(
        exponential_error(bad),
        too_short(
            "restart-strategy.exponential-delay.reset-backoff-threshold",
            Duration::from_nanos(1)
        )
    );
}

#[test]
fn exponential_rejects_jitter_outside_zero_to_one() {
    for jitter in [-0.1, 1.000_001, f64::NAN, f64::INFINITY] {
        let mut bad = options(1000, 60_000, 1.5);
        bad.jitter_factor = jitter;
        match exponential_error(bad) {
            RestartStrategyError::JitterOutOfRange { key, value } => {
                assert_eq!(key, "restart-strategy.exponential-delay.jitter-factor");
                assert!(value.to_bits() == jitter.to_bits());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn exponential_rejects_zero_attempts() {
    let mut bad = options(1000, 60_000, 1.5);
    bad.attempts_before_reset_backoff = 0;
    assert_eq!(
        exponential_error(bad),
        RestartStrategyError::CountTooSmall {
            key: "restart-strategy.exponential-delay.attempts-before-reset-backoff",
            value: 0,
            min: 1,
        }
    );
}
