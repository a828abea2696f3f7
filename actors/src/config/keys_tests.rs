use std::time::Duration;

use crate::config::checkpoint_config::CheckpointStorageConfig;
use crate::config::configuration::test_support::{
    assert_invalid_value, config, samples, set_error,
};
use crate::config::configuration::{ConfigError, Configuration, StateBackendKind};
use crate::recovery::restart_strategy::RestartStrategyConfig;

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
