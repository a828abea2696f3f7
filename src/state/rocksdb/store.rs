//! Keyed state in an embedded RocksDB: one instance per operator subtask in a local working
//! directory, one column family per state, keys prefixed by key group.
//!
//! This is the storage layer of the RocksDB state backend; it stores bytes (callers serialize
//! keys and values with postcard) and knows nothing of operators.
//!
//! # Key layout
//! ```text
//! [key group: u16 big-endian][postcard(key)][postcard(user key), map state only]
//! ```
//! Big-endian key groups sort numerically, so a key-group range is one contiguous scan
//! ([`RocksDbStateStore::scan_key_group_range`]) and one range deletion
//! ([`RocksDbStateStore::delete_key_group_range`]). The postcard encodings of one type are
//! prefix-free (a value is decoded without knowing its length), so the entries of one key's map
//! are exactly those whose key starts with `[key group][postcard(key)]`
//! ([`RocksDbStateStore::prefix_scan`]).
//!
//! # Guarantees
//! - Writes take `&mut self`: a snapshot ([`full_snapshot`](RocksDbStateStore::full_snapshot),
//!   [`native_checkpoint`](RocksDbStateStore::native_checkpoint)) never runs concurrently with a
//!   write, so it sees every state at the same point.
//! - The write-ahead log is off (as in Flink): the working directory is scratch space, never
//!   reopened after a crash; durability comes from checkpoints, which flush first.
//! - Memory is bounded by [`RocksDbOptions`]: one block cache shared by every state (index and
//!   filter blocks included), and memtables bounded per state and in total.
//! - Every failure, disk errors included, is a [`RocksDbError`] naming the path (and the state,
//!   where there is one); nothing here panics.

use rocksdb::checkpoint::Checkpoint;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType,
    IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions, DB,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

mod files;
mod scan;
mod snapshots;
mod types;

use files::db_error;
pub(crate) use files::{copy_file, create_empty_dir, io_error, list_files};
pub use files::{RocksDbError, SstFile};
pub use scan::StateScan;
pub use types::{BatchWrite, KeyValue, RocksDbOptions, StateEntry, MAX_KEY_GROUP};

/// Column families of states are named `state:<name>`, apart from RocksDB's `default`.
const STATE_CF_PREFIX: &str = "state:";

/// One key group's entries in a full snapshot, in key order.
type KeyGroupEntries = (u32, Vec<KeyValue>);

/// One state in a full snapshot: its entries by key group, ascending, each group's entries in
/// key order.
#[derive(Serialize, Deserialize)]
struct StateSnapshot {
    name: String,
    groups: Vec<KeyGroupEntries>,
}

/// The keyed states of one operator subtask, in a RocksDB instance in a local working directory.
pub struct RocksDbStateStore {
    db: DB,
    path: PathBuf,
    options: RocksDbOptions,
    cache: Cache,
    write_options: WriteOptions,
    states: BTreeSet<String>,
}

impl std::fmt::Debug for RocksDbStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbStateStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("states", &self.states)
            .finish()
    }
}

impl RocksDbStateStore {
    /// A new, empty store in `working_dir`, which is created if missing and must be empty.
    pub fn open(
        working_dir: impl Into<PathBuf>,
        options: RocksDbOptions,
    ) -> Result<Self, RocksDbError> {
        let path = working_dir.into();
        create_empty_dir(&path)?;
        Self::open_existing(path, options)
    }

    /// Opens the instance whose files are in `path` (an empty directory gives an empty store),
    /// with every state it holds registered.
    pub(crate) fn open_existing(
        path: PathBuf,
        options: RocksDbOptions,
    ) -> Result<Self, RocksDbError> {
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let mut db_options = column_family_options(&options, &cache);
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_db_write_buffer_size(
            options
                .write_buffer_bytes
                .saturating_mul(options.max_write_buffers as usize),
        );
        db_options.set_keep_log_file_num(2);
        db_options.set_max_background_jobs(2);
        let names = if path.join("CURRENT").exists() {
            DB::list_cf(&db_options, &path)
                .map_err(|e| db_error("list column families", &path, e))?
        } else {
            Vec::new()
        };
        let descriptors = names
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(n, column_family_options(&options, &cache)));
        let db = DB::open_cf_descriptors(&db_options, &path, descriptors)
            .map_err(|e| db_error("open", &path, e))?;
        let states = names
            .iter()
            .filter_map(|n| n.strip_prefix(STATE_CF_PREFIX).map(str::to_owned))
            .collect();
        let mut write_options = WriteOptions::default();
        write_options.disable_wal(true);
        Ok(RocksDbStateStore {
            db,
            path,
            options,
            cache,
            write_options,
            states,
        })
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The memory limits the instance was opened with.
    pub fn options(&self) -> RocksDbOptions {
        self.options
    }

    /// The registered states' names, sorted.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.states.iter().map(String::as_str)
    }

    /// Creates the column family of state `name` if it has none yet; registering a state again
    /// (or one restored from a checkpoint) does nothing.
    pub fn register_state(&mut self, name: &str) -> Result<(), RocksDbError> {
        if self.states.contains(name) {
            return Ok(());
        }
        let options = column_family_options(&self.options, &self.cache);
        self.db
            .create_cf(column_family_name(name), &options)
            .map_err(|e| self.state_error("create the column family of", name, e))?;
        self.states.insert(name.to_owned());
        Ok(())
    }

    /// The value of `key` (`postcard(key)`, then the user key for map state) in `key_group`.
    pub fn get(
        &self,
        state: &str,
        key_group: u32,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, RocksDbError> {
        let cf = self.column_family(state)?;
        let db_key = self.db_key(state, key_group, key)?;
        self.db
            .get_cf(cf, db_key)
            .map_err(|e| self.state_error("read", state, e))
    }

    /// Sets `key` of `key_group` to `value`.
    pub fn put(
        &mut self,
        state: &str,
        key_group: u32,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), RocksDbError> {
        let cf = self.column_family(state)?;
        let db_key = self.db_key(state, key_group, key)?;
        self.db
            .put_cf_opt(cf, db_key, value, &self.write_options)
            .map_err(|e| self.state_error("write", state, e))
    }

    /// Applies `writes` to state `state` atomically, in one RocksDB write batch.
    pub fn write_batch(&mut self, state: &str, writes: &[BatchWrite]) -> Result<(), RocksDbError> {
        let cf = self.column_family(state)?;
        let mut batch = WriteBatch::default();
        for w in writes {
            let db_key = self.db_key(state, w.key_group, &w.key)?;
            match &w.value {
                Some(value) => batch.put_cf(cf, db_key, value),
                None => batch.delete_cf(cf, db_key),
            }
        }
        self.db
            .write_opt(batch, &self.write_options)
            .map_err(|e| self.state_error("write", state, e))
    }

    /// Removes `key` of `key_group` (nothing happens if it is absent).
    pub fn delete(&mut self, state: &str, key_group: u32, key: &[u8]) -> Result<(), RocksDbError> {
        let cf = self.column_family(state)?;
        let db_key = self.db_key(state, key_group, key)?;
        self.db
            .delete_cf_opt(cf, db_key, &self.write_options)
            .map_err(|e| self.state_error("delete", state, e))
    }

    /// The entries of the key groups in `key_groups`, by key group then key, read lazily.
    pub fn scan_key_group_range(
        &self,
        state: &str,
        key_groups: RangeInclusive<u32>,
    ) -> Result<StateScan<'_>, RocksDbError> {
        let cf = self.column_family(state)?;
        let lower = self.db_key(state, *key_groups.start(), &[])?;
        let end = self.db_key(state, *key_groups.end(), &[])?;
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(lower);
        // `end` + 1 fits in a u16: key groups stop at MAX_KEY_GROUP.
        read.set_iterate_upper_bound((u16::from_be_bytes([end[0], end[1]]) + 1).to_be_bytes());
        Ok(self.scan(cf, state, read))
    }

    /// Every entry of `key_group` whose key starts with `prefix`, in key order, as (the rest of
    /// the key, value): with `prefix = postcard(key)`, the user keys and values of one key's map.
    pub fn prefix_scan(
        &self,
        state: &str,
        key_group: u32,
        prefix: &[u8],
    ) -> Result<Vec<KeyValue>, RocksDbError> {
        let cf = self.column_family(state)?;
        let lower = self.db_key(state, key_group, prefix)?;
        let mut read = ReadOptions::default();
        if let Some(upper) = successor(&lower) {
            read.set_iterate_upper_bound(upper);
        }
        read.set_iterate_lower_bound(lower);
        self.scan(cf, state, read)
            .take_while(|e| !matches!(e, Ok(e) if !e.key.starts_with(prefix)))
            .map(|e| e.map(|e| (e.key[prefix.len()..].to_vec(), e.value)))
            .collect()
    }

    /// Removes every entry of the key groups in `key_groups` from every state (after a rescale,
    /// the groups this subtask no longer owns), with one range deletion per state.
    pub fn delete_key_group_range(
        &mut self,
        key_groups: RangeInclusive<u32>,
    ) -> Result<(), RocksDbError> {
        if key_groups.is_empty() {
            return Ok(());
        }
        for state in &self.states {
            let cf = self.column_family(state)?;
            let from = self.db_key(state, *key_groups.start(), &[])?;
            let end = self.db_key(state, *key_groups.end(), &[])?;
            let to = (u16::from_be_bytes([end[0], end[1]]) + 1)
                .to_be_bytes()
                .to_vec();
            self.db
                .delete_range_cf_opt(cf, from, to, &self.write_options)
                .map_err(|e| self.state_error("delete a key-group range of", state, e))?;
        }
        Ok(())
    }

    fn column_family(&self, state: &str) -> Result<&ColumnFamily, RocksDbError> {
        self.db
            .cf_handle(&column_family_name(state))
            .filter(|_| self.states.contains(state))
            .ok_or_else(|| RocksDbError::UnknownState {
                state: state.to_owned(),
                path: self.path.clone(),
            })
    }

    /// `[key group: u16 big-endian][key]`, refusing key groups above [`MAX_KEY_GROUP`].
    fn db_key(&self, state: &str, key_group: u32, key: &[u8]) -> Result<Vec<u8>, RocksDbError> {
        let group = u16::try_from(key_group)
            .ok()
            .filter(|_| key_group <= MAX_KEY_GROUP)
            .ok_or_else(|| RocksDbError::KeyGroupOutOfRange {
                state: state.to_owned(),
                path: self.path.clone(),
                key_group,
            })?;
        let mut db_key = Vec::with_capacity(2 + key.len());
        db_key.extend_from_slice(&group.to_be_bytes());
        db_key.extend_from_slice(key);
        Ok(db_key)
    }

    fn scan<'a>(&'a self, cf: &ColumnFamily, state: &str, read: ReadOptions) -> StateScan<'a> {
        StateScan {
            inner: self.db.iterator_cf_opt(cf, read, IteratorMode::Start),
            state: state.to_owned(),
            path: &self.path,
        }
    }

    fn state_error(&self, operation: &'static str, state: &str, e: rocksdb::Error) -> RocksDbError {
        RocksDbError::State {
            operation,
            state: state.to_owned(),
            path: self.path.clone(),
            reason: e.into_string(),
        }
    }
}

fn column_family_name(state: &str) -> String {
    format!("{STATE_CF_PREFIX}{state}")
}

/// The options of one state's column family, sharing `cache`; also the base of the DB options.
fn column_family_options(options: &RocksDbOptions, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_cache_index_and_filter_blocks(true);
    let mut cf = Options::default();
    cf.set_block_based_table_factory(&table);
    cf.set_write_buffer_size(options.write_buffer_bytes);
    cf.set_max_write_buffer_number(i32::try_from(options.max_write_buffers).unwrap_or(i32::MAX));
    // weir builds RocksDB without compression codecs.
    cf.set_compression_type(DBCompressionType::None);
    cf
}

/// The smallest key greater than every key starting with `prefix`, if there is one.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}
