//! Configuration by Flink's keys: the key table, the typed values and the checkpoint settings.

pub mod checkpoint_config;
pub mod configuration;
mod error;
mod keys;
mod values;
