//! The store's settings and entry types, shared by the real store and by the one of a build
//! without the `rocksdb` feature.

use weir_actors::graph::key_group::UPPER_BOUND_MAX_PARALLELISM;

/// The largest key group a key may have (max parallelism is at most 32 768).
pub const MAX_KEY_GROUP: u32 = UPPER_BOUND_MAX_PARALLELISM - 1;

/// Memory limits of one RocksDB instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RocksDbOptions {
    /// Capacity of the LRU block cache shared by every state (data, index and filter blocks).
    pub block_cache_bytes: usize,
    /// Size of one memtable; a state's memtable is flushed to an SST file when it is full.
    pub write_buffer_bytes: usize,
    /// Memtables a state may hold (one active, the others being flushed). All states' memtables
    /// together are also kept under `write_buffer_bytes * max_write_buffers`.
    pub max_write_buffers: u32,
}

impl Default for RocksDbOptions {
    /// 8 MiB of block cache, 4 MiB memtables, 2 of them: about 16 MiB per subtask.
    fn default() -> Self {
        RocksDbOptions {
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 4 << 20,
            max_write_buffers: 2,
        }
    }
}

/// One entry of a key-group scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    /// The entry's key group.
    pub key_group: u32,
    /// The key without its key group: `postcard(key)`, then the user key for map state.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

/// One write of a [`RocksDbStateStore::write_batch`]: a key of a key group set to a value, or
/// deleted (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWrite {
    /// The key group.
    pub key_group: u32,
    /// `postcard(key)`, then the user key for map state.
    pub key: Vec<u8>,
    /// The value, or `None` to delete the key.
    pub value: Option<Vec<u8>>,
}

/// A key (or the rest of one) and its value, serialized.
pub type KeyValue = (Vec<u8>, Vec<u8>);
