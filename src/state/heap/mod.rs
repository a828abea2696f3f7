//! The in-memory (HashMap) backend of keyed state: the copy-on-write map and how its entries
//! go into snapshots.

pub(crate) mod cow_map;
pub(crate) mod entries;
