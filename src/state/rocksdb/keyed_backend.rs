//! The RocksDB state backend of one keyed operator subtask: its instance in a local working
//! directory, the [`RocksMap`]s of its states, and its snapshots.
//!
//! # Snapshots
//! The synchronous part writes back every state's cached entry, flushes the memtables and takes
//! a RocksDB checkpoint (SST files hard-linked) into a staging directory beside the instance; the
//! asynchronous part then works from the staging copy while processing goes on:
//! - **full**: every file of the checkpoint goes into the state bytes (written to the
//!   checkpoint's own directory, or memory, by the checkpoint storage);
//! - **incremental**: SST files the last completed checkpoint did not upload are copied to the
//!   job's `shared/` area (see [`crate::state::rocksdb::incremental`]); the state bytes hold only the
//!   handle listing them. The checkpoint storage deletes a shared file once no retained
//!   checkpoint refers to it.
//!
//! # Restore
//! The checkpoint's files are copied into a fresh working directory and opened there; the
//! instance replaces the empty one the subtask opened with.

mod map;

pub(crate) use map::RocksMap;

use crate::checkpoint::paths;
use crate::checkpoint::storage::FileSystemCheckpointStorage;
use crate::error::BoxError;
use crate::state::access_error::ErrorSlot;
use crate::state::backend::{BackendSettings, RocksDbStateBackend};
use crate::state::key_groups::KeyGroups;
use crate::state::rocksdb::incremental::{IncrementalCheckpointer, IncrementalHandle};
use crate::state::rocksdb::store::{list_files, RocksDbOptions, RocksDbStateStore, MAX_KEY_GROUP};
use crate::state::rocksdb::working_dir::WorkingDir;
use crate::state::state_key::{StateKey, Stored};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_actors::checkpoint::storage::SharedFile;
use weir_actors::CheckpointId;

/// The instance, shared by the states' maps and the backend.
pub(crate) type SharedInstance = Arc<Mutex<RocksInstance>>;

/// A RocksDB instance in its own directory, removed (after the database is closed) on drop.
pub(crate) struct RocksInstance {
    /// Declared first, so it is closed before the directory is removed.
    pub(crate) store: RocksDbStateStore,
    root: WorkingDir,
    /// The working directory's number under `root` (a restore opens a new one).
    generation: u32,
}

/// How a RocksDB snapshot's files are kept.
#[derive(Serialize, Deserialize)]
pub(crate) enum RocksFiles {
    /// Every file of the instance, in the state bytes (a full checkpoint).
    Full(Vec<(String, Vec<u8>)>),
    /// An incremental checkpoint: the files are in the job directory `job_dir`.
    Incremental {
        /// The job directory the handle's paths are relative to.
        job_dir: PathBuf,
        /// The files.
        handle: IncrementalHandle,
    },
}

/// The asynchronous part of a RocksDB snapshot: the files, and the shared files they refer to.
pub(crate) type RocksWriter =
    Box<dyn FnOnce() -> Result<(RocksFiles, Vec<SharedFile>), BoxError> + Send>;

/// The asynchronous part of a canonical RocksDB snapshot: the staged RocksDB checkpoint,
/// opened, to read the states' entries from.
pub(crate) type StagedWriter = Box<dyn FnOnce() -> Result<StagedInstance, BoxError> + Send>;

/// A RocksDB checkpoint of the instance opened in its staging directory, deleted on drop.
pub(crate) struct StagedInstance {
    /// Declared first, so it is closed before the directory is removed.
    store: RocksDbStateStore,
    _dir: WorkingDir,
}

impl StagedInstance {
    /// The staged instance.
    pub(crate) fn store(&self) -> &RocksDbStateStore {
        &self.store
    }
}

/// The RocksDB side of one keyed operator subtask's state backend.
pub(crate) struct RocksKeyed {
    instance: SharedInstance,
    max_parallelism: u32,
    /// Entries each state caches deserialized.
    cache_entries: usize,
    /// Where incremental checkpoints upload, when they are on.
    checkpointer: Option<IncrementalCheckpointer>,
    /// The last completed checkpoint of this instance's lineage (restored or taken): what an
    /// incremental checkpoint need not upload again.
    base: Option<IncrementalHandle>,
    /// Incremental checkpoints written but not yet known to be complete.
    pending: Arc<Mutex<BTreeMap<CheckpointId, IncrementalHandle>>>,
    /// The checkpoint the job starts from, and where its files are now.
    restored_from: Option<(CheckpointId, PathBuf)>,
}

impl RocksKeyed {
    /// Opens an empty instance for subtask `subtask` of operator `uid` (whose key groups are
    /// numbered up to `max_parallelism`).
    pub fn open(
        settings: &BackendSettings,
        config: &RocksDbStateBackend,
        uid: &str,
        subtask: u32,
        max_parallelism: u32,
    ) -> Result<Self, BoxError> {
        let base_dir = config
            .local_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("weir-rocksdb"));
        let stem = paths::subtask_file_stem(uid, subtask);
        let root = WorkingDir::create(&base_dir, &stem).map_err(|e| {
            format!(
                "cannot create a working directory under {}: {e}",
                base_dir.display()
            )
        })?;
        let store = RocksDbStateStore::open(root.path().join("db-0"), config.options)?;
        let checkpointer = match (&settings.storage, settings.incremental) {
            (Some(storage), true) => Some(IncrementalCheckpointer::new(
                storage.clone(),
                uid,
                subtask,
                root.path().join("staging"),
            )),
            _ => None,
        };
        Ok(RocksKeyed {
            instance: Arc::new(Mutex::new(RocksInstance {
                store,
                root,
                generation: 0,
            })),
            max_parallelism,
            cache_entries: config.cache_entries,
            checkpointer,
            base: None,
            pending: Arc::default(),
            restored_from: settings.restored_from.clone(),
        })
    }

    /// The map of state `name` over the key groups `groups`, creating its column family if it
    /// has none; a read or write that fails is recorded in `errors`.
    pub fn map<K: StateKey, S: Stored>(
        &self,
        name: &str,
        groups: &KeyGroups,
        errors: &ErrorSlot,
    ) -> Result<RocksMap<K, S>, BoxError> {
        self.instance.lock().store.register_state(name)?;
        debug_assert_eq!(groups.max_parallelism(), self.max_parallelism);
        Ok(RocksMap::new(
            self.instance.clone(),
            errors.clone(),
            name,
            groups.clone(),
            self.cache_entries,
        ))
    }

    /// The synchronous part of a snapshot for `checkpoint` (every state's cache must have been
    /// written back): a RocksDB checkpoint into the staging directory.
    pub fn snapshot(&mut self, checkpoint: CheckpointId) -> Result<RocksWriter, BoxError> {
        let instance = self.instance.lock();
        if let Some(checkpointer) = &self.checkpointer {
            let local = checkpointer.snapshot(&instance.store, checkpoint)?;
            let checkpointer = checkpointer.clone();
            let base = self.base.clone();
            let pending = self.pending.clone();
            return Ok(Box::new(move || {
                let handle = checkpointer.upload(local, base.as_ref())?;
                let shared = shared_files(&handle, checkpoint);
                pending.lock().insert(checkpoint, handle.clone());
                let job_dir = checkpointer.job_dir().to_path_buf();
                Ok((RocksFiles::Incremental { job_dir, handle }, shared))
            }));
        }
        let dir = instance
            .root
            .path()
            .join("staging")
            .join(paths::checkpoint_dir_name(checkpoint));
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        fs::create_dir_all(dir.parent().unwrap_or(&dir))?;
        instance.store.native_checkpoint(&dir)?;
        Ok(Box::new(move || {
            let staged = WorkingDir::adopt(dir);
            let mut files = Vec::new();
            for file in list_files(staged.path())? {
                let path = staged.path().join(&file.name);
                let bytes =
                    fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                files.push((file.name, bytes));
            }
            Ok((RocksFiles::Full(files), Vec::new()))
        }))
    }

    /// The synchronous part of a canonical snapshot (a savepoint's; every state's cache must
    /// have been written back): a RocksDB checkpoint into the staging directory, which the
    /// asynchronous part opens for the caller to read every state's rows from while processing
    /// goes on; dropped, it is deleted. Incremental checkpoints do not build on it.
    pub fn snapshot_staged(&mut self, checkpoint: CheckpointId) -> Result<StagedWriter, BoxError> {
        let instance = self.instance.lock();
        let dir = instance
            .root
            .path()
            .join("staging")
            .join(format!("canonical-{checkpoint}"));
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        fs::create_dir_all(dir.parent().unwrap_or(&dir))?;
        instance.store.native_checkpoint(&dir)?;
        let options = instance.store.options();
        Ok(Box::new(move || {
            let staged = WorkingDir::adopt(dir);
            let store = RocksDbStateStore::open_existing(staged.path().to_path_buf(), options)?;
            Ok(StagedInstance {
                store,
                _dir: staged,
            })
        }))
    }

    /// Checkpoint `checkpoint` completed: it is the base of the next incremental checkpoint.
    pub fn notify_complete(&mut self, checkpoint: CheckpointId) {
        let mut pending = self.pending.lock();
        if let Some(handle) = pending.remove(&checkpoint) {
            self.base = Some(handle);
        }
        pending.retain(|&id, _| id > checkpoint);
    }

    /// Opens the instance `files` hold in `working_dir`, and the incremental handle to build
    /// on if they are an incremental checkpoint of this job's own directory.
    fn materialize(
        &self,
        files: RocksFiles,
        working_dir: PathBuf,
        options: RocksDbOptions,
    ) -> Result<(RocksDbStateStore, Option<IncrementalHandle>), BoxError> {
        let (store, incremental) =
            materialize(files, working_dir, options, self.restored_from.as_ref())?;
        Ok(match incremental {
            // Files of another job directory cannot be referenced by this job's checkpoints.
            Some((job_dir, handle)) => {
                let own = self
                    .checkpointer
                    .as_ref()
                    .is_some_and(|c| c.job_dir() == job_dir.as_path());
                (store, own.then_some(handle))
            }
            None => (store, None),
        })
    }

    /// Restores from the RocksDB snapshots of every old subtask whose key groups overlap
    /// `key_groups` (a rescale): the first becomes the instance, the others are opened in
    /// temporary directories, the entries of `key_groups` of each of their states copied over,
    /// and the temporaries deleted; `states` are registered. With one snapshot, this is [`RocksKeyed::restore`].
    pub fn restore_merged(
        &mut self,
        parts: Vec<RocksFiles>,
        key_groups: &RangeInclusive<u32>,
        states: &[&str],
    ) -> Result<(), BoxError> {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Ok(());
        };
        self.restore(first, key_groups, states.iter().copied())?;
        let mut merged = false;
        for (n, part) in parts.enumerate() {
            merged = true;
            let mut instance = self.instance.lock();
            let dir = instance.root.path().join(format!("merge-{n}"));
            let options = instance.store.options();
            let (old, _) = self.materialize(part, dir.clone(), options)?;
            // Every column family the old instance holds (time-to-live stamps included).
            let names: Vec<String> = old.states().map(String::from).collect();
            for state in &names {
                instance.store.register_state(state)?;
                for entry in old.scan_key_group_range(state, key_groups.clone())? {
                    let e = entry?;
                    instance.store.put(state, e.key_group, &e.key, &e.value)?;
                }
            }
            drop(old);
            drop(instance);
            let _ = fs::remove_dir_all(dir);
        }
        if merged {
            // The merged instance is no longer any one old checkpoint: the next one is full.
            self.base = None;
        }
        Ok(())
    }

    /// Replaces the instance with the one `files` describe, keeping only the key groups in
    /// `key_groups` (those the subtask owns), with `declared` states registered.
    pub fn restore<'a>(
        &mut self,
        files: RocksFiles,
        key_groups: &RangeInclusive<u32>,
        declared: impl Iterator<Item = &'a str>,
    ) -> Result<(), BoxError> {
        let mut instance = self.instance.lock();
        let generation = instance.generation + 1;
        let working_dir = instance.root.path().join(format!("db-{generation}"));
        let options = instance.store.options();
        let (mut store, base) = self.materialize(files, working_dir, options)?;
        self.base = base;
        for name in declared {
            store.register_state(name)?;
        }
        let (first, last) = (*key_groups.start(), *key_groups.end());
        if first > 0 {
            store.delete_key_group_range(0..=first - 1)?;
        }
        if last < MAX_KEY_GROUP {
            store.delete_key_group_range(last + 1..=MAX_KEY_GROUP)?;
        }
        let old_dir = instance.store.path().to_path_buf();
        instance.store = store;
        instance.generation = generation;
        drop(instance);
        let _ = fs::remove_dir_all(old_dir);
        Ok(())
    }
}

/// Opens the instance `files` hold in `working_dir`; for an incremental checkpoint, also the
/// job directory its files were read from and its handle. The files of the checkpoint a job
/// starts from (`restored_from`) are read where that checkpoint is now.
pub(crate) fn materialize(
    files: RocksFiles,
    working_dir: PathBuf,
    options: RocksDbOptions,
    restored_from: Option<&(CheckpointId, PathBuf)>,
) -> Result<(RocksDbStateStore, Option<(PathBuf, IncrementalHandle)>), BoxError> {
    Ok(match files {
        RocksFiles::Full(files) => {
            fs::create_dir_all(&working_dir)?;
            for (name, bytes) in files {
                let path = plain_child(&working_dir, &name)?;
                fs::write(&path, bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            let store = RocksDbStateStore::open_existing(working_dir, options)?;
            (store, None)
        }
        RocksFiles::Incremental { job_dir, handle } => {
            let job_dir = match restored_from {
                Some((id, dir)) if *id == handle.checkpoint_id => dir.clone(),
                _ => job_dir,
            };
            let storage = FileSystemCheckpointStorage::at_job_dir(&job_dir);
            let store = handle.restore(&storage, working_dir, options)?;
            (store, Some((job_dir, handle)))
        }
    })
}

/// `dir/name`, refusing a name that is not a plain file name (a corrupt snapshot).
fn plain_child(dir: &Path, name: &str) -> Result<PathBuf, BoxError> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains('/');
    if plain {
        Ok(dir.join(name))
    } else {
        Err(
            format!("a RocksDB snapshot names a file {name:?}, which is not a plain file name")
                .into(),
        )
    }
}

/// The shared files of `handle`, marking those `checkpoint` uploaded.
fn shared_files(handle: &IncrementalHandle, checkpoint: CheckpointId) -> Vec<SharedFile> {
    handle
        .shared
        .iter()
        .map(|f| SharedFile {
            path: f.path.clone(),
            size: f.size,
            uploaded: paths::shared_name_of(&f.path)
                .and_then(|name| name.to_str())
                .and_then(paths::uploading_checkpoint)
                == Some(checkpoint),
        })
        .collect()
}

#[cfg(test)]
impl RocksKeyed {
    /// Compacts every state fully (a test's way to start from a settled instance).
    pub fn compact(&self) {
        self.instance
            .lock()
            .store
            .compact_all()
            .expect("compaction");
    }
}

#[cfg(test)]
mod tests;
