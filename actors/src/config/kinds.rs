//! The enumerated settings: checkpointing mode, externalized retention, state backend, failover
//! strategy and claim mode, each written as Flink names its values, and (inside the crate) the
//! names of checkpoint storages and restart strategies.
//!
//! Every module of `config` depends on this one and it depends on none of them, so the key
//! table, the value parsers and the typed settings can share these kinds without importing each
//! other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a checkpoint guarantees (`execution.checkpointing.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CheckpointingMode {
    /// Barriers are aligned: every record affects the state exactly once (`EXACTLY_ONCE`).
    #[default]
    ExactlyOnce,
    /// No alignment: after a restore some records may affect the state twice (`AT_LEAST_ONCE`).
    AtLeastOnce,
}

impl CheckpointingMode {
    /// Every mode, in declaration order.
    pub const ALL: [Self; 2] = [Self::ExactlyOnce, Self::AtLeastOnce];

    /// The value as Flink writes it: `EXACTLY_ONCE` or `AT_LEAST_ONCE`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::ExactlyOnce => "EXACTLY_ONCE",
            Self::AtLeastOnce => "AT_LEAST_ONCE",
        }
    }
}

/// What happens to completed checkpoints when the job is cancelled
/// (`execution.checkpointing.externalized-checkpoint-retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ExternalizedCheckpointRetention {
    /// Checkpoints are not kept beyond the job (`NO_EXTERNALIZED_CHECKPOINTS`).
    #[default]
    NoExternalizedCheckpoints,
    /// Checkpoints are kept when the job is cancelled (`RETAIN_ON_CANCELLATION`).
    RetainOnCancellation,
    /// Checkpoints are deleted when the job is cancelled, kept when it fails
    /// (`DELETE_ON_CANCELLATION`).
    DeleteOnCancellation,
}

impl ExternalizedCheckpointRetention {
    /// Every retention policy, in declaration order.
    pub const ALL: [Self; 3] = [
        Self::NoExternalizedCheckpoints,
        Self::RetainOnCancellation,
        Self::DeleteOnCancellation,
    ];

    /// The value as Flink writes it, e.g. `RETAIN_ON_CANCELLATION`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::NoExternalizedCheckpoints => "NO_EXTERNALIZED_CHECKPOINTS",
            Self::RetainOnCancellation => "RETAIN_ON_CANCELLATION",
            Self::DeleteOnCancellation => "DELETE_ON_CANCELLATION",
        }
    }
}

impl fmt::Display for CheckpointingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ExternalizedCheckpointRetention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which state backend keeps keyed state (`state.backend.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StateBackendKind {
    /// Objects on the heap (`hashmap`, the default).
    #[default]
    HashMap,
    /// Serialized in an embedded RocksDB (`rocksdb`).
    RocksDb,
}

/// What restarts when a task fails (`jobmanager.execution.failover-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum FailoverStrategyKind {
    /// Only the failed task's pipelined region (`region`, the default).
    #[default]
    Region,
    /// Every task of the job (`full`).
    Full,
}

/// Who owns the snapshot a job is restored from (`execution.state-recovery.claim-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RecoveryClaimMode {
    /// The snapshot stays the user's; the first checkpoint after restore is a full one (`NO_CLAIM`).
    #[default]
    NoClaim,
    /// The job takes the snapshot over and may delete it once subsumed (`CLAIM`).
    Claim,
}

/// `execution.checkpointing.storage` by name; the directory is a separate key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    JobManager,
    FileSystem,
}

/// `restart-strategy.type` by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrategyName {
    NoRestart,
    FixedDelay,
    FailureRate,
    ExponentialDelay,
}

/// An enum written as one of a few names, compared case-insensitively as Flink does.
pub(crate) trait FlinkEnum: Copy + 'static {
    /// Accepted names and their values; the first name of a value is its canonical one.
    const NAMES: &'static [(&'static str, Self)];
}

macro_rules! flink_enum {
    ($ty:ty { $($name:literal => $variant:ident),+ $(,)? }) => {
        impl FlinkEnum for $ty {
            const NAMES: &'static [(&'static str, Self)] = &[$(($name, <$ty>::$variant)),+];
        }
    };
}

flink_enum!(CheckpointingMode { "EXACTLY_ONCE" => ExactlyOnce, "AT_LEAST_ONCE" => AtLeastOnce });
flink_enum!(ExternalizedCheckpointRetention {
    "NO_EXTERNALIZED_CHECKPOINTS" => NoExternalizedCheckpoints,
    "RETAIN_ON_CANCELLATION" => RetainOnCancellation,
    "DELETE_ON_CANCELLATION" => DeleteOnCancellation,
});
flink_enum!(RecoveryClaimMode { "NO_CLAIM" => NoClaim, "CLAIM" => Claim });
flink_enum!(StateBackendKind { "hashmap" => HashMap, "rocksdb" => RocksDb });
flink_enum!(FailoverStrategyKind { "region" => Region, "full" => Full });
flink_enum!(Storage { "jobmanager" => JobManager, "filesystem" => FileSystem });
flink_enum!(StrategyName {
    "none" => NoRestart, "off" => NoRestart, "disable" => NoRestart,
    "fixed-delay" => FixedDelay, "fixeddelay" => FixedDelay,
    "failure-rate" => FailureRate, "failurerate" => FailureRate,
    "exponential-delay" => ExponentialDelay, "exponentialdelay" => ExponentialDelay,
});

/// A value's canonical (first) name.
fn canonical_name<T: FlinkEnum + PartialEq>(value: T) -> &'static str {
    T::NAMES
        .iter()
        .find(|(_, candidate)| *candidate == value)
        .map_or("", |(name, _)| name)
}

impl StrategyName {
    pub(crate) fn name(self) -> &'static str {
        canonical_name(self)
    }
}

macro_rules! display_flink_name {
    ($($ty:ty),+) => {$(
        impl fmt::Display for $ty {
            /// Writes the value as Flink spells it, e.g. `hashmap`, `region`, `NO_CLAIM`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(canonical_name(*self))
            }
        }
    )+};
}

display_flink_name!(StateBackendKind, FailoverStrategyKind, RecoveryClaimMode);
