//! Errors of the restart path, by kind: a restart strategy Flink would reject is a configuration
//! error naming the strategy, and a checkpoint a restart cannot read ends the job at once with
//! an error naming the checkpoint (a restart would only read it again).

mod common;

use common::supervised::env;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::checkpoint::storage::MemoryCheckpointStorage;
use weir::runtime::checkpoint::storage::{
    CheckpointMetadata, CheckpointStorage, LatestCheckpoint, StateHandle, StateLocation,
    StorageError,
};
use weir::runtime::CheckpointId;
use weir::{ConfigError, JobError, RestartStrategyConfig};

#[test]
fn an_invalid_restart_strategy_is_a_configuration_error_naming_the_strategy() {
    let mut env = env(14);
    env.set_restart_strategy(RestartStrategyConfig::FailureRate {
        max_failures_per_interval: 0,
        failure_rate_interval: Duration::from_secs(60),
        delay: Duration::from_secs(1),
    });
    env.generate_sequence(0, 9).discard();
    let err = env.execute().expect_err("refused");
    assert!(
        matches!(
            &err,
            weir::Error::Config(ConfigError::RestartStrategy {
                strategy: "failure-rate",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("max-failures-per-interval"),
        "{err}"
    );
}

/// Memory storage whose reads fail once `broken` is set (a disk that went bad while the job
/// restarts).
struct BreaksOnRead {
    inner: MemoryCheckpointStorage,
    broken: Arc<AtomicBool>,
}

impl BreaksOnRead {
    fn check(&self, what: &str) -> Result<(), StorageError> {
        match self.broken.load(Ordering::SeqCst) {
            false => Ok(()),
            true => Err(StorageError::Io {
                operation: "read",
                path: what.into(),
                reason: "input/output error".into(),
            }),
        }
    }
}

impl CheckpointStorage for BreaksOnRead {
    fn write_state(
        &self,
        id: CheckpointId,
        uid: &str,
        subtask: u32,
        bytes: &[u8],
    ) -> Result<StateLocation, StorageError> {
        self.inner.write_state(id, uid, subtask, bytes)
    }

    fn read_state(&self, id: CheckpointId, at: &StateHandle) -> Result<Vec<u8>, StorageError> {
        self.check("state")?;
        self.inner.read_state(id, at)
    }

    fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<u64, StorageError> {
        self.inner.write_metadata(metadata)
    }

    fn discard(&self, id: CheckpointId) -> Result<(), StorageError> {
        self.inner.discard(id)
    }

    fn load(&self, id: CheckpointId) -> Result<CheckpointMetadata, StorageError> {
        self.check("_metadata")?;
        self.inner.load(id)
    }

    fn latest_complete(&self) -> Result<LatestCheckpoint, StorageError> {
        self.inner.latest_complete()
    }

    fn list(&self) -> Result<Vec<CheckpointId>, StorageError> {
        self.inner.list()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[test]
fn a_checkpoint_that_cannot_be_read_at_a_restart_fails_the_job_at_once_naming_it() {
    let mut env = env(15);
    env.set_restart_strategy(RestartStrategyConfig::FixedDelay {
        attempts: 10,
        delay: Duration::from_secs(1),
    });
    let broken = Arc::new(AtomicBool::new(false));
    env.set_checkpoint_storage(Arc::new(BreaksOnRead {
        inner: MemoryCheckpointStorage::new("breaks-on-read"),
        broken: broken.clone(),
    }));
    env.generate_sequence(0, 99_999)
        .key_by(|x| x % 10)
        .map(move |x| {
            if x == 30_000 {
                broken.store(true, Ordering::SeqCst);
                panic!("disk gone");
            }
            x
        })
        .uid("breaks")
        .discard();
    let err = env
        .execute()
        .expect_err("the restart cannot load its checkpoint");
    let weir::Error::Job(JobError::RestoreFailed { checkpoint, source }) = &err else {
        panic!("expected a failed restore, got {err:?}");
    };
    assert!(*checkpoint >= 1);
    assert!(
        matches!(
            source,
            StorageError::Io {
                operation: "read",
                ..
            }
        ),
        "{source:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("checkpoint {checkpoint}")),
        "{err}"
    );
}
