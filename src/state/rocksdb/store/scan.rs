//! [`StateScan`]: a lazy scan over one state's entries.

use super::{RocksDbError, StateEntry};
use rocksdb::{DBIteratorWithThreadMode, DB};
use std::path::Path;

/// A lazy scan over one state's entries, in key order (see
/// [`RocksDbStateStore::scan_key_group_range`](super::RocksDbStateStore::scan_key_group_range)).
pub struct StateScan<'a> {
    pub(super) inner: DBIteratorWithThreadMode<'a, DB>,
    pub(super) state: String,
    pub(super) path: &'a Path,
}

impl std::fmt::Debug for StateScan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateScan")
            .field("state", &self.state)
            .field("path", &self.path)
            .finish()
    }
}

impl Iterator for StateScan<'_> {
    type Item = Result<StateEntry, RocksDbError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        let error = |reason: String| RocksDbError::State {
            operation: "scan",
            state: self.state.clone(),
            path: self.path.to_path_buf(),
            reason,
        };
        Some(match item {
            Ok((key, value)) if key.len() >= 2 => Ok(StateEntry {
                key_group: u32::from(u16::from_be_bytes([key[0], key[1]])),
                key: key[2..].to_vec(),
                value: value.into_vec(),
            }),
            Ok(_) => Err(error("a key without its key group".to_owned())),
            Err(e) => Err(error(e.into_string())),
        })
    }
}
