//! Flink-style configuration applied to jobs: keys give the same job as the typed setters,
//! `configure` changes only the settings a configuration holds (and nothing when it fails),
//! settings weir cannot honour yet are refused, and errors name the key, the file and the line,
//! with a suggestion for an unknown key.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use weir::runtime::CheckpointId;
use weir::{
    CheckpointConfig, CheckpointStats, CheckpointStatus, CheckpointStorageConfig,
    CheckpointingMode, Configuration, ExternalizedCheckpointRetention as Retention, FaultInjector,
    JobError, StreamEnvironment,
};

const JOB: &str = "configured";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Parallelism 1, deterministic, checkpoints every `interval`.
fn env(interval: Duration) -> StreamEnvironment {
    let mut env = deterministic_env(11);
    env.set_parallelism(1)
        .set_job_id(JOB)
        .enable_checkpointing(interval);
    env
}

/// One record per millisecond of virtual time, `total` of them, counted per key.
fn counting_job(env: &StreamEnvironment, total: u64) {
    paced(env, "src", total, Pace::Every { burst: 1, polls: 1 })
        .key_by(|v| v % 16)
        .process(Sequence::default())
        .uid("count")
        .discard();
}

/// Checkpoints `ids` are acknowledged long after a 20 ms timeout.
fn expiring(ids: &[CheckpointId]) -> FaultInjector {
    ids.iter().fold(FaultInjector::new(), |f, id| {
        f.with(slow_ack("src", Some(*id), ms(500)))
    })
}

fn run(env: &StreamEnvironment) -> (Result<weir::JobResult, JobError>, Vec<CheckpointStats>) {
    finish(env.spawn().expect("job starts"))
}

fn keyed_configuration(dir: &Path) -> Configuration {
    let mut conf = Configuration::new();
    let dir = dir.display().to_string();
    for (key, value) in [
        ("execution.checkpointing.interval", "10 ms"),
        ("execution.checkpointing.mode", "AT_LEAST_ONCE"),
        ("execution.checkpointing.timeout", "PT0.02S"),
        ("execution.checkpointing.min-pause", "5 ms"),
        ("execution.checkpointing.max-concurrent-checkpoints", "2"),
        ("execution.checkpointing.tolerable-failed-checkpoints", "3"),
        (
            "execution.checkpointing.externalized-checkpoint-retention",
            "RETAIN_ON_CANCELLATION",
        ),
        ("state.checkpoints.num-retained", "4"),
        ("execution.checkpointing.dir", &dir),
        ("parallelism.default", "1"),
    ] {
        conf.set(key, value).expect(key);
    }
    conf
}

fn typed_config(dir: &Path) -> CheckpointConfig {
    CheckpointConfig::new()
        .with_interval(ms(10))
        .with_mode(CheckpointingMode::AtLeastOnce)
        .with_timeout(ms(20))
        .with_min_pause(ms(5))
        .with_max_concurrent(2)
        .with_tolerable_failed_checkpoints(3)
        .with_externalized_retention(Retention::RetainOnCancellation)
        .with_num_retained(4)
        .with_storage(CheckpointStorageConfig::FileSystem(dir.to_path_buf()))
}

#[test]
fn configuration_keys_give_the_same_checkpoint_config_as_the_typed_builder() {
    let dir = Path::new("/tmp/weir-checkpoints");
    let mut by_keys = StreamEnvironment::new();
    by_keys.configure(&keyed_configuration(dir)).expect("valid");
    assert_eq!(by_keys.checkpoint_config(), &typed_config(dir));
    assert_eq!(by_keys.config().parallelism, 1);
}

#[test]
fn a_job_configured_by_keys_checkpoints_exactly_like_the_typed_job() {
    let run_with = |configure: &dyn Fn(&mut StreamEnvironment, &Path)| {
        let tmp = tempfile::tempdir().unwrap();
        let mut env = env(ms(10));
        configure(&mut env, tmp.path());
        env.set_fault_injector(expiring(&[3, 4]).with(slow_ack("src", None, ms(15))));
        counting_job(&env, 205);
        let (result, stats) = run(&env);
        result.expect("job finishes");
        let seen: Vec<_> = stats
            .into_iter()
            .map(|s| (s.id, s.trigger_time, s.duration, s.status))
            .collect();
        seen
    };
    let by_keys = run_with(&|env, dir| {
        env.configure(&keyed_configuration(dir)).expect("valid");
    });
    let typed = run_with(&|env, dir| {
        env.set_checkpoint_config(typed_config(dir));
    });
    assert!(by_keys.len() >= 20, "{by_keys:?}");
    assert!(by_keys.iter().any(|s| s.3 != CheckpointStatus::Completed));
    assert_eq!(by_keys, typed);
}

#[test]
fn unknown_keys_and_bad_values_are_errors_naming_the_key() {
    let names = |error: String, words: &[&str]| {
        assert!(words.iter().all(|w| error.contains(w)), "{error}");
    };
    let mut conf = Configuration::new();
    let unknown = conf.set("execution.checkpointing.intervall", "10 ms");
    names(
        unknown.unwrap_err().to_string(),
        &["execution.checkpointing.intervall"],
    );
    let bad = conf.set("execution.checkpointing.interval", "ten seconds");
    names(
        bad.unwrap_err().to_string(),
        &["checkpointing.interval", "ten seconds"],
    );
    let file = Configuration::from_yaml_str("execution.checkpointing.interval: 1 s\nno.such: 1\n");
    names(file.unwrap_err().to_string(), &["no.such", "2"]);
    // Values that parse but that Flink rejects fail when the job is configured, naming the key.
    for (key, value) in [
        ("execution.checkpointing.interval", "5 ms"),
        ("execution.checkpointing.max-concurrent-checkpoints", "0"),
        ("execution.checkpointing.num-retained", "0"),
    ] {
        let mut conf = Configuration::new();
        conf.set("execution.checkpointing.interval", "10 ms")
            .unwrap();
        conf.set(key, value).expect("parses");
        let error = StreamEnvironment::new()
            .configure(&conf)
            .err()
            .expect("invalid");
        assert!(matches!(error, weir::Error::Config(_)), "{error}");
        names(error.to_string(), &[key]);
    }
}

/// An environment with every setting `configure` can change set in code.
fn set_in_code(dir: &Path) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.enable_checkpointing(ms(50))
        .set_checkpoint_dir(dir)
        .set_restart_strategy(weir::RestartStrategyConfig::FixedDelay {
            attempts: 3,
            delay: ms(700),
        })
        .set_failover_strategy(weir::FailoverStrategyKind::Full)
        .set_state_backend(weir::StateBackend::rocksdb())
        .set_allow_non_restored_state(true)
        .set_max_parallelism(64)
        .set_parallelism(3);
    env.checkpoint_config_mut().num_retained = 4;
    env
}

/// What `configure` can change, as a comparable text.
fn settings(env: &StreamEnvironment) -> String {
    format!(
        "{:?}",
        (
            env.checkpoint_config(),
            env.restart_strategy(),
            env.failover_strategy(),
            env.state_backend(),
            env.allow_non_restored_state(),
            env.config().max_parallelism,
            env.config().parallelism,
        )
    )
}

#[test]
fn configure_changes_only_the_settings_the_configuration_holds() {
    let dir = Path::new("/tmp/weir-configure");
    let mut env = set_in_code(dir);
    let before = settings(&env);
    let named = Configuration::from_yaml_str("pipeline.name: renamed\n").expect("valid");
    env.configure(&named).expect("applies");
    assert_eq!(
        settings(&env),
        before,
        "a job name leaves checkpointing and the rest alone"
    );
    assert_eq!(env.config().job_name, "renamed");
    assert!(env.checkpoint_config().is_enabled());

    let some = Configuration::from_yaml_str(
        "execution.checkpointing.timeout: 1 min\nrestart-strategy.fixed-delay.attempts: 5\n",
    )
    .expect("valid");
    env.configure(&some).expect("applies");
    let expected = set_in_code(dir);
    let mut expected_config = expected.checkpoint_config().clone();
    expected_config.timeout = Duration::from_secs(60);
    assert_eq!(env.checkpoint_config(), &expected_config);
    assert_eq!(
        env.restart_strategy(),
        Some(&weir::RestartStrategyConfig::FixedDelay {
            attempts: 5,
            delay: ms(700)
        })
    );
    assert_eq!(env.failover_strategy(), weir::FailoverStrategyKind::Full);
}

#[test]
fn a_configuration_that_fails_leaves_the_environment_as_it_was() {
    let mut env = set_in_code(Path::new("/tmp/weir-configure"));
    let before = settings(&env);
    let mut conf = Configuration::new();
    conf.set("pipeline.max-parallelism", "128").expect("valid");
    conf.set("execution.checkpointing.num-retained", "0")
        .expect("parses");
    let error = env.configure(&conf).err().expect("refused");
    assert!(matches!(error, weir::Error::Config(_)), "{error}");
    assert_eq!(settings(&env), before);
}

#[test]
fn settings_without_effect_are_refused_by_key_and_in_code() {
    let mut conf = Configuration::new();
    for (key, value) in [
        ("execution.checkpointing.unaligned.enabled", "true"),
        ("execution.checkpointing.aligned-checkpoint-timeout", "1 s"),
    ] {
        let error = conf.set(key, value).expect_err("refused");
        assert!(
            matches!(&error, weir::ConfigError::Unsupported { key: k, .. } if k == key),
            "{error:?}"
        );
    }
    // The typed setting is refused before the job runs.
    let mut env = env(ms(10));
    env.generate_sequence(1, 10).discard();
    env.checkpoint_config_mut().unaligned = true;
    match env.execute() {
        Err(weir::Error::Config(weir::ConfigError::Checkpoint(e))) => {
            assert_eq!(e.key(), "execution.checkpointing.unaligned.enabled");
            assert!(e.to_string().contains("no unaligned checkpoints"), "{e}");
        }
        other => panic!("expected an unsupported-setting error, got {other:?}"),
    }
}

#[test]
fn a_config_file_with_a_zero_interval_fails_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("config.yaml");
    std::fs::write(
        &path,
        "pipeline.name: job\nexecution.checkpointing.interval: 0 ms\n",
    )
    .expect("write");
    let conf = Configuration::from_file(&path).expect("parses");
    let error = StreamEnvironment::from_configuration(&conf)
        .err()
        .expect("refused");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:2: ", path.display())),
        "{message}"
    );
    assert!(
        message.contains("execution.checkpointing.interval"),
        "{message}"
    );
    match error {
        weir::Error::Config(e) => assert_eq!((e.file(), e.line()), (Some(path.as_path()), Some(2))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_key_suggests_the_known_one() {
    let error = Configuration::from_yaml_str("execution.checkpointing.intervall: 10 s\n")
        .expect_err("unknown key");
    let message = error.to_string();
    assert!(
        message.contains("did you mean `execution.checkpointing.interval`?"),
        "{message}"
    );
    let decimal = Configuration::from_yaml_str("execution.checkpointing.interval: 1.5 s\n")
        .expect_err("a decimal is refused as Flink refuses it");
    let message = decimal.to_string();
    assert!(
        message.contains("1500 ms") && message.contains("PT1.5S"),
        "{message}"
    );
}
