//! Typed settings read over a base (settings made in code), and errors placed at the line a key
//! was read from.

use std::time::Duration;

use super::*;
use crate::config::checkpoint_config::{
    CheckpointConfig, CheckpointConfigError, CheckpointStorageConfig,
};
use crate::config::configuration::test_support::config;
use crate::recovery::restart_strategy::RestartStrategyConfig;

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "weir-configuration-over-{name}-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn a_zero_interval_in_a_file_is_an_error_naming_the_file_and_line() {
    let path = temp_file(
        "zero-interval",
        "pipeline.name: job\nexecution.checkpointing.interval: 0 ms\n",
    );
    let config = Configuration::from_file(&path).expect("parses: 0 ms is a duration");
    let error = config.checkpoint_config().unwrap_err();
    let _ = std::fs::remove_file(&path);
    match &error {
        ConfigError::AtLine { file, line, source } => {
            assert_eq!((file.as_deref(), *line), (Some(path.as_path()), 2));
            assert!(matches!(
                **source,
                ConfigError::Checkpoint(CheckpointConfigError::TooShort {
                    key: "execution.checkpointing.interval",
                    ..
                })
            ));
        }
        other => panic!("expected AtLine, got {other:?}"),
    }
    assert!(error
        .to_string()
        .starts_with(&format!("{}:2: ", path.display())));
    assert_eq!(error.key(), Some("execution.checkpointing.interval"));
    // Set again in code, the value has no line to name.
    let mut config = config;
    config
        .set("execution.checkpointing.interval", "0 ms")
        .expect("parses");
    assert!(matches!(
        config.checkpoint_config(),
        Err(ConfigError::Checkpoint(_))
    ));
}

#[test]
fn a_bad_restart_parameter_in_a_string_names_its_line() {
    let config = Configuration::from_yaml_str(
        "restart-strategy.type: exponential-delay\n\
         restart-strategy.exponential-delay.backoff-multiplier: 0.5\n",
    )
    .expect("parses");
    let error = config.restart_strategy().unwrap_err();
    assert_eq!(error.line(), Some(2));
    assert!(matches!(
        &error,
        ConfigError::AtLine { source, .. }
            if matches!(**source, ConfigError::RestartStrategy { strategy: "exponential-delay", .. })
    ));
}

#[test]
fn settings_over_a_base_change_only_the_keys_present() {
    let base = CheckpointConfig::new()
        .with_interval(Duration::from_secs(5))
        .with_num_retained(3)
        .with_storage(CheckpointStorageConfig::FileSystem("/code/dir".into()));
    let named_only = config(&[("pipeline.name", "job")]);
    assert_eq!(
        named_only.checkpoint_config_over(&base).ok(),
        Some(base.clone())
    );
    let some = config(&[
        ("execution.checkpointing.timeout", "1 min"),
        ("execution.checkpointing.storage", "filesystem"),
    ]);
    let merged = some.checkpoint_config_over(&base).expect("valid");
    assert_eq!(merged, base.clone().with_timeout(Duration::from_secs(60)));
    let memory = config(&[("execution.checkpointing.storage", "jobmanager")]);
    assert_eq!(
        memory.checkpoint_config_over(&base).map(|c| c.storage).ok(),
        Some(Some(CheckpointStorageConfig::JobManager))
    );
}

#[test]
fn restart_settings_over_a_base_keep_its_other_parameters() {
    let base = RestartStrategyConfig::FixedDelay {
        attempts: 5,
        delay: Duration::from_secs(3),
    };
    assert_eq!(
        config(&[("pipeline.name", "job")])
            .restart_strategy_over(Some(&base))
            .ok(),
        Some(Some(base.clone()))
    );
    let attempts = config(&[("restart-strategy.fixed-delay.attempts", "7")]);
    assert_eq!(
        attempts.restart_strategy_over(Some(&base)).ok(),
        Some(Some(RestartStrategyConfig::FixedDelay {
            attempts: 7,
            delay: Duration::from_secs(3)
        }))
    );
    let other = config(&[("restart-strategy.type", "failure-rate")]);
    assert_eq!(
        other.restart_strategy_over(Some(&base)).ok(),
        Some(Some(RestartStrategyConfig::failure_rate_default()))
    );
    assert_eq!(attempts.restart_strategy_over(None).ok(), Some(None));
}
