//! The RocksDB backend of keyed state: the store (one instance per operator subtask), the keyed
//! backend on top of it, its local working directories, and incremental checkpoints of its
//! files.

pub mod incremental;
pub(crate) mod keyed_backend;
pub mod store;
pub(crate) mod working_dir;
