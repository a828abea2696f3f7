//! The handles of keyed state, one file per kind, as Flink names them.
//!
//! | kind | per key | declared with |
//! | --- | --- | --- |
//! | [`ValueState<V>`] | one `V` | [`RuntimeContext::value_state`] |
//! | [`ListState<V>`] | a list of `V` | [`RuntimeContext::list_state`] |
//! | [`MapState<UK, UV>`] | a map from `UK` to `UV` | [`RuntimeContext::map_state`] |
//! | [`ReducingState<V>`] | one `V`, each added value folded in by a reduce function | [`RuntimeContext::reducing_state`] |
//! | [`AggregatingState<IN, OUT>`] | an accumulator of an [`AggregateFunction`] | [`RuntimeContext::aggregating_state`] |
//!
//! A handle is an index into the operator's keyed state backend: cheap to clone, declared once in
//! the function's `open`, and used in `process_element` with the [`KeyedContext`], which says which
//! key's state is read or written. A handle's `Default` value is not registered: using it panics,
//! which fails the subtask and names the operator. Every kind is snapshotted and restored by key
//! group with the rules of [`crate::state::keyed::backend`].
//!
//! [`RuntimeContext::value_state`]: crate::RuntimeContext::value_state
//! [`RuntimeContext::list_state`]: crate::RuntimeContext::list_state
//! [`RuntimeContext::map_state`]: crate::RuntimeContext::map_state
//! [`RuntimeContext::reducing_state`]: crate::RuntimeContext::reducing_state
//! [`RuntimeContext::aggregating_state`]: crate::RuntimeContext::aggregating_state
//! [`KeyedContext`]: crate::KeyedContext

/// The impls every handle shares, whatever its type parameters: `Default` (an unregistered
/// handle), `Clone` and `Debug`. A handle is `struct H<..> { index: usize, _types:
/// PhantomData<..> }`.
macro_rules! handle_impls {
    ($name:ident < $($p:ident),+ >) => {
        impl<$($p),+> Default for $name<$($p),+> {
            fn default() -> Self {
                $name {
                    index: usize::MAX,
                    _types: std::marker::PhantomData,
                }
            }
        }

        impl<$($p),+> Clone for $name<$($p),+> {
            fn clone(&self) -> Self {
                $name {
                    index: self.index,
                    _types: std::marker::PhantomData,
                }
            }
        }

        impl<$($p),+> std::fmt::Debug for $name<$($p),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("index", &self.index)
                    .finish()
            }
        }
    };
}

mod aggregating_state;
pub mod backend;
pub(crate) mod context;
pub(crate) mod cross_backend;
pub(crate) mod error;
pub(crate) mod key_value_layout;
pub(crate) mod kind_table;
mod list_state;
mod map_state;
mod reducing_state;
pub mod rescale;
pub(crate) mod snapshot;
pub(crate) mod state_table;
#[cfg(test)]
mod tests;
mod value_state;

pub use aggregating_state::{AggregateFunction, AggregatingState};
pub use context::{KeyedContext, RuntimeContext};
pub use error::{KeyedStateError, StateAccessCause, StateOperation};
pub use list_state::ListState;
pub use map_state::MapState;
pub use reducing_state::ReducingState;
pub use value_state::ValueState;
