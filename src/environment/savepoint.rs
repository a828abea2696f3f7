//! Starting a job from a savepoint, and where its savepoints go.
//!
//! # Which snapshot a job restores from
//! - [`StreamEnvironment::restore_from_savepoint`]: the savepoint or retained checkpoint named,
//!   wherever it is; the new job never deletes or modifies its files (Flink's `NO_CLAIM`).
//! - [`StreamEnvironment::restore_from_latest`]: the same job restarting from its own newest
//!   intact checkpoint in its own job directory, which it goes on owning (retention subsumes it).

use super::StreamEnvironment;
use crate::checkpoint::restore::{load_path, RestoreReport};
use crate::checkpoint::startup::JobStorage;
use crate::error::Error;
use crate::savepoint::uid_matching::{plan, snapshot_operators, RestorePlan};
use crate::savepoint::{locate, FileSavepointWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::savepoint::SavepointWriter;

impl StreamEnvironment {
    /// Restores from the savepoint or retained checkpoint at `path`: a `savepoint-…` directory,
    /// a `chk-<n>` directory, or the `_metadata` of either, wherever it was moved or copied.
    /// Every file is checked before the job starts (a damaged, truncated or foreign file is an
    /// error naming it). The files restored from are never deleted or modified by the new job
    /// (`NO_CLAIM`); its checkpoints go to its own job directory.
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
