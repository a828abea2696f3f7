//! The store's snapshots: memtable flushes, full snapshots (every entry in one byte string) and
//! RocksDB's native checkpoints (hard-linked SST files), and restores from both.

use super::*;

impl RocksDbStateStore {
    /// A store restored from a native checkpoint directory written by
    /// [`native_checkpoint`](Self::native_checkpoint): its files are copied into `working_dir`
    /// (created if missing, must be empty) and opened there. The checkpoint is left untouched.
    pub fn restore_native_checkpoint(
        checkpoint_dir: &Path,
        working_dir: impl Into<PathBuf>,
        options: RocksDbOptions,
    ) -> Result<Self, RocksDbError> {
        let path = working_dir.into();
        create_empty_dir(&path)?;
        for file in list_files(checkpoint_dir)? {
            copy_file(&checkpoint_dir.join(&file.name), &path.join(&file.name))?;
        }
        Self::open_existing(path, options)
    }

    /// Flushes every state's memtable to SST files.
    pub fn flush(&self) -> Result<(), RocksDbError> {
        self.db
            .flush()
            .map_err(|e| db_error("flush", &self.path, e))?;
        for state in &self.states {
            let cf = self.column_family(state)?;
            self.db
                .flush_cf(cf)
                .map_err(|e| self.state_error("flush", state, e))?;
        }
        Ok(())
    }

    /// Compacts every state fully, waiting for the result: after a bulk load or a rescale's
    /// [`delete_key_group_range`](Self::delete_key_group_range), it leaves each state in few
    /// files, without deleted entries.
    pub fn compact_all(&self) -> Result<(), RocksDbError> {
        for state in &self.states {
            let cf = self.column_family(state)?;
            self.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Every state's entries, encoded with postcard as `Vec<{name, Vec<(key group, Vec<(key,
    /// value)>)>}>` (states by name, groups ascending): the layout of the hashmap backend's
    /// snapshot, with serialized keys and values. Restore with
    /// [`restore_full_snapshot`](Self::restore_full_snapshot).
    pub fn full_snapshot(&self) -> Result<Vec<u8>, RocksDbError> {
        let mut snapshot = Vec::with_capacity(self.states.len());
        for state in &self.states {
            let mut groups: Vec<KeyGroupEntries> = Vec::new();
            for entry in self.scan_key_group_range(state, 0..=MAX_KEY_GROUP)? {
                let entry = entry?;
                match groups.last_mut() {
                    Some((group, entries)) if *group == entry.key_group => {
                        entries.push((entry.key, entry.value))
                    }
                    _ => groups.push((entry.key_group, vec![(entry.key, entry.value)])),
                }
            }
            snapshot.push(StateSnapshot {
                name: state.clone(),
                groups,
            });
        }
        postcard::to_allocvec(&snapshot).map_err(|e| RocksDbError::Db {
            operation: "encode a full snapshot",
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Adds the entries of a [`full_snapshot`](Self::full_snapshot) whose key group is in
    /// `key_groups` (the groups this subtask owns), registering its states.
    pub fn restore_full_snapshot(
        &mut self,
        bytes: &[u8],
        key_groups: RangeInclusive<u32>,
    ) -> Result<(), RocksDbError> {
        let snapshot: Vec<StateSnapshot> =
            postcard::from_bytes(bytes).map_err(|e| RocksDbError::CorruptSnapshot {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        for state in snapshot {
            self.register_state(&state.name)?;
            let cf = self.column_family(&state.name)?;
            for (group, entries) in state.groups {
                if !key_groups.contains(&group) {
                    continue;
                }
                let mut batch = WriteBatch::default();
                for (key, value) in entries {
                    batch.put_cf(cf, self.db_key(&state.name, group, &key)?, value);
                }
                self.db
                    .write_opt(batch, &self.write_options)
                    .map_err(|e| self.state_error("restore", &state.name, e))?;
            }
        }
        Ok(())
    }

    /// Flushes, then writes a RocksDB checkpoint of every state into `dir` (which must not exist;
    /// its parent must): SST files hard-linked where the file system allows, plus the instance's
    /// `MANIFEST`, `CURRENT` and `OPTIONS` files. Returns the files written, sorted by name.
    pub fn native_checkpoint(&self, dir: &Path) -> Result<Vec<SstFile>, RocksDbError> {
        self.flush()?;
        let checkpoint =
            Checkpoint::new(&self.db).map_err(|e| db_error("start a checkpoint", dir, e))?;
        checkpoint
            .create_checkpoint(dir)
            .map_err(|e| db_error("write a checkpoint", dir, e))?;
        list_files(dir)
    }
}
