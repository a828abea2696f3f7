//! [`Map`]: the hash map every in-memory state table uses, hashing with weir's stable hasher
//! (fast, and the same hash that assigns keys to key groups).

use std::collections::HashMap;
use weir_actors::graph::key_group::StableBuildHasher;

/// A hash map with the stable hasher.
pub(crate) type Map<K, V> = HashMap<K, V, StableBuildHasher>;
