//! What a job's directory holds when a job starts, and the cleanup of what earlier runs left.
//!
//! # What is deleted, what is kept
//!
//! A `chk-<n>` directory is deleted only when it is provably an incomplete checkpoint of this
//! job: it has no `_metadata`, and everything in it is a name weir writes there
//! ([`paths::is_checkpoint_entry`]). Everything else is kept and reported:
//! - a `_metadata` that exists but does not load (a newer weir's format, a damaged file, a file
//!   that cannot be read right now): the checkpoint may be complete;
//! - an entry weir does not write ([`StorageError::Unrecognized`]): the directory may not be
//!   weir's.
//!
//! Shared files no complete checkpoint refers to are deleted afterwards, except those a kept,
//! unreadable checkpoint may refer to.

use super::FileSystemCheckpointStorage;
use crate::checkpoint::durable::{io_error, sync_dir};
use crate::checkpoint::paths;
use std::fs;
use std::io;
use weir_actors::checkpoint::storage::{CheckpointStorage, Leftovers, StorageError};
use weir_actors::CheckpointId;

/// What the cleanup would do, before it does it.
#[derive(Debug, Default)]
pub(crate) struct LeftoverPlan {
    /// Incomplete checkpoints of earlier runs: deleted.
    pub(crate) incomplete: Vec<CheckpointId>,
    /// What is kept because it could not be read or is not weir's; each error names the file.
    pub(crate) kept: Vec<StorageError>,
}

impl FileSystemCheckpointStorage {
    /// Looks at every checkpoint directory and says which ones are leftovers to delete and
    /// which must be kept. Deletes nothing.
    pub(crate) fn plan_leftovers(&self) -> Result<LeftoverPlan, StorageError> {
        let mut plan = LeftoverPlan::default();
        for id in self.list()? {
            match self.load(id) {
                Ok(_) => {}
                Err(StorageError::NotFound { .. }) => match self.first_foreign_entry(id) {
                    Ok(None) => plan.incomplete.push(id),
                    Ok(Some(entry)) => plan.kept.push(StorageError::Unrecognized { path: entry }),
                    Err(error) => plan.kept.push(error),
                },
                Err(error) => plan.kept.push(error),
            }
        }
        Ok(plan)
    }

    /// Deletes what [`plan_leftovers`](Self::plan_leftovers) finds, with no write in flight.
    pub(super) fn delete_leftovers_now(&self) -> Result<Leftovers, StorageError> {
        self.gate().exclusive(|| {
            let plan = self.plan_leftovers()?;
            for &id in &plan.incomplete {
                let dir = self.checkpoint_dir(id);
                match fs::remove_dir_all(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error("delete", &dir, &e)),
                }
            }
            if !plan.incomplete.is_empty() {
                sync_dir(self.job_dir())?;
            }
            let deleted_shared = self.delete_unreferenced_shared_files()?;
            Ok(Leftovers {
                deleted: plan.incomplete,
                deleted_shared,
                kept: plan.kept,
            })
        })
    }

    /// The first entry of checkpoint `id`'s directory that weir does not write there, if any.
    fn first_foreign_entry(
        &self,
        id: CheckpointId,
    ) -> Result<Option<std::path::PathBuf>, StorageError> {
        let dir = self.checkpoint_dir(id);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("list", &dir, &e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", &dir, &e))?;
            let is_dir = entry
                .file_type()
                .map_err(|e| io_error("list", &entry.path(), &e))?
                .is_dir();
            let ours = entry
                .file_name()
                .to_str()
                .is_some_and(|name| paths::is_checkpoint_entry(name, is_dir));
            if !ours {
                return Ok(Some(entry.path()));
            }
        }
        Ok(None)
    }
}
