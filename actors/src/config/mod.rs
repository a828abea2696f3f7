//! Configuration by Flink's keys: the key table, the typed values and the checkpoint settings.
//!
//! The files depend on each other in one direction only: `kinds` (the enumerated settings) ←
//! `values` (parsers) ← `keys` (the key table) ← `checkpoint_config` ← `error` ← `flat_yaml` ←
//! `configuration`.

pub mod checkpoint_config;
pub mod configuration;
mod error;
mod flat_yaml;
mod keys;
mod kinds;
mod values;
