use crate::config::checkpoint_config::CheckpointStorageConfig;
use crate::config::configuration::test_support::{
    assert_invalid_value, config, samples, set_error, UNSUPPORTED_SAMPLES,
};
use crate::config::configuration::{
    ConfigError, Configuration, RecoveryClaimMode, StateBackendKind,
};
use crate::recovery::restart_strategy::RestartStrategyConfig;

/// `old name -> new name: value` for every deprecated name that accepts a value.
const DEPRECATED: &str = "\
    state.checkpoints.num-retained -> execution.checkpointing.num-retained: 3\n\
    state.checkpoints.dir -> execution.checkpointing.dir: /tmp/c\n\
    state.backend.fs.checkpointdir -> execution.checkpointing.dir: /tmp/fs\n\
    state.savepoints.dir -> execution.checkpointing.savepoint-dir: /tmp/s\n\
    savepoints.state.backend.fs.dir -> execution.checkpointing.savepoint-dir: /tmp/s2\n\
    state.checkpoint-storage -> execution.checkpointing.storage: jobmanager\n\
    state.backend.incremental -> execution.checkpointing.incremental: true\n\
    execution.checkpointing.unaligned -> execution.checkpointing.unaligned.enabled: false\n\
    execution.checkpointing.alignment-timeout -> execution.checkpointing.aligned-checkpoint-timeout: 0 ms\n\
    execution.savepoint-restore-mode -> execution.state-recovery.claim-mode: NO_CLAIM\n\
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
    // Every key has a sample.
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
        ("state.backend.fs.checkpointdir", "/tmp/old"),
        ("execution.savepoint-restore-mode", "no_claim"),
        ("state.backend", "rocksdb"),
        ("restart-strategy", "none"),
        ("execution.savepoint.path", "/tmp/sp"),
        ("execution.savepoint.ignore-unclaimed-state", "true"),
    ]);
    let checkpoint = config.checkpoint_config().expect("valid");
    assert_eq!(checkpoint.num_retained, 3);
    assert_eq!(config.claim_mode().ok(), Some(RecoveryClaimMode::NoClaim));
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
        matches!(&error, ConfigError::UnknownKey { key, .. } if key == "execution.checkpointing.intervall")
    );
    assert!(error
        .to_string()
        .contains("execution.checkpointing.intervall"));
    assert_eq!(
        Configuration::new().get("execution.checkpointing.intervall"),
        None
    );
}

/// Everything a configuration decides, read through its typed accessors.
fn typed(config: &Configuration) -> String {
    format!(
        "{:?}",
        (
            config.checkpoint_config(),
            config.effective_restart_strategy(),
            config.state_backend(),
            config.failover_strategy(),
            config.max_parallelism(),
            config.parallelism_default(),
            config.state_recovery_path(),
            config.allow_non_restored_state(),
            config.claim_mode(),
            config.savepoint_dir(),
            config.pipeline_name(),
        )
    )
}

/// The settings a key takes effect with: a strategy's parameters need that strategy, the storage
/// name needs a directory (so `jobmanager` is the value that changes something).
fn context_of(key: &str) -> Vec<(&'static str, &'static str)> {
    let strategy = [
        ("restart-strategy.fixed-delay.", "fixed-delay"),
        ("restart-strategy.failure-rate.", "failure-rate"),
        ("restart-strategy.exponential-delay.", "exponential-delay"),
    ];
    if let Some((_, name)) = strategy.iter().find(|(prefix, _)| key.starts_with(prefix)) {
        return vec![("restart-strategy.type", name)];
    }
    if key == "execution.checkpointing.storage" {
        return vec![("execution.checkpointing.dir", "/tmp/weir/c")];
    }
    Vec::new()
}

/// A value of `key` other than its default.
fn changed_value(key: &str) -> &'static str {
    let sample = UNSUPPORTED_SAMPLES
        .iter()
        .copied()
        .chain(samples())
        .find(|(k, _)| *k == key);
    match sample {
        Some(("execution.checkpointing.storage", _)) => "jobmanager",
        Some((_, value)) => value,
        None => panic!("no sample value for `{key}`"),
    }
}

#[test]
fn every_key_changes_a_typed_setting_or_is_refused() {
    let mut refused = Vec::new();
    for key in Configuration::known_keys() {
        let base = config(&context_of(key));
        let mut changed = base.clone();
        match changed.set(key, changed_value(key)) {
            Ok(_) => assert_ne!(
                typed(&changed),
                typed(&base),
                "`{key}: {}` is accepted but changes nothing",
                changed_value(key)
            ),
            Err(ConfigError::Unsupported { key: named, .. }) => {
                assert_eq!(named, key);
                refused.push(key);
            }
            Err(other) => panic!("`{key}`: {other}"),
        }
    }
    assert_eq!(
        refused,
        [
            "execution.checkpointing.unaligned.enabled",
            "execution.checkpointing.aligned-checkpoint-timeout",
        ]
    );
}

#[test]
fn a_missing_feature_is_refused_naming_the_key_but_its_default_is_accepted() {
    for (key, value) in UNSUPPORTED_SAMPLES {
        let error = set_error(key, value);
        assert!(
            matches!(&error, ConfigError::Unsupported { key: k, value: v, .. } if k == key && v == value),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(key) && message.contains("not supported"),
            "{message}"
        );
        let description = Configuration::describe(key).expect("known");
        assert!(description.unsupported.is_some(), "{key}");
        if let Some(default) = description.default {
            assert!(Configuration::new().set(key, default).is_ok(), "{key}");
        }
    }
    // Another spelling of the default is the default too.
    assert!(Configuration::new()
        .set("execution.checkpointing.aligned-checkpoint-timeout", "PT0S")
        .is_ok());
    // Refused in a file, at its line.
    let error = Configuration::from_yaml_str(
        "pipeline.name: a\nexecution.checkpointing.unaligned.enabled: true\n",
    )
    .unwrap_err();
    assert_eq!(error.line(), Some(2));
    assert_eq!(
        error.key(),
        Some("execution.checkpointing.unaligned.enabled")
    );
    // CLAIM is accepted; LEGACY (gone from Flink 2) is not a claim mode.
    let claim = Configuration::from_yaml_str("execution.state-recovery.claim-mode: CLAIM\n");
    let claim = claim.map(|c| c.claim_mode().ok());
    assert_eq!(claim.ok().flatten(), Some(RecoveryClaimMode::Claim));
    assert!(Configuration::new()
        .set("execution.state-recovery.claim-mode", "LEGACY")
        .is_err());
}

#[test]
fn flinks_other_deprecated_names_are_accepted_as_their_replacements() {
    let dir = config(&[("state.backend.fs.checkpointdir", "/data/ckpt")]);
    assert_eq!(
        dir.checkpoint_config().map(|c| c.storage).ok(),
        Some(Some(CheckpointStorageConfig::FileSystem(
            "/data/ckpt".into()
        )))
    );
    let claim = config(&[("execution.savepoint-restore-mode", "NO_CLAIM")]);
    assert_eq!(
        claim.get("execution.state-recovery.claim-mode"),
        Some("NO_CLAIM")
    );
    for (old, new) in [
        (
            "state.backend.fs.checkpointdir",
            "execution.checkpointing.dir",
        ),
        (
            "savepoints.state.backend.fs.dir",
            "execution.checkpointing.savepoint-dir",
        ),
        (
            "execution.savepoint-restore-mode",
            "execution.state-recovery.claim-mode",
        ),
    ] {
        assert_eq!(Configuration::replacement_for(old), Some(new));
    }
    // A deprecated name of a refused key is refused like the key, not as unknown.
    let unaligned = set_error("execution.checkpointing.unaligned", "true");
    assert!(
        matches!(&unaligned, ConfigError::Unsupported { key, .. } if key == "execution.checkpointing.unaligned")
    );
    // A deprecated name of a supported key takes its values.
    let claim = config(&[("execution.savepoint-restore-mode", "CLAIM")]);
    assert_eq!(claim.claim_mode().ok(), Some(RecoveryClaimMode::Claim));
}

#[test]
fn the_savepoint_directory_and_its_older_names_set_the_default_savepoint_directory() {
    for key in [
        "execution.checkpointing.savepoint-dir",
        "state.savepoints.dir",
        "savepoints.state.backend.fs.dir",
    ] {
        assert_eq!(
            config(&[(key, "/tmp/s")]).savepoint_dir(),
            Some("/tmp/s".into()),
            "{key}"
        );
        assert_invalid_value(&set_error(key, "s3://bucket"), key, "s3://bucket");
    }
}

#[test]
fn every_key_describes_its_default_its_older_names_and_what_it_sets() {
    let described: Vec<_> = Configuration::key_descriptions().map(|d| d.name).collect();
    assert_eq!(described, Configuration::known_keys().collect::<Vec<_>>());
    for description in Configuration::key_descriptions() {
        let key = description.name;
        assert!(!description.description.is_empty(), "{key}");
        assert!(!description.description.starts_with(' '), "{key}");
        assert_eq!(Configuration::describe(key), Some(description));
        for old in description.deprecated_names {
            assert_eq!(Configuration::describe(old), Some(description), "{old}");
        }
        // Setting a key to its described default changes nothing.
        if let Some(default) = description.default {
            let base = config(&context_of(key));
            let mut set = base.clone();
            set.set(key, default).expect("the default is accepted");
            assert_eq!(typed(&set), typed(&base), "`{key}: {default}`");
        }
    }
    let timeout = Configuration::describe("execution.checkpointing.timeout").expect("known");
    assert_eq!(timeout.default, Some("10 min"));
    let dir = Configuration::describe("state.backend.fs.checkpointdir").expect("known");
    assert_eq!(dir.name, "execution.checkpointing.dir");
    assert_eq!(
        dir.deprecated_names,
        ["state.checkpoints.dir", "state.backend.fs.checkpointdir"]
    );
    assert_eq!(dir.default, None);
    assert_eq!(Configuration::describe("no.such.key"), None);
}

#[test]
fn an_unknown_key_suggests_the_key_it_most_likely_means() {
    let suggested = |key: &str| match set_error(key, "1") {
        ConfigError::UnknownKey { suggestion, .. } => suggestion,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        suggested("execution.checkpointing.intervall"),
        Some("execution.checkpointing.interval")
    );
    assert_eq!(
        suggested("checkpointing.num-retained"),
        Some("execution.checkpointing.num-retained")
    );
    assert_eq!(suggested("STATE.BACKEND.TYPE"), Some("state.backend.type"));
    assert_eq!(
        suggested("state.checkpoint.dir"),
        Some("execution.checkpointing.dir"),
        "a typo of a deprecated name suggests the current name"
    );
    assert_eq!(suggested("taskmanager.memory.process.size"), None);
    let message = set_error("pipeline.nmae", "x").to_string();
    assert!(
        message.contains("did you mean `pipeline.name`?"),
        "{message}"
    );
}
