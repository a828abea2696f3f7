//! Checkpoints on disk: the file format every checkpoint file shares, the storages a job writes
//! to, and the restore that loads a job's checkpoint (checked against the job before it runs).

pub mod file_format;
pub mod restore;
pub mod storage;
