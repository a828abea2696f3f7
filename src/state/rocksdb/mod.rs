//! The RocksDB backend of keyed state: the store (one instance per operator subtask), the keyed
//! backend on top of it, its local working directories, and incremental checkpoints of its
//! files.

pub mod incremental;
pub(crate) mod keyed_backend;
// Without the `rocksdb` feature, a store of the same types that opens nothing (no C++ build).
#[cfg_attr(not(feature = "rocksdb"), path = "store_disabled.rs")]
pub mod store;
pub(crate) mod working_dir;
