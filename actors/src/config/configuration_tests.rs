use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::checkpoint_config::{
    CheckpointConfig, CheckpointConfigError, CheckpointStorageConfig, CheckpointingMode,
    ExternalizedCheckpointRetention,
};
use crate::config::configuration::test_support::{config, samples, SAMPLES_YAML};
use crate::recovery::restart_strategy::{RestartStrategyConfig, RestartStrategyError};

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
        .with_incremental(true);
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
