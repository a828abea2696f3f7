//! The in-memory (HashMap) backend of keyed state.

pub(crate) mod cow_map;
