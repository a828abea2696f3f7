//! Operator state: state bound to an operator's subtask rather than to a key (Flink's
//! `OperatorStateStore`), for functions on non-keyed streams.
//!
//! | kind | declared with | on restore, a subtask gets |
//! | --- | --- | --- |
//! | [`ListState<T>`] | [`OperatorStateContext::list_state`] | its share of all subtasks' elements (its own list at the same parallelism) |
//! | [`UnionListState<T>`] | [`OperatorStateContext::union_list_state`] | every subtask's elements |
//! | [`BroadcastState<K, V>`] | [`OperatorStateContext::broadcast_state`] | a full copy (every subtask holds the same map) |
//!
//! Two kinds of function use it:
//! - a [`CheckpointedFunction`], applied with [`DataStream::process_with_state`]: declares its
//!   states in `open` (Flink's `initializeState`) and keeps the handles;
//! - a [`BroadcastProcessFunction`], applied to `stream.connect(&rules)` (see
//!   [`DataStream::connect`]): reads the broadcast state for each element of the main stream and
//!   writes it for each element of the broadcast stream.
//!
//! # Guarantees
//! - **Restore before the first record.** A state declared in `open` already holds what the
//!   checkpoint the job restores from recorded, on every restart (the runtime restores from the
//!   latest complete checkpoint each time), so with checkpointing on, the states see each record
//!   exactly once.
//! - **Checked types.** Every state is recorded under its name with its kind and the
//!   [`TypeIdentity`](crate::TypeIdentity) of its elements: their `std::any::type_name` without
//!   module paths (`Vec<String>`, `(u64, Click)`), or an identity given at declaration with
//!   [`OperatorStateContext::with_type_id`] or [`BroadcastStateDescriptor::with_type_id`].
//!   Identities are compared after normalizing both, so a recompiled job, a type moved to another
//!   module, or a checkpoint of an earlier weir (full `type_name` paths) restores; declaring a
//!   restored name as another kind, type or id fails with an [`OperatorStateError`] naming the
//!   operator uid and the state. Two types of the same name in different modules are not told
//!   apart (whether the elements decode decides).
//! - **Short snapshots.** The synchronous part of a snapshot only clones an `Arc` per state; the
//!   first write after it copies that state once if the snapshot is still being written
//!   (copy-on-write). Elements are serialized with postcard off the subtask's thread.
//! - **States nobody declares are kept.** A restored state the function does not declare is
//!   written again, unchanged, into later checkpoints.
//! - **Redistribution** follows Flink, as [`redistribute`] documents; weir does not yet restore
//!   at another parallelism, but the rules are in place for it.

mod broadcast_process;
mod broadcast_state;
mod checkpointed_function;
mod error;
mod list_state;
mod redistribution;
#[cfg(test)]
mod redistribution_tests;
mod registered_state;
pub(crate) mod snapshot;
mod state_kind;
mod store;
#[cfg(test)]
mod tests;

pub use broadcast_process::{
    BroadcastConnectedStream, BroadcastContext, BroadcastInput, BroadcastProcessFunction,
    BroadcastProcessOperator, ReadOnlyContext,
};
pub use broadcast_state::{BroadcastState, BroadcastStateDescriptor, ReadOnlyBroadcastState};
pub use checkpointed_function::{CheckpointedFunction, CheckpointedOperator};
pub use error::OperatorStateError;
pub use list_state::{ListState, UnionListState};
pub use redistribution::redistribute;
pub use state_kind::{OperatorStateValue, StateKind};
pub(crate) use store::encode_list_state;
pub use store::{OperatorStateContext, OperatorStateStore};

#[cfg(doc)]
use crate::DataStream;
