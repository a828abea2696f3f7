//! State: keyed state (per key, by key group) and operator state (per subtask), kept in memory
//! (`heap`) or in RocksDB (`rocksdb`), with an optional time-to-live.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`keyed`] | the keyed state handles, one file per kind, and the keyed state backend |
//! | [`operator`] | operator list, union list and broadcast state |
//! | `heap` | the in-memory copy-on-write map behind keyed state |
//! | [`rocksdb`] | the RocksDB store, its keyed backend and incremental checkpoints |
//! | [`backend`] | the choice of backend per job |
//! | [`ttl`] | state time-to-live |

pub mod backend;
pub(crate) mod heap;
pub mod keyed;
pub mod operator;
pub mod rocksdb;
pub(crate) mod state_map;
pub mod ttl;

pub(crate) use keyed::KindTable;
pub use keyed::{
    AggregateFunction, AggregatingState, KeyedContext, KeyedStateError, ListState, MapState,
    ReducingState, RuntimeContext, ValueState,
};
pub use ttl::{StateTtlConfig, StateVisibility, TtlUpdateType};
