//! Applying Flink-style settings ([`Configuration`]) to a [`StreamEnvironment`].
//!
//! # Guarantees
//! - **Only what is set changes**: a key the configuration does not hold leaves its setting as
//!   it is, whether a default or set in code; a configuration holding only `pipeline.name`
//!   changes only the job's name. Checkpoint and restart settings merge field by field (see
//!   [`Configuration::checkpoint_config_over`] and [`Configuration::restart_strategy_over`]).
//! - **All or nothing**: every value is read and checked before the environment changes, so a
//!   configuration that fails leaves the environment as it was.

use super::StreamEnvironment;
use crate::error::Error;
use crate::state::backend::StateBackend;
use weir_actors::config::configuration::{keys, ConfigError, Configuration, StateBackendKind};

impl StreamEnvironment {
    /// An environment configured by Flink-style keys (see [`Configuration`]): checkpointing,
    /// restart and failover strategies, state backend, parallelism, max parallelism, job name,
    /// and the checkpoint to restore from.
    pub fn from_configuration(conf: &Configuration) -> Result<StreamEnvironment, Error> {
        let mut env = StreamEnvironment::new();
        env.configure(conf)?;
        Ok(env)
    }

    /// Applies the settings `conf` holds, over the environment's own: a key `conf` does not
    /// hold keeps its setting (see the [module docs](self)). The job is the same as one set up
    /// with the typed setters.
    pub fn configure(&mut self, conf: &Configuration) -> Result<&mut Self, Error> {
        let checkpoint_config = conf.checkpoint_config_over(&self.checkpoint_config)?;
        let restart_strategy = conf.restart_strategy_over(self.restart_strategy.as_ref())?;
        let parallelism = conf.parallelism_default()?;
        let max_parallelism = if_set(conf, keys::MAX_PARALLELISM, Configuration::max_parallelism)?;
        let allow = if_set(
            conf,
            keys::STATE_RECOVERY_IGNORE_UNCLAIMED,
            Configuration::allow_non_restored_state,
        )?;
        let failover = if_set(
            conf,
            keys::FAILOVER_STRATEGY,
            Configuration::failover_strategy,
        )?;
        let backend = if_set(conf, keys::STATE_BACKEND_TYPE, Configuration::state_backend)?;
        let claim = if_set(
            conf,
            keys::STATE_RECOVERY_CLAIM_MODE,
            Configuration::claim_mode,
        )?;
        if let Some(path) = conf.state_recovery_path() {
            self.restore_from_savepoint(&path)?;
        }
        if let Some(dir) = conf.savepoint_dir() {
            self.savepoint_dir = Some(dir);
        }
        self.checkpoint_config = checkpoint_config;
        self.restart_strategy = restart_strategy;
        if let Some(parallelism) = parallelism {
            self.config.parallelism = parallelism;
        }
        if let Some(max_parallelism) = max_parallelism {
            self.config.max_parallelism = max_parallelism;
        }
        if let Some(name) = conf.pipeline_name() {
            self.config.job_name = name.to_string();
        }
        if let Some(allow) = allow {
            self.allow_non_restored_state = allow;
        }
        if let Some(failover) = failover {
            self.failover = failover;
        }
        if let Some(claim) = claim {
            self.claim_mode = claim;
        }
        match (backend, &self.state_backend) {
            (None, _) | (Some(StateBackendKind::RocksDb), StateBackend::RocksDb(_)) => {}
            (Some(StateBackendKind::HashMap), _) => self.state_backend = StateBackend::HashMap,
            (Some(StateBackendKind::RocksDb), StateBackend::HashMap) => {
                self.state_backend = StateBackend::rocksdb()
            }
        }
        Ok(self)
    }
}

/// `read(conf)` when `conf` holds `key`, `None` otherwise.
fn if_set<T>(
    conf: &Configuration,
    key: &str,
    read: impl FnOnce(&Configuration) -> Result<T, ConfigError>,
) -> Result<Option<T>, ConfigError> {
    match conf.contains_key(key) {
        true => read(conf).map(Some),
        false => Ok(None),
    }
}
