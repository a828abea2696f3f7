//! Starting a job from a savepoint, and where its savepoints go.
//!
//! # Which snapshot a job restores from
//! - [`StreamEnvironment::restore_from_savepoint`]: the savepoint or retained checkpoint named,
//!   wherever it is; the new job never deletes or modifies its files (Flink's `NO_CLAIM`), or,
//!   in `CLAIM` mode, disposes of it once its own checkpoints subsume it.
//! - [`StreamEnvironment::restore_from_latest`]: the same job restarting from its own newest
//!   intact checkpoint in its own job directory, which it goes on owning (retention subsumes it).
//! - [`StreamEnvironment::restore_from_checkpoint`]: a given `chk-<n>`, never claimed.
//!
//! In every case a RocksDB state reads its files through the storage of the directory restored
//! from, wherever that directory was when the snapshot was written.

use super::StreamEnvironment;
use crate::checkpoint::restore::{
    load_from, load_latest, load_path, parse_checkpoint_path, RestoreError, RestoreReport,
};
use crate::checkpoint::startup::JobStorage;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::error::Error;
use crate::savepoint::uid_matching::{plan, snapshot_operators, RestorePlan};
use crate::savepoint::{locate, FileSavepointWriter, Located};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::savepoint::{ClaimedSnapshot, SavepointWriter};
use weir_actors::checkpoint::storage::{CheckpointStorage, StorageError};
use weir_actors::config::configuration::RecoveryClaimMode;
use weir_actors::CheckpointId;

impl StreamEnvironment {
    /// Restores from the newest complete checkpoint of this job under `dir` whose every file is
    /// intact; newer checkpoints with missing, truncated or corrupt metadata, or a state or
    /// shared file that is missing, damaged or not the one recorded, are skipped and listed in
    /// the report. A job that never wrote a checkpoint there is
    /// [`RestoreError::JobDirectoryNotFound`](crate::RestoreError::JobDirectoryNotFound) (a
    /// first start, or a mistyped directory or job id); a job directory without a checkpoint to
    /// restore is [`RestoreError::NoCompleteCheckpoint`](crate::RestoreError::NoCompleteCheckpoint).
    pub fn restore_from_latest(&mut self, dir: impl AsRef<Path>) -> Result<RestoreReport, Error> {
        let (restored, report) = load_latest(dir.as_ref(), &self.job_id())?;
        self.restore = Some(Arc::new(restored));
        let storage = FileSystemCheckpointStorage::new(dir.as_ref(), &self.job_id());
        self.restored_from = Some((report.checkpoint_id, storage));
        self.restored_by_name = false;
        Ok(report)
    }

    /// Restores from the checkpoint at `path` (a `chk-<n>` directory or its `_metadata` file).
    pub fn restore_from_checkpoint(
        &mut self,
        path: impl AsRef<Path>,
    ) -> Result<RestoreReport, Error> {
        let (restored, report) = load_path(path.as_ref())?;
        self.restore = Some(Arc::new(restored));
        // A RocksDB state reads its files from where the checkpoint is now.
        let (id, job_dir) = parse_checkpoint_path(path.as_ref())?;
        let storage = FileSystemCheckpointStorage::at_job_dir(job_dir);
        self.restored_from = Some((id, storage));
        self.restored_by_name = false;
        Ok(report)
    }

    /// Restores from the savepoint or retained checkpoint at `path`: a `savepoint-…` directory,
    /// a `chk-<n>` directory, or the `_metadata` of either, wherever it was moved or copied.
    /// Every file is checked before the job starts (a damaged, truncated or foreign file is an
    /// error naming it). The files restored from are never deleted or modified by the new job
    /// (`NO_CLAIM`, unless [`set_claim_mode`](Self::set_claim_mode) says `CLAIM`); its
    /// checkpoints go to its own job directory.
    pub fn restore_from_savepoint(
        &mut self,
        path: impl AsRef<Path>,
    ) -> Result<RestoreReport, Error> {
        let located = locate_snapshot(path.as_ref())?;
        let (restored, report) = load_from(&located.storage, located.id)?;
        self.restore = Some(Arc::new(restored));
        // A RocksDB state reads its files from where the snapshot is now.
        self.restored_from = Some((located.id, located.storage));
        self.restored_by_name = true;
        Ok(report)
    }

    /// What starting this job from the savepoint or retained checkpoint at `path` would do,
    /// without starting it or changing anything: which operator each recorded state goes to
    /// (by uid, whatever the chaining; with a parallelism change where there is one), which
    /// operators start empty, which state no operator claims (the restore would fail naming
    /// it, or drop it with [`set_allow_non_restored_state`](Self::set_allow_non_restored_state)),
    /// and which operators have a generated uid. `path` is what
    /// [`restore_from_savepoint`](Self::restore_from_savepoint) takes; every file is checked.
    /// [`RestorePlan::check`] says whether the restore would go ahead.
    pub fn plan_restore(&self, path: impl AsRef<Path>) -> Result<RestorePlan, Error> {
        let located = locate_snapshot(path.as_ref())?;
        let (restored, _) = load_from(&located.storage, located.id)?;
        let meta = &restored.metadata;
        let job_max = (self.config.max_parallelism).unwrap_or(meta.max_parallelism);
        let operators = (self.graph.lock()).job_operators(self.config.parallelism);
        let state = snapshot_operators(&restored)?;
        let max_parallelism = (meta.max_parallelism, job_max);
        Ok(plan(meta.checkpoint_id, max_parallelism, state, &operators))
    }

    /// Sets who owns the snapshot [`restore_from_savepoint`](Self::restore_from_savepoint)
    /// restores from (`execution.state-recovery.claim-mode`): with
    /// [`RecoveryClaimMode::NoClaim`], the default, the job never deletes or changes its files;
    /// with [`RecoveryClaimMode::Claim`] the job owns it as its oldest retained checkpoint (a
    /// restart before any other checkpoint completes restores from it) and disposes of it once
    /// newer checkpoints subsume it, or when the job ends and discards its checkpoints — only
    /// the files its `_metadata` accounts for ([`crate::savepoint::dispose`] for a savepoint).
    /// The first checkpoint after the restore is a full one in both modes.
    pub fn set_claim_mode(&mut self, mode: RecoveryClaimMode) -> &mut Self {
        self.claim_mode = mode;
        self
    }

    /// The claim mode (see [`set_claim_mode`](Self::set_claim_mode)).
    pub fn claim_mode(&self) -> RecoveryClaimMode {
        self.claim_mode
    }

    /// The snapshot the job claims, when it restores from one in `CLAIM` mode.
    pub(super) fn claimed_snapshot(&self) -> Option<ClaimedSnapshot> {
        if self.claim_mode != RecoveryClaimMode::Claim || !self.restored_by_name {
            return None;
        }
        let (checkpoint_id, storage) = self.restored_from.clone()?;
        let dispose = Arc::new(move || dispose_snapshot(&storage, checkpoint_id));
        Some(ClaimedSnapshot {
            checkpoint_id,
            dispose,
        })
    }

    /// Sets the directory savepoints go to when none is named
    /// ([`JobClient::trigger_savepoint_default`](crate::JobClient::trigger_savepoint_default);
    /// `execution.checkpointing.savepoint-dir`).
    pub fn set_default_savepoint_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.savepoint_dir = Some(dir.into());
        self
    }

    /// The default savepoint directory, if set.
    pub fn default_savepoint_dir(&self) -> Option<&Path> {
        self.savepoint_dir.as_deref()
    }

    /// The writer that copies this job's checkpoints from `storage` into savepoints.
    pub(super) fn savepoint_writer(&self, storage: &JobStorage) -> Arc<dyn SavepointWriter> {
        Arc::new(FileSavepointWriter {
            storage: storage.storage.clone(),
            files: storage.files.clone(),
        })
    }
}

/// The snapshot at `path`, found with [`locate`]: a file that cannot be read is the restore's
/// storage error (naming the file), as it would be reading it to restore.
fn locate_snapshot(path: &Path) -> Result<Located, Error> {
    locate(path).map_err(|e| match e {
        crate::savepoint::SavepointError::Storage(e) => RestoreError::Storage(e).into(),
        other => other.into(),
    })
}

/// Deletes snapshot `id` of `storage`: a savepoint, through [`crate::savepoint::dispose`]; a
/// checkpoint of a job directory, as its storage deletes a checkpoint.
fn dispose_snapshot(
    storage: &FileSystemCheckpointStorage,
    id: CheckpointId,
) -> Result<(), StorageError> {
    let located = Located {
        storage: storage.clone(),
        id,
    };
    if !located.is_savepoint() {
        return storage.discard(id);
    }
    let dir = located.dir();
    match crate::savepoint::dispose(&dir) {
        Ok(report) => {
            if !report.kept.is_empty() {
                tracing::warn!(dir = %dir.display(), kept = ?report.kept, "the claimed savepoint held files its _metadata does not account for: kept");
            }
            Ok(())
        }
        Err(crate::savepoint::SavepointError::Storage(e)) => Err(e),
        Err(e) => Err(StorageError::Io {
            operation: "delete",
            path: dir,
            reason: e.to_string(),
        }),
    }
}
