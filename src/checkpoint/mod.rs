//! Checkpoints on disk: the names of every file and directory ([`paths`]), the file format they
//! share ([`file_format`]), durable writes ([`durable`]), the storages a job writes to
//! ([`storage`]), what happens to the storage when a job starts ([`startup`]) and the restore
//! that loads a job's checkpoint, checked against the job before it runs ([`restore`]), and
//! reading savepoints and checkpoints without a job ([`inspect`]).

pub mod durable;
pub mod file_format;
pub mod inspect;
pub mod paths;
pub mod restore;
pub mod shared_file_registry;
pub mod startup;
pub mod storage;
