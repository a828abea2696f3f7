//! Typed checkpoint settings, with Apache Flink's defaults.
//!
//! [`CheckpointConfig`] is what the coordinator reads: how often to trigger a checkpoint, how long
//! one may take, how many may run at once, how many failures to tolerate, how many completed
//! checkpoints to keep and where to write them. Build it with the `with_*` setters, or read it from
//! Flink-style keys with [`Configuration::checkpoint_config`](crate::config::configuration::Configuration::checkpoint_config);
//! both give equal values.
//!
//! # Defaults
//! [`CheckpointConfig::default`] matches Flink 2.3: checkpointing off (no interval), exactly-once,
//! 10 min timeout, no pause, one checkpoint at a time, no tolerated failures, one retained
//! checkpoint, no externalized retention, no explicit storage, full (not incremental) snapshots,
//! aligned barriers.
//!
//! # Validation
//! [`CheckpointConfig::validate`] applies Flink's checks and names the Flink key at fault:
//! interval and timeout at least [`MINIMAL_CHECKPOINT_TIME`] (10 ms), at least one concurrent and
//! one retained checkpoint, a non-empty directory for file-system storage. Flink silently turns
//! unaligned checkpoints off when they cannot work (at-least-once mode, or more than one concurrent
//! checkpoint); weir rejects that combination instead.
//!
//! # Not supported yet
//! weir has no unaligned checkpoints: [`CheckpointConfig::validate`] refuses `unaligned` and a
//! non-zero `aligned_checkpoint_timeout` with [`CheckpointConfigError::Unsupported`], so a job
//! never runs with a setting that would be ignored.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::keys::keys;
pub use crate::config::kinds::{CheckpointingMode, ExternalizedCheckpointRetention};

/// The shortest checkpoint interval and timeout Flink accepts (`MINIMAL_CHECKPOINT_TIME`, 10 ms).
pub const MINIMAL_CHECKPOINT_TIME: Duration = Duration::from_millis(10);

/// The default checkpoint timeout (`execution.checkpointing.timeout`): 10 minutes.
pub const DEFAULT_CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Where completed checkpoints are stored (`execution.checkpointing.storage` and `.dir`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckpointStorageConfig {
    /// In the job's memory (`jobmanager`): fast, lost with the process.
    JobManager,
    /// Files under this directory (`filesystem` with `execution.checkpointing.dir`).
    FileSystem(PathBuf),
}

impl CheckpointStorageConfig {
    /// The storage name as Flink writes it: `jobmanager` or `filesystem`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::JobManager => "jobmanager",
            Self::FileSystem(_) => "filesystem",
        }
    }
}

/// Checkpoint settings, Flink's `CheckpointConfig`. See the [module docs](self) for the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckpointConfig {
    /// Time between checkpoint triggers; `None` turns checkpointing off
    /// (`execution.checkpointing.interval`).
    pub interval: Option<Duration>,
    /// Exactly-once or at-least-once (`execution.checkpointing.mode`).
    pub mode: CheckpointingMode,
    /// A checkpoint not complete after this long is aborted (`execution.checkpointing.timeout`).
    pub timeout: Duration,
    /// Least time between the end of one checkpoint and the trigger of the next
    /// (`execution.checkpointing.min-pause`).
    pub min_pause: Duration,
    /// Most checkpoints in flight at once (`execution.checkpointing.max-concurrent-checkpoints`).
    pub max_concurrent: u32,
    /// Consecutive failed checkpoints tolerated before the job fails over
    /// (`execution.checkpointing.tolerable-failed-checkpoints`).
    pub tolerable_failed_checkpoints: u32,
    /// Completed checkpoints kept (`execution.checkpointing.num-retained`).
    pub num_retained: u32,
    /// What cancellation does to retained checkpoints
    /// (`execution.checkpointing.externalized-checkpoint-retention`).
    pub externalized_retention: ExternalizedCheckpointRetention,
    /// Where checkpoints go; `None` leaves the choice to the runtime
    /// (`execution.checkpointing.storage`, `execution.checkpointing.dir`).
    pub storage: Option<CheckpointStorageConfig>,
    /// Snapshot only what changed since the last checkpoint, where the state backend can
    /// (`execution.checkpointing.incremental`).
    pub incremental: bool,
    /// Let barriers overtake buffered records (`execution.checkpointing.unaligned.enabled`).
    pub unaligned: bool,
    /// With unaligned checkpoints on, start aligned and switch to unaligned after this long; zero
    /// starts unaligned (`execution.checkpointing.aligned-checkpoint-timeout`).
    pub aligned_checkpoint_timeout: Duration,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            interval: None,
            mode: CheckpointingMode::ExactlyOnce,
            timeout: DEFAULT_CHECKPOINT_TIMEOUT,
            min_pause: Duration::ZERO,
            max_concurrent: 1,
            tolerable_failed_checkpoints: 0,
            num_retained: 1,
            externalized_retention: ExternalizedCheckpointRetention::NoExternalizedCheckpoints,
            storage: None,
            incremental: false,
            unaligned: false,
            aligned_checkpoint_timeout: Duration::ZERO,
        }
    }
}

/// Why a [`CheckpointConfig`] is invalid; every variant names the Flink key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointConfigError {
    /// A duration is shorter than Flink allows.
    #[error("`{key}` must be at least {min:?}, got {value:?}")]
    TooShort {
        /// The Flink key.
        key: &'static str,
        /// The configured duration.
        value: Duration,
        /// The least duration allowed.
        min: Duration,
    },
    /// A count that must be at least one is zero.
    #[error("`{key}` must be at least 1, got 0")]
    Zero {
        /// The Flink key.
        key: &'static str,
    },
    /// File-system storage was given an empty directory.
    #[error("`{key}` must name a directory for file-system checkpoint storage")]
    EmptyDirectory {
        /// The Flink key (`execution.checkpointing.dir`).
        key: &'static str,
    },
    /// A setting weir accepts only at its default, because the feature behind it is missing.
    #[error("`{key}` cannot be set: {reason}")]
    Unsupported {
        /// The Flink key whose setting is refused.
        key: &'static str,
        /// What weir lacks.
        reason: &'static str,
    },
    /// A setting that cannot be combined with another.
    #[error("`{key}` cannot be combined with `{conflicting_key}`: {reason}")]
    Conflict {
        /// The Flink key whose setting is refused.
        key: &'static str,
        /// The Flink key whose setting rules it out.
        conflicting_key: &'static str,
        /// Why the two cannot be combined.
        reason: &'static str,
    },
}

impl CheckpointConfigError {
    /// The Flink key at fault.
    pub fn key(&self) -> &'static str {
        match self {
            Self::TooShort { key, .. }
            | Self::Zero { key }
            | Self::EmptyDirectory { key }
            | Self::Unsupported { key, .. }
            | Self::Conflict { key, .. } => key,
        }
    }
}

impl CheckpointConfig {
    /// The defaults: checkpointing off. Same as [`CheckpointConfig::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether checkpointing is on (an interval is set).
    pub fn is_enabled(&self) -> bool {
        self.interval.is_some()
    }

    /// Turns checkpointing on, triggering every `interval`.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Turns checkpointing off.
    pub fn without_interval(mut self) -> Self {
        self.interval = None;
        self
    }

    /// Sets exactly-once or at-least-once.
    pub fn with_mode(mut self, mode: CheckpointingMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets how long a checkpoint may take before it is aborted.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the least pause between the end of one checkpoint and the next trigger.
    pub fn with_min_pause(mut self, min_pause: Duration) -> Self {
        self.min_pause = min_pause;
        self
    }

    /// Sets how many checkpoints may be in flight at once.
    pub fn with_max_concurrent(mut self, max_concurrent: u32) -> Self {
        self.max_concurrent = max_concurrent;
        self
    }

    /// Sets how many consecutive failed checkpoints are tolerated before a failover.
    pub fn with_tolerable_failed_checkpoints(mut self, tolerable: u32) -> Self {
        self.tolerable_failed_checkpoints = tolerable;
        self
    }

    /// Sets how many completed checkpoints are kept.
    pub fn with_num_retained(mut self, num_retained: u32) -> Self {
        self.num_retained = num_retained;
        self
    }

    /// Sets what cancellation does to retained checkpoints.
    pub fn with_externalized_retention(
        mut self,
        retention: ExternalizedCheckpointRetention,
    ) -> Self {
        self.externalized_retention = retention;
        self
    }

    /// Sets where checkpoints are stored.
    pub fn with_storage(mut self, storage: CheckpointStorageConfig) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Turns incremental checkpoints on or off.
    pub fn with_incremental(mut self, incremental: bool) -> Self {
        self.incremental = incremental;
        self
    }

    /// Turns unaligned checkpoints on or off.
    pub fn with_unaligned(mut self, unaligned: bool) -> Self {
        self.unaligned = unaligned;
        self
    }

    /// Sets how long an aligned checkpoint waits before switching to unaligned.
    pub fn with_aligned_checkpoint_timeout(mut self, timeout: Duration) -> Self {
        self.aligned_checkpoint_timeout = timeout;
        self
    }

    /// Checks the settings as Flink does; the error names the key at fault.
    pub fn validate(&self) -> Result<(), CheckpointConfigError> {
        let at_least = |key, value: Duration| {
            if value < MINIMAL_CHECKPOINT_TIME {
                Err(CheckpointConfigError::TooShort {
                    key,
                    value,
                    min: MINIMAL_CHECKPOINT_TIME,
                })
            } else {
                Ok(())
            }
        };
        if let Some(interval) = self.interval {
            at_least(keys::CHECKPOINTING_INTERVAL, interval)?;
        }
        at_least(keys::CHECKPOINTING_TIMEOUT, self.timeout)?;
        if self.max_concurrent == 0 {
            return Err(CheckpointConfigError::Zero {
                key: keys::CHECKPOINTING_MAX_CONCURRENT,
            });
        }
        if self.num_retained == 0 {
            return Err(CheckpointConfigError::Zero {
                key: keys::CHECKPOINTING_NUM_RETAINED,
            });
        }
        if let Some(CheckpointStorageConfig::FileSystem(dir)) = &self.storage {
            if dir.as_os_str().is_empty() {
                return Err(CheckpointConfigError::EmptyDirectory {
                    key: keys::CHECKPOINTING_DIR,
                });
            }
        }
        if self.unaligned && self.mode == CheckpointingMode::AtLeastOnce {
            return Err(CheckpointConfigError::Conflict {
                key: keys::CHECKPOINTING_UNALIGNED,
                conflicting_key: keys::CHECKPOINTING_MODE,
                reason: "unaligned checkpoints need EXACTLY_ONCE mode",
            });
        }
        if self.unaligned && self.max_concurrent > 1 {
            return Err(CheckpointConfigError::Conflict {
                key: keys::CHECKPOINTING_UNALIGNED,
                conflicting_key: keys::CHECKPOINTING_MAX_CONCURRENT,
                reason: "unaligned checkpoints allow one concurrent checkpoint",
            });
        }
        self.refuse_missing_features()
    }

    /// Refuses the settings whose feature weir does not have yet, unless at their default.
    fn refuse_missing_features(&self) -> Result<(), CheckpointConfigError> {
        let unaligned = "weir has no unaligned checkpoints yet";
        if self.unaligned {
            return Err(CheckpointConfigError::Unsupported {
                key: keys::CHECKPOINTING_UNALIGNED,
                reason: unaligned,
            });
        }
        if !self.aligned_checkpoint_timeout.is_zero() {
            return Err(CheckpointConfigError::Unsupported {
                key: keys::CHECKPOINTING_ALIGNED_TIMEOUT,
                reason: unaligned,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "checkpoint_config_tests.rs"]
mod tests;
