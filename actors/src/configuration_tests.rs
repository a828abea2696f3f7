use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::checkpoint_config::{
    CheckpointConfig, CheckpointConfigError, CheckpointStorageConfig, CheckpointingMode,
    ExternalizedCheckpointRetention,
};
use crate::restart_strategy::{RestartStrategyConfig, RestartStrategyError};

/// One sample value for every known key, in table order, as a flat YAML file would hold it.
const SAMPLES_YAML: &str = "\
    execution.checkpointing.interval: 10 s\n\
    execution.checkpointing.mode: AT_LEAST_ONCE\n\
    execution.checkpointing.timeout: 5 min\n\
    execution.checkpointing.min-pause: 500 ms\n\
    execution.checkpointing.max-concurrent-checkpoints: 2\n\
    execution.checkpointing.tolerable-failed-checkpoints: 3\n\
    execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION\n\
    execution.checkpointing.num-retained: 4\n\
    execution.checkpointing.dir: /tmp/weir/checkpoints\n\
    execution.checkpointing.savepoint-dir: /tmp/weir/savepoints\n\
    execution.checkpointing.storage: filesystem\n\
    execution.checkpointing.incremental: true\n\
    execution.checkpointing.unaligned.enabled: false\n\
    execution.checkpointing.aligned-checkpoint-timeout: PT1S\n\
    execution.state-recovery.path: /tmp/weir/savepoint-1\n\
    execution.state-recovery.ignore-unclaimed-state: true\n\
    execution.state-recovery.claim-mode: CLAIM\n\
    state.backend.type: rocksdb\n\
    jobmanager.execution.failover-strategy: full\n\
    pipeline.max-parallelism: 256\n\
    parallelism.default: 8\n\
    pipeline.name: word count\n\
    restart-strategy.type: fixed-delay\n\
    restart-strategy.fixed-delay.attempts: 3\n\
    restart-strategy.fixed-delay.delay: 10 s\n\
    restart-strategy.failure-rate.max-failures-per-interval: 2\n\
    restart-strategy.failure-rate.failure-rate-interval: 5 min\n\
    restart-strategy.failure-rate.delay: 2 s\n\
    restart-strategy.exponential-delay.initial-backoff: 100 ms\n\
    restart-strategy.exponential-delay.max-backoff: 30 s\n\
    restart-strategy.exponential-delay.backoff-multiplier: 2.0\n\
    restart-strategy.exponential-delay.reset-backoff-threshold: 2 h\n\
    restart-strategy.exponential-delay.jitter-factor: 0.2\n\
    restart-strategy.exponential-delay.attempts-before-reset-backoff: 10\n\
";

fn samples() -> Vec<(&'static str, &'static str)> {
    SAMPLES_YAML
        .lines()
        .filter_map(|line| line.trim().split_once(": "))
        .collect()
}

/// `old name -> new name: value` for every deprecated name.
const DEPRECATED: &str = "\
    state.checkpoints.num-retained -> execution.checkpointing.num-retained: 3\n\
    state.checkpoints.dir -> execution.checkpointing.dir: /tmp/c\n\
    state.savepoints.dir -> execution.checkpointing.savepoint-dir: /tmp/s\n\
    state.checkpoint-storage -> execution.checkpointing.storage: jobmanager\n\
    state.backend.incremental -> execution.checkpointing.incremental: true\n\
    execution.checkpointing.unaligned -> execution.checkpointing.unaligned.enabled: true\n\
    execution.checkpointing.alignment-timeout -> execution.checkpointing.aligned-checkpoint-timeout: 30 s\n\
    execution.savepoint.path -> execution.state-recovery.path: /tmp/sp\n\
    execution.savepoint.ignore-unclaimed-state -> execution.state-recovery.ignore-unclaimed-state: true\n\
    state.backend -> state.backend.type: rocksdb\n\
    restart-strategy -> restart-strategy.type: failure-rate\n\
";

fn deprecated() -> Vec<(&'static str, &'static str, &'static str)> {
    let split = |line: &'static str| {
        let (names, value) = line.trim().split_once(": ")?;
        let (old, new) = names.split_once(" -> ")?;
        Some((old, new, value))
    };
    DEPRECATED.lines().filter_map(split).collect()
}

fn config(pairs: &[(&str, &str)]) -> Configuration {
    let mut config = Configuration::new();
    for (key, value) in pairs {
        config.set(key, value).expect("valid setting");
    }
    config
}

fn set_error(key: &str, value: &str) -> ConfigError {
    Configuration::new().set(key, value).map(drop).unwrap_err()
}

fn assert_invalid_value(error: &ConfigError, expected_key: &str, expected_value: &str) {
    match error {
        ConfigError::InvalidValue { key, value, reason } => {
            assert_eq!(
                (key.as_str(), value.as_str()),
                (expected_key, expected_value)
            );
            assert!(!reason.is_empty());
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(expected_key) && message.contains(expected_value),
        "{message}"
    );
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "weir-configuration-{name}-{}-{:?}.yaml",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn every_known_key_round_trips_through_set_and_get() {
    let known: Vec<_> = Configuration::known_keys().collect();
    let sampled: Vec<_> = samples().into_iter().map(|(key, _)| key).collect();
    assert_eq!(
        known, sampled,
        "every known key has a sample, in table order"
    );
    let config = config(&samples());
    for (key, value) in samples() {
        assert_eq!(config.get(key), Some(value), "{key}");
    }
    assert_eq!(config.iter().count(), samples().len());
}

#[test]
fn all_samples_together_give_valid_typed_settings() {
    let config = config(&samples());
    let checkpoint = config
        .checkpoint_config()
        .expect("valid checkpoint settings");
    assert_eq!(checkpoint.interval, Some(Duration::from_secs(10)));
    assert_eq!(
        checkpoint.storage,
        Some(CheckpointStorageConfig::FileSystem(
            "/tmp/weir/checkpoints".into()
        ))
    );
    assert_eq!(
        config.restart_strategy().expect("valid restart strategy"),
        Some(RestartStrategyConfig::FixedDelay {
            attempts: 3,
            delay: Duration::from_secs(10)
        })
    );
    assert_eq!(config.state_backend().ok(), Some(StateBackendKind::RocksDb));
    assert_eq!(
        config.failover_strategy().ok(),
        Some(FailoverStrategyKind::Full)
    );
    assert_eq!(config.max_parallelism().ok(), Some(Some(256)));
    assert_eq!(config.parallelism_default().ok(), Some(Some(8)));
    assert_eq!(
        config.state_recovery_path(),
        Some("/tmp/weir/savepoint-1".into())
    );
    assert_eq!(config.allow_non_restored_state().ok(), Some(true));
    assert_eq!(config.claim_mode().ok(), Some(RecoveryClaimMode::Claim));
    assert_eq!(config.savepoint_dir(), Some("/tmp/weir/savepoints".into()));
    assert_eq!(config.pipeline_name(), Some("word count"));
}

#[test]
fn an_empty_configuration_gives_flinks_defaults() {
    let config = Configuration::new();
    assert_eq!(
        config.checkpoint_config().ok(),
        Some(CheckpointConfig::default())
    );
    assert_eq!(config.restart_strategy().ok(), Some(None));
    assert_eq!(
        config.effective_restart_strategy().ok(),
        Some(RestartStrategyConfig::NoRestart)
    );
    assert_eq!(config.state_backend().ok(), Some(StateBackendKind::HashMap));
    assert_eq!(
        config.failover_strategy().ok(),
        Some(FailoverStrategyKind::Region)
    );
    assert_eq!(config.max_parallelism().ok(), Some(None));
    assert_eq!(config.parallelism_default().ok(), Some(None));
    assert_eq!(config.state_recovery_path(), None);
    assert_eq!(config.allow_non_restored_state().ok(), Some(false));
    assert_eq!(config.claim_mode().ok(), Some(RecoveryClaimMode::NoClaim));
    assert_eq!(config.savepoint_dir(), None);
    assert_eq!(config.pipeline_name(), None);
    assert_eq!(config.get("execution.checkpointing.interval"), None);
}

#[test]
fn default_restart_strategy_with_checkpointing_is_exponential_delay_with_defaults() {
    let config = config(&[("execution.checkpointing.interval", "1 min")]);
    assert_eq!(config.restart_strategy().ok(), Some(None));
    assert_eq!(
        config.effective_restart_strategy().ok(),
        Some(RestartStrategyConfig::ExponentialDelay {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            backoff_multiplier: 1.5,
            reset_backoff_threshold: Duration::from_secs(3600),
            jitter_factor: 0.1,
            attempts_before_reset_backoff: 2_147_483_647,
        })
    );
}

#[test]
fn deprecated_names_are_read_as_their_replacements() {
    for (old, new, value) in deprecated() {
        let config = config(&[(old, value)]);
        assert_eq!(config.get(new), Some(value), "{old}");
        assert_eq!(config.get(old), Some(value), "{old}");
        assert_eq!(Configuration::replacement_for(old), Some(new));
        assert_eq!(config.iter().next(), Some((old, value)));
    }
    assert_eq!(Configuration::replacement_for("state.backend.type"), None);
    assert_eq!(Configuration::replacement_for("no.such.key"), None);
}

#[test]
fn deprecated_names_feed_the_typed_accessors() {
    let config = config(&[
        ("state.checkpoints.num-retained", "3"),
        ("state.checkpoints.dir", "/tmp/old"),
        ("execution.checkpointing.unaligned", "true"),
        ("execution.checkpointing.alignment-timeout", "30 s"),
        ("state.backend", "rocksdb"),
        ("restart-strategy", "none"),
        ("execution.savepoint.path", "/tmp/sp"),
        ("execution.savepoint.ignore-unclaimed-state", "true"),
    ]);
    let checkpoint = config.checkpoint_config().expect("valid");
    assert_eq!(checkpoint.num_retained, 3);
    assert!(checkpoint.unaligned);
    assert_eq!(
        checkpoint.aligned_checkpoint_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(
        checkpoint.storage,
        Some(CheckpointStorageConfig::FileSystem("/tmp/old".into()))
    );
    assert_eq!(config.state_backend().ok(), Some(StateBackendKind::RocksDb));
    assert_eq!(
        config.restart_strategy().ok(),
        Some(Some(RestartStrategyConfig::NoRestart))
    );
    assert_eq!(config.state_recovery_path(), Some("/tmp/sp".into()));
    assert_eq!(config.allow_non_restored_state().ok(), Some(true));
}

#[test]
fn the_current_name_wins_over_a_deprecated_name_in_either_order() {
    let old_first = config(&[
        ("state.checkpoints.num-retained", "3"),
        ("execution.checkpointing.num-retained", "5"),
    ]);
    let new_first = config(&[
        ("execution.checkpointing.num-retained", "5"),
        ("state.checkpoints.num-retained", "3"),
    ]);
    for config in [old_first, new_first] {
        assert_eq!(
            config.get("execution.checkpointing.num-retained"),
            Some("5")
        );
        assert_eq!(config.get("state.checkpoints.num-retained"), Some("5"));
        assert_eq!(
            config.checkpoint_config().map(|c| c.num_retained).ok(),
            Some(5)
        );
    }
}

#[test]
fn remove_clears_the_key_under_every_name() {
    let mut config = config(&[
        ("state.backend", "rocksdb"),
        ("state.backend.type", "hashmap"),
    ]);
    assert_eq!(config.remove("state.backend").as_deref(), Some("hashmap"));
    assert_eq!(config.get("state.backend.type"), None);
    assert_eq!(config.iter().count(), 0);
    assert_eq!(config.remove("no.such.key"), None);
}

#[test]
fn each_unit_duration_form_parses_as_flink_parses_it() {
    let cases: &[(&str, Duration)] = &[
        ("10 s", Duration::from_secs(10)),
        ("10s", Duration::from_secs(10)),
        ("  10   S ", Duration::from_secs(10)),
        ("1 min", Duration::from_secs(60)),
        ("1m", Duration::from_secs(60)),
        ("500 ms", Duration::from_millis(500)),
        ("500", Duration::from_millis(500)),
        ("0", Duration::ZERO),
        ("1 h", Duration::from_secs(3600)),
        ("2 d", Duration::from_secs(2 * 86_400)),
        ("7 ns", Duration::from_nanos(7)),
        ("7 µs", Duration::from_micros(7)),
        ("3 seconds", Duration::from_secs(3)),
        ("3 minutes", Duration::from_secs(180)),
        ("1 hours", Duration::from_secs(3600)),
        ("1 DAY", Duration::from_secs(86_400)),
        ("4 millis", Duration::from_millis(4)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text).as_ref(), Ok(expected), "{text}");
    }
}

#[test]
fn every_flink_unit_label_is_accepted() {
    let labels: &[(&[&str], u64)] = &[
        (&["d", "day", "days"], 86_400_000_000_000),
        (&["h", "hour", "hours"], 3_600_000_000_000),
        (&["min", "m", "minute", "minutes"], 60_000_000_000),
        (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
        (
            &["ms", "milli", "millis", "millisecond", "milliseconds"],
            1_000_000,
        ),
        (
            &["µs", "micro", "micros", "microsecond", "microseconds"],
            1_000,
        ),
        (&["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 1),
    ];
    for (names, nanos) in labels {
        for name in *names {
            let parsed = parse_duration(&format!("2 {name}"));
            assert_eq!(parsed, Ok(Duration::from_nanos(2 * nanos)), "{name}");
        }
    }
}

#[test]
fn iso_8601_durations_parse_as_java_parses_them() {
    let cases: &[(&str, Duration)] = &[
        ("PT10M", Duration::from_secs(600)),
        ("PT1.5S", Duration::from_millis(1500)),
        ("PT1,5S", Duration::from_millis(1500)),
        ("PT1H30M", Duration::from_secs(5400)),
        ("pt10m", Duration::from_secs(600)),
        ("P2D", Duration::from_secs(2 * 86_400)),
        ("P1DT1S", Duration::from_secs(86_401)),
        ("PT0.000000001S", Duration::from_nanos(1)),
        ("+PT5S", Duration::from_secs(5)),
        ("PT1M-30S", Duration::from_secs(30)),
        ("-PT-2S", Duration::from_secs(2)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text).as_ref(), Ok(expected), "{text}");
    }
}

#[test]
fn malformed_or_negative_iso_durations_are_rejected() {
    for text in [
        "P",
        "PT",
        "P1DT",
        "P1H",
        "PT1D",
        "PT1S2M",
        "PT1.5M",
        "PT1.0000000001S",
        "PTS",
        "PT1X",
        "PT-1S",
        "-PT1S",
        "P1M",
    ] {
        assert!(parse_duration(text).is_err(), "{text}");
    }
}

#[test]
fn malformed_unit_durations_are_rejected() {
    for text in [
        "",
        "s",
        "-1 s",
        "1.5 s",
        "10 parsecs",
        "10 s s",
        "ten seconds",
        "1 us",
    ] {
        assert!(parse_duration(text).is_err(), "{text}");
    }
    assert!(
        parse_duration("99999999999999999999 d").is_err(),
        "too large"
    );
    assert!(
        parse_duration("18446744073709551615 s").is_ok(),
        "u64::MAX seconds"
    );
    assert!(parse_duration("18446744073709551616 s").is_err());
}

#[test]
fn a_bad_duration_is_an_error_naming_key_and_value() {
    let error = set_error("execution.checkpointing.timeout", "10 parsecs");
    assert_invalid_value(&error, "execution.checkpointing.timeout", "10 parsecs");
    assert!(error.to_string().contains("parsecs"));
    assert_eq!(error.key(), Some("execution.checkpointing.timeout"));
}

#[test]
fn a_bad_value_under_a_deprecated_name_names_that_name() {
    let error = set_error("state.checkpoints.num-retained", "many");
    assert_invalid_value(&error, "state.checkpoints.num-retained", "many");
}

#[test]
fn an_unknown_key_is_an_error_naming_it() {
    let error = set_error("execution.checkpointing.intervall", "10 s");
    assert!(
        matches!(&error, ConfigError::UnknownKey { key } if key == "execution.checkpointing.intervall")
    );
    assert!(error
        .to_string()
        .contains("execution.checkpointing.intervall"));
    assert_eq!(
        Configuration::new().get("execution.checkpointing.intervall"),
        None
    );
}

#[test]
fn booleans_are_true_or_false_in_any_case() {
    let key = "execution.checkpointing.incremental";
    for (text, expected) in [("true", true), ("TRUE", true), ("False", false)] {
        let config = config(&[(key, text)]);
        assert_eq!(
            config.checkpoint_config().map(|c| c.incremental).ok(),
            Some(expected)
        );
    }
    for text in ["yes", "1", "on", ""] {
        assert_invalid_value(&set_error(key, text), key, text);
    }
}

#[test]
fn integers_must_be_whole_and_in_range() {
    let key = "execution.checkpointing.tolerable-failed-checkpoints";
    assert_eq!(
        config(&[(key, "+3")])
            .checkpoint_config()
            .map(|c| c.tolerable_failed_checkpoints)
            .ok(),
        Some(3)
    );
    for text in ["-1", "1.5", "abc", "2147483648"] {
        assert_invalid_value(&set_error(key, text), key, text);
    }
    assert!(Configuration::new().set(key, "2147483647").is_ok());
}

#[test]
fn floats_must_be_finite_numbers() {
    let key = "restart-strategy.exponential-delay.jitter-factor";
    for text in ["NaN", "inf", "half"] {
        assert_invalid_value(&set_error(key, text), key, text);
    }
    assert!(Configuration::new().set(key, "0.25").is_ok());
}

#[test]
fn enum_values_match_case_insensitively() {
    let key = "execution.checkpointing.mode";
    for text in ["AT_LEAST_ONCE", "at_least_once", "At_Least_Once"] {
        let config = config(&[(key, text)]);
        assert_eq!(
            config.checkpoint_config().map(|c| c.mode).ok(),
            Some(CheckpointingMode::AtLeastOnce)
        );
    }
    let error = set_error(key, "exactly-once");
    assert_invalid_value(&error, key, "exactly-once");
    assert!(error.to_string().contains("EXACTLY_ONCE, AT_LEAST_ONCE"));
    let backend = config(&[("state.backend.type", "RocksDB")]);
    assert_eq!(
        backend.state_backend().ok(),
        Some(StateBackendKind::RocksDb)
    );
    assert_invalid_value(
        &set_error("state.backend.type", "memory"),
        "state.backend.type",
        "memory",
    );
    assert_eq!(
        config(&[("jobmanager.execution.failover-strategy", "REGION")])
            .failover_strategy()
            .ok(),
        Some(FailoverStrategyKind::Region)
    );
    assert_eq!(
        config(&[("execution.state-recovery.claim-mode", "no_claim")])
            .claim_mode()
            .ok(),
        Some(RecoveryClaimMode::NoClaim)
    );
}

#[test]
fn enum_kinds_display_as_flink_spells_them() {
    assert_eq!(StateBackendKind::RocksDb.to_string(), "rocksdb");
    assert_eq!(FailoverStrategyKind::Full.to_string(), "full");
    assert_eq!(RecoveryClaimMode::NoClaim.to_string(), "NO_CLAIM");
}

#[test]
fn every_restart_strategy_alias_names_its_strategy() {
    let cases = [
        ("disable", "NoRestart"),
        ("off", "NoRestart"),
        ("none", "NoRestart"),
        ("NONE", "NoRestart"),
        ("fixed-delay", "FixedDelay"),
        ("fixeddelay", "FixedDelay"),
        ("failure-rate", "FailureRate"),
        ("failurerate", "FailureRate"),
        ("exponential-delay", "ExponentialDelay"),
        ("ExponentialDelay", "ExponentialDelay"),
    ];
    for (alias, variant) in cases {
        let strategy = config(&[("restart-strategy.type", alias)]).restart_strategy();
        let strategy = strategy.expect("valid").expect("set");
        assert!(
            format!("{strategy:?}").starts_with(variant),
            "{alias}: {strategy:?}"
        );
    }
    let key = "restart-strategy.type";
    assert_invalid_value(&set_error(key, "sometimes"), key, "sometimes");
}

#[test]
fn restart_strategy_parameters_default_as_in_flink() {
    let strategy = |name| {
        config(&[("restart-strategy.type", name)])
            .restart_strategy()
            .ok()
    };
    assert_eq!(
        strategy("fixed-delay"),
        Some(Some(RestartStrategyConfig::FixedDelay {
            attempts: 1,
            delay: Duration::from_secs(1)
        }))
    );
    assert_eq!(
        strategy("failure-rate"),
        Some(Some(RestartStrategyConfig::FailureRate {
            max_failures_per_interval: 1,
            failure_rate_interval: Duration::from_secs(60),
            delay: Duration::from_secs(1),
        }))
    );
    assert_eq!(
        strategy("exponential-delay"),
        Some(Some(RestartStrategyConfig::ExponentialDelay {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            backoff_multiplier: 1.5,
            reset_backoff_threshold: Duration::from_secs(3600),
            jitter_factor: 0.1,
            attempts_before_reset_backoff: 2_147_483_647,
        }))
    );
}

#[test]
fn restart_strategy_parameters_are_read_from_their_keys() {
    let mut settings = samples();
    settings.retain(|(key, _)| key.starts_with("restart-strategy."));
    let mut config = config(&settings);
    config
        .set("restart-strategy.type", "failure-rate")
        .expect("valid");
    assert_eq!(
        config.restart_strategy().ok(),
        Some(Some(RestartStrategyConfig::FailureRate {
            max_failures_per_interval: 2,
            failure_rate_interval: Duration::from_secs(300),
            delay: Duration::from_secs(2),
        }))
    );
    config
        .set("restart-strategy.type", "exponential-delay")
        .expect("valid");
    assert_eq!(
        config.restart_strategy().ok(),
        Some(Some(RestartStrategyConfig::ExponentialDelay {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            backoff_multiplier: 2.0,
            reset_backoff_threshold: Duration::from_secs(7200),
            jitter_factor: 0.2,
            attempts_before_reset_backoff: 10,
        }))
    );
}

#[test]
fn invalid_restart_strategy_parameters_are_errors_naming_the_parameter() {
    let multiplier = "restart-strategy.exponential-delay.backoff-multiplier";
    let config = config(&[
        ("restart-strategy.type", "exponential-delay"),
        (multiplier, "1.0"),
    ]);
    let error = config.restart_strategy().unwrap_err();
    assert!(matches!(
        &error,
        ConfigError::RestartStrategy {
            strategy: "exponential-delay",
            source: RestartStrategyError::MultiplierNotAboveOne { key, .. },
        } if *key == multiplier
    ));
    assert!(error.to_string().contains(multiplier), "{error}");
    assert_eq!(error.key(), Some("restart-strategy.type"));

    let failures = "restart-strategy.failure-rate.max-failures-per-interval";
    let config = config_with_failure_rate(failures, "0");
    assert!(config
        .restart_strategy()
        .unwrap_err()
        .to_string()
        .contains(failures));
}

fn config_with_failure_rate(key: &str, value: &str) -> Configuration {
    config(&[("restart-strategy.type", "failurerate"), (key, value)])
}

#[test]
fn typed_builder_and_keys_give_equal_checkpoint_configs() {
    let from_keys = config(&[
        ("execution.checkpointing.interval", "PT30S"),
        ("execution.checkpointing.mode", "exactly_once"),
        ("execution.checkpointing.timeout", "2 min"),
        ("execution.checkpointing.min-pause", "1s"),
        ("execution.checkpointing.max-concurrent-checkpoints", "1"),
        ("execution.checkpointing.tolerable-failed-checkpoints", "2"),
        (
            "execution.checkpointing.externalized-checkpoint-retention",
            "delete_on_cancellation",
        ),
        ("execution.checkpointing.num-retained", "3"),
        ("execution.checkpointing.storage", "filesystem"),
        (
            "execution.checkpointing.dir",
            "file:///var/weir/checkpoints",
        ),
        ("execution.checkpointing.incremental", "true"),
        ("execution.checkpointing.unaligned.enabled", "true"),
        (
            "execution.checkpointing.aligned-checkpoint-timeout",
            "200 ms",
        ),
    ])
    .checkpoint_config()
    .expect("valid");
    let built = CheckpointConfig::new()
        .with_interval(Duration::from_secs(30))
        .with_mode(CheckpointingMode::ExactlyOnce)
        .with_timeout(Duration::from_secs(120))
        .with_min_pause(Duration::from_secs(1))
        .with_max_concurrent(1)
        .with_tolerable_failed_checkpoints(2)
        .with_externalized_retention(ExternalizedCheckpointRetention::DeleteOnCancellation)
        .with_num_retained(3)
        .with_storage(CheckpointStorageConfig::FileSystem(
            "/var/weir/checkpoints".into(),
        ))
        .with_incremental(true)
        .with_unaligned(true)
        .with_aligned_checkpoint_timeout(Duration::from_millis(200));
    assert_eq!(from_keys, built);
}

#[test]
fn checkpoint_validation_errors_name_the_flink_key() {
    let interval = config(&[("execution.checkpointing.interval", "5 ms")]);
    let error = interval.checkpoint_config().unwrap_err();
    assert!(matches!(
        error,
        ConfigError::Checkpoint(CheckpointConfigError::TooShort {
            key: "execution.checkpointing.interval",
            ..
        })
    ));
    let concurrent = config(&[("execution.checkpointing.max-concurrent-checkpoints", "0")]);
    let error = concurrent.checkpoint_config().unwrap_err();
    assert_eq!(
        error.key(),
        Some("execution.checkpointing.max-concurrent-checkpoints")
    );
    assert!(error
        .to_string()
        .contains("execution.checkpointing.max-concurrent-checkpoints"));
}

#[test]
fn checkpoint_storage_follows_flinks_rules() {
    let storage = |pairs: &[(&str, &str)]| config(pairs).checkpoint_config().map(|c| c.storage);
    let dir = ("execution.checkpointing.dir", "/tmp/ckpt");
    let file_system = Some(CheckpointStorageConfig::FileSystem("/tmp/ckpt".into()));
    assert_eq!(storage(&[dir]).ok(), Some(file_system.clone()));
    assert_eq!(
        storage(&[("execution.checkpointing.storage", "JobManager"), dir]).ok(),
        Some(Some(CheckpointStorageConfig::JobManager))
    );
    assert_eq!(
        storage(&[("execution.checkpointing.storage", "filesystem"), dir]).ok(),
        Some(file_system)
    );
    let missing = storage(&[("execution.checkpointing.storage", "filesystem")]).unwrap_err();
    assert!(matches!(
        missing,
        ConfigError::MissingKey {
            key: "execution.checkpointing.dir",
            required_by: "execution.checkpointing.storage",
            ..
        }
    ));
}

#[test]
fn directories_accept_file_uris_and_refuse_other_schemes() {
    let config = config(&[
        (
            "execution.checkpointing.savepoint-dir",
            "file:///data/savepoints",
        ),
        ("execution.state-recovery.path", "file:/data/chk-7"),
    ]);
    assert_eq!(config.savepoint_dir(), Some("/data/savepoints".into()));
    assert_eq!(config.state_recovery_path(), Some("/data/chk-7".into()));
    let key = "execution.checkpointing.dir";
    assert_invalid_value(&set_error(key, "s3://bucket/ckpt"), key, "s3://bucket/ckpt");
    assert_invalid_value(&set_error(key, ""), key, "");
}

#[test]
fn max_parallelism_is_minus_one_or_one_to_32768() {
    let key = "pipeline.max-parallelism";
    assert_eq!(config(&[(key, "-1")]).max_parallelism().ok(), Some(None));
    assert_eq!(
        config(&[(key, "32768")]).max_parallelism().ok(),
        Some(Some(32768))
    );
    for text in ["0", "-2", "32769", "many"] {
        assert_invalid_value(&set_error(key, text), key, text);
    }
}

#[test]
fn default_parallelism_must_be_positive() {
    let key = "parallelism.default";
    assert_eq!(
        config(&[(key, "4")]).parallelism_default().ok(),
        Some(Some(4))
    );
    for text in ["0", "-1"] {
        assert_invalid_value(&set_error(key, text), key, text);
    }
}

#[test]
fn set_trims_values_and_chains() {
    let mut config = Configuration::new();
    config
        .set("pipeline.name", "  job  ")
        .and_then(|c| c.set("parallelism.default", " 2 "))
        .expect("valid");
    assert_eq!(config.pipeline_name(), Some("job"));
    assert_eq!(config.get("parallelism.default"), Some("2"));
}

#[test]
fn a_flat_yaml_file_with_comments_and_blank_lines_parses() {
    let text = "# weir job\n\
        \n\
        execution.checkpointing.interval: 10 s   # every ten seconds\n\
        execution.checkpointing.mode: 'AT_LEAST_ONCE'\n\
        pipeline.name: \"word # count\" # quoted hash is kept\n\
        execution.checkpointing.dir: /tmp/a#b\r\n\
        \t\n\
        state.backend: rocksdb\n";
    let config = Configuration::from_yaml_str(text).expect("valid file");
    assert_eq!(config.get("execution.checkpointing.interval"), Some("10 s"));
    assert_eq!(
        config.get("execution.checkpointing.mode"),
        Some("AT_LEAST_ONCE")
    );
    assert_eq!(config.pipeline_name(), Some("word # count"));
    assert_eq!(config.get("execution.checkpointing.dir"), Some("/tmp/a#b"));
    assert_eq!(config.state_backend().ok(), Some(StateBackendKind::RocksDb));
    assert_eq!(config.iter().count(), 5);
}

#[test]
fn a_key_set_twice_in_a_file_takes_the_later_value() {
    let config = Configuration::from_yaml_str("parallelism.default: 2\nparallelism.default: 3\n");
    assert_eq!(
        config.expect("valid").parallelism_default().ok(),
        Some(Some(3))
    );
}

fn line_error(text: &str) -> (usize, ConfigError) {
    match Configuration::from_yaml_str(text).unwrap_err() {
        ConfigError::AtLine {
            file: None,
            line,
            source,
        } => (line, *source),
        other => panic!("expected AtLine, got {other:?}"),
    }
}

#[test]
fn a_nested_yaml_block_is_an_error_naming_its_line() {
    let (line, error) = line_error("# comment\nexecution:\n  checkpointing:\n    interval: 10 s\n");
    assert_eq!(line, 2);
    assert!(matches!(
        error,
        ConfigError::Syntax {
            kind: SyntaxErrorKind::NestedBlock,
            ..
        }
    ));
    let (line, error) = line_error("parallelism.default: 1\n  indented: 2\n");
    assert_eq!(line, 2);
    assert!(matches!(
        error,
        ConfigError::Syntax {
            kind: SyntaxErrorKind::NestedBlock,
            ..
        }
    ));
}

#[test]
fn malformed_lines_are_syntax_errors_naming_their_line() {
    let cases = [
        ("pipeline.name 5\n", SyntaxErrorKind::MissingSeparator),
        ("pipeline.name:5\n", SyntaxErrorKind::MissingSeparator),
        (": 5\n", SyntaxErrorKind::EmptyKey),
        ("pipeline.name:\n", SyntaxErrorKind::MissingValue),
        ("pipeline.name: # nothing\n", SyntaxErrorKind::MissingValue),
        ("pipeline.name: \"open\n", SyntaxErrorKind::BadQuote),
        ("pipeline.name: 'a' b\n", SyntaxErrorKind::BadQuote),
    ];
    for (text, expected) in cases {
        let (line, error) = line_error(&format!("# header\n{text}"));
        assert_eq!(line, 2, "{text}");
        assert!(
            matches!(error, ConfigError::Syntax { kind, .. } if kind == expected),
            "{text}"
        );
    }
}

#[test]
fn errors_in_a_string_name_the_line_and_key() {
    let error = Configuration::from_yaml_str("pipeline.name: a\nno.such.key: 1\n").unwrap_err();
    assert_eq!(
        (error.line(), error.key(), error.file()),
        (Some(2), Some("no.such.key"), None)
    );
    assert!(error
        .to_string()
        .starts_with("line 2: unknown configuration key `no.such.key`"));
}

#[test]
fn a_file_error_names_the_file_and_the_line() {
    let path = temp_file(
        "unknown",
        "# weir\n\nexecution.checkpointing.intervall: 10 s\n",
    );
    let error = Configuration::from_file(&path).unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert_eq!(error.file(), Some(path.as_path()));
    assert_eq!(error.line(), Some(3));
    assert_eq!(error.key(), Some("execution.checkpointing.intervall"));
    let message = error.to_string();
    assert!(
        message.contains(&format!("{}:3", path.display())),
        "{message}"
    );
}

#[test]
fn a_bad_value_in_a_file_names_file_line_key_and_value() {
    let path = temp_file("bad-value", "restart-strategy.fixed-delay.delay: soon\n");
    let error = Configuration::from_file(&path).unwrap_err();
    let _ = std::fs::remove_file(&path);
    let message = error.to_string();
    for part in [
        format!("{}:1", path.display()).as_str(),
        "restart-strategy.fixed-delay.delay",
        "soon",
    ] {
        assert!(message.contains(part), "{message}");
    }
}

#[test]
fn a_good_file_reads_like_the_same_settings_set_in_code() {
    let path = temp_file("samples", SAMPLES_YAML);
    let from_file = Configuration::from_file(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(from_file.expect("valid file"), config(&samples()));
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_file() {
    let path = std::env::temp_dir().join("weir-configuration-does-not-exist.yaml");
    let error = Configuration::from_file(&path).unwrap_err();
    assert!(matches!(&error, ConfigError::Io { path: p, .. } if *p == path));
    assert!(error.to_string().contains(&path.display().to_string()));
}
