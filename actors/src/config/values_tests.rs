use std::time::Duration;

use super::*;
use crate::config::checkpoint_config::{CheckpointStorageConfig, CheckpointingMode};
use crate::config::configuration::test_support::{assert_invalid_value, config, set_error};
use crate::config::configuration::{
    Configuration, FailoverStrategyKind, RecoveryClaimMode, StateBackendKind,
};

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
fn a_decimal_duration_is_refused_as_flink_refuses_it_naming_its_whole_forms() {
    for (text, forms) in [
        ("1.5 s", ["1500 ms", "PT1.5S"]),
        ("0.25s", ["250 ms", "PT0.25S"]),
        ("10,5 sec", ["10500 ms", "PT10.5S"]),
    ] {
        let reason = parse_duration(text).unwrap_err();
        assert!(reason.contains("whole number"), "{reason}");
        assert!(!reason.contains("unknown time unit"), "{reason}");
        for form in forms {
            assert!(reason.contains(form), "{text}: {reason}");
            assert!(parse_duration(form).is_ok(), "{form}");
        }
    }
    let reason = parse_duration("1.5 min").unwrap_err();
    assert!(
        reason.contains("whole number") && reason.contains("ISO-8601"),
        "{reason}"
    );
    let error = set_error("execution.checkpointing.timeout", "1.5 s");
    assert_invalid_value(&error, "execution.checkpointing.timeout", "1.5 s");
    assert!(error.to_string().contains("1500 ms"), "{error}");
}

#[test]
fn a_bad_duration_is_an_error_naming_key_and_value() {
    let error = set_error("execution.checkpointing.timeout", "10 parsecs");
    assert_invalid_value(&error, "execution.checkpointing.timeout", "10 parsecs");
    assert!(error.to_string().contains("parsecs"));
    assert_eq!(error.key(), Some("execution.checkpointing.timeout"));
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
fn directories_accept_file_uris_and_refuse_other_schemes() {
    let config = config(&[
        ("execution.checkpointing.dir", "file:///data/checkpoints"),
        ("execution.state-recovery.path", "file:/data/chk-7"),
    ]);
    assert_eq!(
        config.checkpoint_config().ok().and_then(|c| c.storage),
        Some(CheckpointStorageConfig::FileSystem(
            "/data/checkpoints".into()
        ))
    );
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
