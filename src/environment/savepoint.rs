//! Starting a job from a savepoint, and where its savepoints go.
//!
//! # Which snapshot a job restores from
//! - [`StreamEnvironment::restore_from_savepoint`]: the savepoint or retained checkpoint named,
//!   wherever it is; the new job never deletes or modifies its files (Flink's `NO_CLAIM`), or,
//!   in `CLAIM` mode, disposes of it once its own checkpoints subsume it.
//! - [`StreamEnvironment::restore_from_latest`]: the same job restarting from its own newest
//!   intact checkpoint in its own job directory, which it goes on owning (retention subsumes it).

use super::StreamEnvironment;
use crate::checkpoint::restore::{load_path, RestoreReport};
use crate::checkpoint::startup::JobStorage;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::error::Error;
use crate::savepoint::uid_matching::{plan, snapshot_operators, RestorePlan};
use crate::savepoint::{locate, FileSavepointWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::savepoint::{ClaimedSnapshot, SavepointWriter};
use weir_actors::checkpoint::storage::{CheckpointStorage, StorageError};
use weir_actors::config::configuration::RecoveryClaimMode;
use weir_actors::CheckpointId;

impl StreamEnvironment {
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
        let (chk, id) = locate(path.as_ref())?;
        let (restored, report) = load_path(&chk)?;
        self.restore = Some(Arc::new(restored));
        // An incremental RocksDB state reads its files from where the snapshot is now.
        self.restored_from = chk.parent().map(|dir| (id, dir.to_path_buf()));
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
        let (chk, _) = locate(path.as_ref())?;
        let (restored, _) = load_path(&chk)?;
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
        if self.claim_mode != RecoveryClaimMode::Claim {
            return None;
        }
        let (checkpoint_id, dir) = self.restored_from.clone()?;
        let dispose = Arc::new(move || dispose_snapshot(&dir, checkpoint_id));
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

/// Deletes snapshot `id` whose `chk-<id>` is in `dir`: a savepoint's directory, through
/// [`crate::savepoint::dispose`]; a job directory, as its storage deletes a checkpoint.
fn dispose_snapshot(dir: &Path, id: CheckpointId) -> Result<(), StorageError> {
    let is_savepoint = (dir.file_name().and_then(|n| n.to_str()))
        .is_some_and(|n| n.starts_with(crate::savepoint::SAVEPOINT_DIR_PREFIX));
    if !is_savepoint {
        return FileSystemCheckpointStorage::at_job_dir(dir).discard(id);
    }
    match crate::savepoint::dispose(dir) {
        Ok(report) => {
            if !report.kept.is_empty() {
                tracing::warn!(dir = %dir.display(), kept = ?report.kept, "the claimed savepoint held files its _metadata does not account for: kept");
            }
            Ok(())
        }
        Err(crate::savepoint::SavepointError::Storage(e)) => Err(e),
        Err(e) => Err(StorageError::Io {
            operation: "delete",
            path: dir.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}
