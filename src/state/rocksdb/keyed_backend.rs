//! The RocksDB state backend of one keyed operator subtask: its instance in a local working
//! directory, the [`RocksMap`]s of its states, and its snapshots.
//!
//! # Snapshots
//! The synchronous part writes back every state's cached entry, flushes the memtables and takes
//! a RocksDB checkpoint (SST files hard-linked) into a staging directory beside the instance; the
//! asynchronous part then works from the staging copy while processing goes on:
//! - **full**, filesystem storage: every file is copied into the checkpoint's own directory,
//!   `chk-<n>/<uid>-<subtask>.rocksdb/`, and the state bytes hold the handle listing them by
//!   relative paths; with in-memory storage, the files go into the state bytes;
//! - **incremental**: SST files the last completed checkpoint did not upload are copied to the
//!   job's `shared/` area (see [`crate::state::rocksdb::incremental`]); the state bytes hold only the
//!   handle listing them. The checkpoint storage deletes a shared file once no retained
//!   checkpoint refers to it.
//!
//! # Restore
//! The checkpoint's files are copied from the storage (file by file, never whole in memory)
//! into a fresh working directory and opened there; the instance replaces the empty one the
//! subtask opened with. Relative paths are resolved against the directory the checkpoint is
//! in now (see [`SnapshotDirs`]).

mod map;
mod snapshot_files;

pub(crate) use map::RocksMap;
use snapshot_files::shared_files;
pub(crate) use snapshot_files::{materialize, RocksFiles, SnapshotDirs};

use crate::checkpoint::paths;
use crate::error::BoxError;
use crate::state::access_error::ErrorSlot;
use crate::state::backend::{BackendSettings, RocksDbStateBackend};
use crate::state::key_groups::KeyGroups;
use crate::state::rocksdb::incremental::{IncrementalCheckpointer, IncrementalHandle};
use crate::state::rocksdb::store::{list_files, RocksDbOptions, RocksDbStateStore, MAX_KEY_GROUP};
use crate::state::rocksdb::working_dir::WorkingDir;
use crate::state::state_key::{StateKey, Stored};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs;
use std::ops::RangeInclusive;
use std::path::PathBuf;
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

impl RocksInstance {
    /// Takes a RocksDB checkpoint of the instance (SST files hard-linked) into
    /// `staging/<name>` beside it, replacing a leftover one; returns its directory.
    fn stage(&self, name: &str) -> Result<PathBuf, BoxError> {
        let staging = self.root.path().join("staging");
        let dir = staging.join(name);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        fs::create_dir_all(&staging)?;
        self.store.native_checkpoint(&dir)?;
        Ok(dir)
    }
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
    /// Where snapshots upload their files, when checkpoints go to a filesystem.
    checkpointer: Option<IncrementalCheckpointer>,
    /// Incremental checkpoints: SST files go to `shared/` and are reused between checkpoints.
    incremental: bool,
    /// The last completed checkpoint of this instance's lineage (restored or taken): what an
    /// incremental checkpoint need not upload again.
    base: Option<IncrementalHandle>,
    /// Incremental checkpoints written but not yet known to be complete.
    pending: Arc<Mutex<BTreeMap<CheckpointId, IncrementalHandle>>>,
    /// Where the snapshots it may restore keep their files.
    dirs: SnapshotDirs,
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
        let checkpointer = settings.storage.as_ref().map(|storage| {
            IncrementalCheckpointer::new(storage.clone(), uid, subtask, root.path().join("staging"))
        });
        Ok(RocksKeyed {
            instance: Arc::new(Mutex::new(RocksInstance {
                store,
                root,
                generation: 0,
            })),
            max_parallelism,
            cache_entries: config.cache_entries,
            checkpointer,
            incremental: settings.incremental,
            base: None,
            pending: Arc::default(),
            dirs: SnapshotDirs::of(settings),
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
    /// written back): a RocksDB checkpoint into the staging directory. The asynchronous part
    /// uploads its files into the checkpoint storage (only the SST files the base checkpoint
    /// has not, when incremental), or, with in-memory storage, reads them into the state bytes.
    pub fn snapshot(&mut self, checkpoint: CheckpointId) -> Result<RocksWriter, BoxError> {
        let instance = self.instance.lock();
        if let Some(checkpointer) = &self.checkpointer {
            let local = checkpointer.snapshot(&instance.store, checkpoint)?;
            let checkpointer = checkpointer.clone();
            if !self.incremental {
                return Ok(Box::new(move || {
                    let handle = checkpointer.upload_private(local)?;
                    Ok((RocksFiles::Files(handle), Vec::new()))
                }));
            }
            let base = self.base.clone();
            let pending = self.pending.clone();
            return Ok(Box::new(move || {
                let handle = checkpointer.upload(local, base.as_ref())?;
                let shared = shared_files(&handle, checkpoint);
                pending.lock().insert(checkpoint, handle.clone());
                Ok((RocksFiles::Files(handle), shared))
            }));
        }
        let dir = instance.stage(&paths::checkpoint_dir_name(checkpoint))?;
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
        let dir = instance.stage(&format!("canonical-{checkpoint}"))?;
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
    /// on if they are a checkpoint in this job's own directory and checkpoints are incremental.
    fn materialize(
        &self,
        files: RocksFiles,
        working_dir: PathBuf,
        options: RocksDbOptions,
    ) -> Result<(RocksDbStateStore, Option<IncrementalHandle>), BoxError> {
        let (store, from) = materialize(files, working_dir, options, &self.dirs)?;
        Ok(match from {
            // Files of another directory cannot be referenced by this job's checkpoints.
            Some((dir, handle)) if self.incremental => {
                let own = self
                    .checkpointer
                    .as_ref()
                    .is_some_and(|c| c.job_dir() == dir.as_path());
                (store, own.then_some(handle))
            }
            _ => (store, None),
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
