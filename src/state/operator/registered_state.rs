//! [`RegisteredState`]: a declared operator state with its element type erased, as the store
//! keeps it, and the writer that encodes its elements for a snapshot.

use super::state_kind::StateKind;
use std::any::Any;

/// The asynchronous part of one state's snapshot: encodes its elements.
pub(crate) type ElementsWriter = Box<dyn FnOnce() -> Result<Vec<Vec<u8>>, postcard::Error> + Send>;

/// A declared state, its element type erased.
pub(crate) trait RegisteredState: Send {
    /// Its kind.
    fn kind(&self) -> StateKind;
    /// Its element type's `std::any::type_name` (for broadcast state, the `(key, value)`
    /// tuple's), for the error when a name is declared again with another Rust type; what is
    /// recorded is the type identity the store keeps.
    fn type_name(&self) -> &'static str;
    /// Fixes the state's current contents (an `Arc` clone) and returns their encoder.
    fn snapshot(&self) -> ElementsWriter;
    /// For downcasting back to its handle.
    fn as_any(&self) -> &dyn Any;
}
