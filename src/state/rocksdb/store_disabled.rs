//! The RocksDB store of a build without the `rocksdb` feature: the same types as
//! [the real store](https://docs.rs/weir-stream/latest/weir/state/rocksdb/store/), so the code
//! above it compiles unchanged, but no instance can be opened (RocksDB's C++ library is not
//! built). Choosing [`StateBackend::RocksDb`](crate::StateBackend::RocksDb) in such a build is
//! refused before the job starts, with
//! [`GraphError::FeatureNotEnabled`](crate::GraphError::FeatureNotEnabled); opening a store
//! directly fails with [`RocksDbError::Db`].
//!
//! The settings, entry, error and file types are the real store's (`store/types.rs`,
//! `store/files.rs`).

#[path = "store/files.rs"]
mod files;
#[path = "store/types.rs"]
mod types;

pub(crate) use files::{copy_file, create_empty_dir, io_error, list_files};
pub use files::{RocksDbError, SstFile};
use std::convert::Infallible;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
pub use types::{BatchWrite, KeyValue, RocksDbOptions, StateEntry, MAX_KEY_GROUP};

/// Why nothing opens here.
const DISABLED: &str = "weir was built without its `rocksdb` feature";

/// A scan over one state's entries; none exists in this build.
#[derive(Debug)]
pub struct StateScan<'a> {
    never: Infallible,
    _store: std::marker::PhantomData<&'a ()>,
}

impl Iterator for StateScan<'_> {
    type Item = Result<StateEntry, RocksDbError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.never {}
    }
}

/// A RocksDB instance; none can be opened in this build.
#[derive(Debug)]
pub struct RocksDbStateStore {
    never: Infallible,
}

fn disabled<T>(operation: &'static str, path: PathBuf) -> Result<T, RocksDbError> {
    Err(RocksDbError::Db {
        operation,
        path,
        reason: DISABLED.to_string(),
    })
}

#[allow(missing_docs, clippy::missing_errors_doc)]
impl RocksDbStateStore {
    pub fn open(
        working_dir: impl Into<PathBuf>,
        options: RocksDbOptions,
    ) -> Result<Self, RocksDbError> {
        let _ = options;
        disabled("open", working_dir.into())
    }

    pub fn restore_native_checkpoint(
        checkpoint_dir: &Path,
        working_dir: impl Into<PathBuf>,
        options: RocksDbOptions,
    ) -> Result<Self, RocksDbError> {
        let _ = (checkpoint_dir, options);
        disabled("open", working_dir.into())
    }

    pub(crate) fn open_existing(
        path: PathBuf,
        options: RocksDbOptions,
    ) -> Result<Self, RocksDbError> {
        let _ = options;
        disabled("open", path)
    }

    pub fn path(&self) -> &Path {
        match self.never {}
    }

    pub fn options(&self) -> RocksDbOptions {
        match self.never {}
    }

    pub fn states(&self) -> impl Iterator<Item = &str> {
        std::iter::empty()
    }

    pub fn register_state(&mut self, _: &str) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn get(&self, _: &str, _: u32, _: &[u8]) -> Result<Option<Vec<u8>>, RocksDbError> {
        match self.never {}
    }

    pub fn put(&mut self, _: &str, _: u32, _: &[u8], _: &[u8]) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn write_batch(&mut self, _: &str, _: &[BatchWrite]) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn delete(&mut self, _: &str, _: u32, _: &[u8]) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn scan_key_group_range(
        &self,
        _: &str,
        _: RangeInclusive<u32>,
    ) -> Result<StateScan<'_>, RocksDbError> {
        match self.never {}
    }

    pub fn prefix_scan(&self, _: &str, _: u32, _: &[u8]) -> Result<Vec<KeyValue>, RocksDbError> {
        match self.never {}
    }

    pub fn delete_key_group_range(&mut self, _: RangeInclusive<u32>) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn flush(&self) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn compact_all(&self) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn full_snapshot(&self) -> Result<Vec<u8>, RocksDbError> {
        match self.never {}
    }

    pub fn restore_full_snapshot(
        &mut self,
        _: &[u8],
        _: RangeInclusive<u32>,
    ) -> Result<(), RocksDbError> {
        match self.never {}
    }

    pub fn native_checkpoint(&self, _: &Path) -> Result<Vec<SstFile>, RocksDbError> {
        match self.never {}
    }
}

#[cfg(test)]
mod tests {
    use crate::{Error, GraphError, StateBackend, StreamEnvironment};

    #[test]
    fn choosing_rocksdb_without_its_feature_is_refused_before_the_job_starts() {
        let mut env = StreamEnvironment::new();
        env.set_state_backend(StateBackend::rocksdb());
        env.generate_sequence(1, 10).discard();
        assert!(matches!(
            env.execute(),
            Err(Error::Graph(GraphError::FeatureNotEnabled {
                feature: "rocksdb",
                ..
            }))
        ));
    }

    #[test]
    fn a_store_cannot_be_opened() {
        let dir = std::env::temp_dir().join("weir-no-rocksdb");
        let err = super::RocksDbStateStore::open(&dir, Default::default()).unwrap_err();
        assert!(matches!(err, super::RocksDbError::Db { .. }), "{err}");
    }
}
