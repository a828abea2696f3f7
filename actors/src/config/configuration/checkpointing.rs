//! The checkpoint settings a [`Configuration`] holds, applied over defaults or over settings
//! made in code.

use super::{ConfigError, Configuration};
use crate::config::checkpoint_config::{CheckpointConfig, CheckpointStorageConfig};
use crate::config::keys::keys;
use crate::config::kinds::{CheckpointingMode, ExternalizedCheckpointRetention, Storage};
use crate::config::values::{parse_duration, parse_enum};

impl Configuration {
    /// The checkpoint settings, defaults filled in and validated with
    /// [`CheckpointConfig::validate`]. Storage is `filesystem` at `execution.checkpointing.dir`
    /// when a directory is set and no storage is named, as in Flink.
    pub fn checkpoint_config(&self) -> Result<CheckpointConfig, ConfigError> {
        self.checkpoint_config_over(&CheckpointConfig::default())
    }

    /// `base` with the checkpoint settings this configuration holds applied over it: a setting
    /// whose key is absent keeps `base`'s value (so a configuration that only names the job
    /// leaves checkpointing set in code as it is). `execution.checkpointing.storage:
    /// filesystem` without a directory key keeps `base`'s directory. The result is validated
    /// with [`CheckpointConfig::validate`]; an error about a key read from a file names its line.
    pub fn checkpoint_config_over(
        &self,
        base: &CheckpointConfig,
    ) -> Result<CheckpointConfig, ConfigError> {
        let config = CheckpointConfig {
            interval: self
                .read(keys::CHECKPOINTING_INTERVAL, parse_duration)?
                .or(base.interval),
            mode: self
                .read(keys::CHECKPOINTING_MODE, parse_enum::<CheckpointingMode>)?
                .unwrap_or(base.mode),
            timeout: self.duration(keys::CHECKPOINTING_TIMEOUT, base.timeout)?,
            min_pause: self.duration(keys::CHECKPOINTING_MIN_PAUSE, base.min_pause)?,
            max_concurrent: self.count(keys::CHECKPOINTING_MAX_CONCURRENT, base.max_concurrent)?,
            tolerable_failed_checkpoints: self.count(
                keys::CHECKPOINTING_TOLERABLE_FAILED,
                base.tolerable_failed_checkpoints,
            )?,
            num_retained: self.count(keys::CHECKPOINTING_NUM_RETAINED, base.num_retained)?,
            externalized_retention: self
                .read(
                    keys::CHECKPOINTING_EXTERNALIZED_RETENTION,
                    parse_enum::<ExternalizedCheckpointRetention>,
                )?
                .unwrap_or(base.externalized_retention),
            storage: self.storage_over(&base.storage)?,
            incremental: self.flag(keys::CHECKPOINTING_INCREMENTAL, base.incremental)?,
            unaligned: self.flag(keys::CHECKPOINTING_UNALIGNED, base.unaligned)?,
            aligned_checkpoint_timeout: self.duration(
                keys::CHECKPOINTING_ALIGNED_TIMEOUT,
                base.aligned_checkpoint_timeout,
            )?,
        };
        config
            .validate()
            .map_err(|e| self.locate(e.key(), ConfigError::Checkpoint(e)))?;
        Ok(config)
    }

    /// The storage the keys name, over `base`'s.
    fn storage_over(
        &self,
        base: &Option<CheckpointStorageConfig>,
    ) -> Result<Option<CheckpointStorageConfig>, ConfigError> {
        let named = self.read(keys::CHECKPOINTING_STORAGE, parse_enum::<Storage>)?;
        Ok(match (named, self.dir(keys::CHECKPOINTING_DIR)) {
            (Some(Storage::JobManager), _) => Some(CheckpointStorageConfig::JobManager),
            (Some(Storage::FileSystem) | None, Some(dir)) => {
                Some(CheckpointStorageConfig::FileSystem(dir))
            }
            (Some(Storage::FileSystem), None) => match base {
                Some(CheckpointStorageConfig::FileSystem(dir)) => {
                    Some(CheckpointStorageConfig::FileSystem(dir.clone()))
                }
                _ => {
                    let missing = ConfigError::MissingKey {
                        key: keys::CHECKPOINTING_DIR,
                        required_by: keys::CHECKPOINTING_STORAGE,
                        value: "filesystem".into(),
                    };
                    return Err(self.locate(keys::CHECKPOINTING_STORAGE, missing));
                }
            },
            (None, None) => base.clone(),
        })
    }
}
