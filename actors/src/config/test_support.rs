//! Shared fixtures for the configuration tests: one sample value for every known key, and helpers
//! that build a configuration or capture the error of a single `set`.

use super::*;

/// One sample value for every key that accepts a value, in table order, as a flat YAML file would
/// hold it. Keys whose feature weir lacks hold their default here (see [`UNSUPPORTED_SAMPLES`]).
pub(crate) const SAMPLES_YAML: &str = "\
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
    execution.checkpointing.aligned-checkpoint-timeout: 0 ms\n\
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

/// A value other than the default for every key whose feature weir lacks: each is refused.
pub(crate) const UNSUPPORTED_SAMPLES: &[(&str, &str)] = &[
    ("execution.checkpointing.unaligned.enabled", "true"),
    ("execution.checkpointing.aligned-checkpoint-timeout", "PT1S"),
];

pub(crate) fn samples() -> Vec<(&'static str, &'static str)> {
    SAMPLES_YAML
        .lines()
        .filter_map(|line| line.trim().split_once(": "))
        .collect()
}

pub(crate) fn config(pairs: &[(&str, &str)]) -> Configuration {
    let mut config = Configuration::new();
    for (key, value) in pairs {
        config.set(key, value).expect("valid setting");
    }
    config
}

pub(crate) fn set_error(key: &str, value: &str) -> ConfigError {
    Configuration::new().set(key, value).map(drop).unwrap_err()
}

pub(crate) fn assert_invalid_value(error: &ConfigError, expected_key: &str, expected_value: &str) {
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
