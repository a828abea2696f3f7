//! State: keyed state (per key, by key group) and operator state (per subtask), kept in memory
//! (`heap`) or in RocksDB (`rocksdb`), with an optional time-to-live.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`keyed`] | the keyed state handles, one file per kind, and the keyed state backend |
//! | [`operator`] | operator list, union list and broadcast state |
//! | `heap` | the in-memory copy-on-write map behind keyed state, and its snapshot entries |
//! | `key_groups` | the key groups a subtask owns, and where a key falls among them |
//! | `state_key` | the bounds of keys and values of keyed state ([`StateKey`], [`StateValue`]) |
//! | `stable_map` | the hash map in-memory tables use |
//! | `state_map` | the per-key map of a state in either backend, with its time-to-live |
//! | `access_error` | a state access that failed during a call, reported after it |
//! | [`rocksdb`] | the RocksDB store, its keyed backend and incremental checkpoints |
//! | [`backend`] | the choice of backend per job |
//! | [`ttl`] | state time-to-live |
//! | [`type_identity`] | the stable identity of a state's type, recorded in snapshots and checked on restore |

pub(crate) mod access_error;
pub mod backend;
pub(crate) mod heap;
pub(crate) mod key_groups;
pub mod keyed;
pub mod operator;
pub mod rocksdb;
pub(crate) mod stable_map;
pub(crate) mod state_key;
pub(crate) mod state_map;
pub mod ttl;
pub mod type_identity;
#[cfg(test)]
mod type_identity_tests;

pub use keyed::{
    AggregateFunction, AggregatingState, KeyedContext, KeyedStateError, ListState, MapState,
    ReducingState, RuntimeContext, StateAccessCause, StateOperation, ValueState,
};
pub use state_key::{StateKey, StateValue};
pub use ttl::{StateTtlConfig, StateVisibility, TtlUpdateType};
pub use type_identity::{normalize_type_name, TypeIdentity};
