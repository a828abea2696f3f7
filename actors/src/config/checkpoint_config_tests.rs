use super::*;

#[test]
fn defaults_match_flink() {
    let config = CheckpointConfig::new();
    assert!(!config.is_enabled());
    assert_eq!(config.mode, CheckpointingMode::ExactlyOnce);
    assert_eq!(config.timeout, Duration::from_secs(600));
    assert_eq!(config.min_pause, Duration::ZERO);
    assert_eq!(config.max_concurrent, 1);
    assert_eq!(config.tolerable_failed_checkpoints, 0);
    assert_eq!(config.num_retained, 1);
    assert_eq!(
        config.externalized_retention,
        ExternalizedCheckpointRetention::NoExternalizedCheckpoints
    );
    assert_eq!(config.storage, None);
    assert!(!config.incremental && !config.unaligned);
    assert_eq!(config.aligned_checkpoint_timeout, Duration::ZERO);
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn builder_sets_every_field() {
    let config = CheckpointConfig::new()
        .with_interval(Duration::from_secs(5))
        .with_mode(CheckpointingMode::AtLeastOnce)
        .with_timeout(Duration::from_secs(30))
        .with_min_pause(Duration::from_millis(500))
        .with_max_concurrent(3)
        .with_tolerable_failed_checkpoints(2)
        .with_num_retained(4)
        .with_externalized_retention(ExternalizedCheckpointRetention::RetainOnCancellation)
        .with_storage(CheckpointStorageConfig::FileSystem("/tmp/ckpt".into()))
        .with_incremental(true)
        .with_aligned_checkpoint_timeout(Duration::from_secs(1));
    assert!(config.is_enabled());
    assert_eq!(config.interval, Some(Duration::from_secs(5)));
    assert_eq!(config.mode, CheckpointingMode::AtLeastOnce);
    assert_eq!(config.timeout, Duration::from_secs(30));
    assert_eq!(config.min_pause, Duration::from_millis(500));
    assert_eq!(config.max_concurrent, 3);
    assert_eq!(config.tolerable_failed_checkpoints, 2);
    assert_eq!(config.num_retained, 4);
    assert_eq!(
        config.storage,
        Some(CheckpointStorageConfig::FileSystem("/tmp/ckpt".into()))
    );
    assert!(config.incremental);
    assert_eq!(config.aligned_checkpoint_timeout, Duration::from_secs(1));
    // The timeout has no effect without unaligned checkpoints, which weir lacks: refused.
    assert!(matches!(
        config.validate(),
        Err(CheckpointConfigError::Unsupported { .. })
    ));
    let supported = config
        .clone()
        .with_aligned_checkpoint_timeout(Duration::ZERO);
    assert_eq!(supported.validate(), Ok(()));
    assert!(!config.without_interval().is_enabled());
}

#[test]
fn interval_below_ten_milliseconds_is_rejected_naming_the_key() {
    let error = CheckpointConfig::new()
        .with_interval(Duration::from_millis(9))
        .validate()
        .unwrap_err();
    assert_eq!(error.key(), "execution.checkpointing.interval");
    assert!(error
        .to_string()
        .contains("execution.checkpointing.interval"));
    let ok = CheckpointConfig::new().with_interval(Duration::from_millis(10));
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn timeout_below_ten_milliseconds_is_rejected_naming_the_key() {
    let error = CheckpointConfig::new()
        .with_timeout(Duration::from_millis(1))
        .validate()
        .unwrap_err();
    assert_eq!(
        error,
        CheckpointConfigError::TooShort {
            key: "execution.checkpointing.timeout",
            value: Duration::from_millis(1),
            min: MINIMAL_CHECKPOINT_TIME,
        }
    );
}

#[test]
fn zero_concurrent_or_retained_checkpoints_are_rejected() {
    let concurrent = CheckpointConfig::new().with_max_concurrent(0).validate();
    assert_eq!(
        concurrent.unwrap_err().key(),
        "execution.checkpointing.max-concurrent-checkpoints"
    );
    let retained = CheckpointConfig::new().with_num_retained(0).validate();
    assert_eq!(
        retained.unwrap_err().key(),
        "execution.checkpointing.num-retained"
    );
}

#[test]
fn file_system_storage_needs_a_directory() {
    let error = CheckpointConfig::new()
        .with_storage(CheckpointStorageConfig::FileSystem(PathBuf::new()))
        .validate()
        .unwrap_err();
    assert_eq!(error.key(), "execution.checkpointing.dir");
}

#[test]
fn unaligned_checkpoints_need_exactly_once_and_one_at_a_time() {
    let unaligned = CheckpointConfig::new().with_unaligned(true);
    let at_least_once = unaligned.clone().with_mode(CheckpointingMode::AtLeastOnce);
    let error = at_least_once.validate().unwrap_err();
    assert_eq!(error.key(), "execution.checkpointing.unaligned.enabled");
    assert!(error.to_string().contains("execution.checkpointing.mode"));
    let concurrent = unaligned.with_max_concurrent(2).validate().unwrap_err();
    assert!(matches!(
        concurrent,
        CheckpointConfigError::Conflict {
            conflicting_key: "execution.checkpointing.max-concurrent-checkpoints",
            ..
        }
    ));
}

#[test]
fn unaligned_checkpoints_and_their_timeout_are_refused_until_weir_has_them() {
    let unaligned = CheckpointConfig::new().with_unaligned(true).validate();
    assert!(matches!(
        unaligned,
        Err(CheckpointConfigError::Unsupported {
            key: "execution.checkpointing.unaligned.enabled",
            ..
        })
    ));
    let timeout = CheckpointConfig::new()
        .with_aligned_checkpoint_timeout(Duration::from_secs(1))
        .validate();
    assert!(matches!(
        timeout,
        Err(CheckpointConfigError::Unsupported {
            key: "execution.checkpointing.aligned-checkpoint-timeout",
            ..
        })
    ));
    let message = CheckpointConfig::new()
        .with_unaligned(true)
        .validate()
        .map_err(|e| e.to_string());
    assert!(matches!(message, Err(m) if m.contains("no unaligned checkpoints")));
    let defaults = CheckpointConfig::new()
        .with_unaligned(false)
        .with_aligned_checkpoint_timeout(Duration::ZERO);
    assert_eq!(defaults.validate(), Ok(()));
}

#[test]
fn enum_names_are_flinks() {
    let modes: Vec<_> = CheckpointingMode::ALL
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(modes, ["EXACTLY_ONCE", "AT_LEAST_ONCE"]);
    let retention: Vec<_> = ExternalizedCheckpointRetention::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(
        retention,
        [
            "NO_EXTERNALIZED_CHECKPOINTS",
            "RETAIN_ON_CANCELLATION",
            "DELETE_ON_CANCELLATION"
        ]
    );
    assert_eq!(CheckpointStorageConfig::JobManager.as_str(), "jobmanager");
    assert_eq!(
        CheckpointStorageConfig::FileSystem("/x".into()).as_str(),
        "filesystem"
    );
}
