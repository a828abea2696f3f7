//! Key groups: how keys map to state shards and to subtasks (Flink's `KeyGroupRangeAssignment`).
//!
//! A key's group is `stable_hash(key) mod max_parallelism`; group `g` belongs to subtask
//! `g * parallelism / max_parallelism`. Keyed state is stored and snapshotted by key group, so a
//! restore at another parallelism hands each subtask whole, contiguous ranges of groups.
//!
//! The hash is [`StableHasher`]: fixed constants, no random seed, so a key lands in the same group
//! in every process and every release of weir.

use std::hash::{Hash, Hasher};
use std::ops::RangeInclusive;

/// The largest max parallelism weir (like Flink) accepts.
pub const UPPER_BOUND_MAX_PARALLELISM: u32 = 32_768;

/// A [`Hasher`] whose output depends only on the bytes written: the same key hashes the same in
/// every process. It mixes 64-bit words multiplicatively and finishes with a murmur3-style avalanche,
/// so consecutive integers spread evenly over key groups.
#[derive(Debug, Clone, Default)]
pub struct StableHasher {
    state: u64,
}

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl StableHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.state;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        h ^ (h >> 33)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// [`std::hash::BuildHasher`] for [`StableHasher`]; also a fast hasher for in-memory keyed state.
pub type StableBuildHasher = std::hash::BuildHasherDefault<StableHasher>;

/// The stable 64-bit hash of `key`.
#[inline]
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = StableHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

/// The key group of `key` for a job with `max_parallelism` key groups.
#[inline]
pub fn assign_to_key_group<K: Hash + ?Sized>(key: &K, max_parallelism: u32) -> u32 {
    KeyGroupAssigner::new(max_parallelism).key_group(key)
}

/// The subtask index that owns `key_group` (`key_group * parallelism / max_parallelism`).
#[inline]
pub fn operator_index_for_key_group(max_parallelism: u32, parallelism: u32, key_group: u32) -> u32 {
    KeyGroupAssigner::new(max_parallelism).operator_index(key_group, parallelism)
}

/// The one place weir maps keys to key groups and key groups to subtasks, for a fixed max
/// parallelism: what [`assign_to_key_group`] and [`operator_index_for_key_group`] compute, with
/// the work that depends only on the max parallelism done once. For a power-of-two max
/// parallelism (the default) the modulo is a mask and the division a shift; the results are
/// those of the formulas for every hash, key group and parallelism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGroupAssigner {
    max_parallelism: u32,
    /// `log2(max_parallelism)` when it is a power of two.
    shift: Option<u32>,
}

impl KeyGroupAssigner {
    /// The assigner for `max_parallelism` key groups (0 is taken as 1).
    #[inline]
    pub fn new(max_parallelism: u32) -> Self {
        let max_parallelism = max_parallelism.max(1);
        KeyGroupAssigner {
            max_parallelism,
            shift: max_parallelism
                .is_power_of_two()
                .then(|| max_parallelism.trailing_zeros()),
        }
    }

    /// The number of key groups.
    #[inline]
    pub fn max_parallelism(&self) -> u32 {
        self.max_parallelism
    }

    /// The key group of a key whose [`stable_hash`] is `hash`: `hash mod max_parallelism`.
    #[inline]
    pub fn key_group_of_hash(&self, hash: u64) -> u32 {
        match self.shift {
            Some(_) => (hash & u64::from(self.max_parallelism - 1)) as u32,
            None => (hash % u64::from(self.max_parallelism)) as u32,
        }
    }

    /// The key group of `key`.
    #[inline]
    pub fn key_group<K: Hash + ?Sized>(&self, key: &K) -> u32 {
        self.key_group_of_hash(stable_hash(key))
    }

    /// The subtask of `parallelism` that owns `key_group`:
    /// `key_group * parallelism / max_parallelism`.
    #[inline]
    pub fn operator_index(&self, key_group: u32, parallelism: u32) -> u32 {
        let product = u64::from(key_group) * u64::from(parallelism);
        match self.shift {
            Some(bits) => (product >> bits) as u32,
            None => (product / u64::from(self.max_parallelism)) as u32,
        }
    }
}

/// The inclusive key-group range owned by subtask `index` of `parallelism`:
/// `ceil(i * max / p) ..= ceil((i + 1) * max / p) - 1`.
pub fn key_group_range(max_parallelism: u32, parallelism: u32, index: u32) -> RangeInclusive<u32> {
    let max = u64::from(max_parallelism);
    let p = u64::from(parallelism.max(1));
    let start = (u64::from(index) * max).div_ceil(p);
    let end = (u64::from(index + 1) * max).div_ceil(p);
    (start as u32)..=((end as u32).saturating_sub(1))
}

/// The max parallelism Flink derives for an operator of `parallelism` when none is set:
/// `min(max(round_up_to_power_of_two(p + p / 2), 128), 32768)`.
pub fn default_max_parallelism(parallelism: u32) -> u32 {
    let wanted = u64::from(parallelism) + u64::from(parallelism) / 2;
    let rounded = wanted.max(1).next_power_of_two();
    rounded.clamp(128, u64::from(UPPER_BOUND_MAX_PARALLELISM)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_max_parallelism_matches_flink() {
        assert_eq!(default_max_parallelism(1), 128);
        assert_eq!(default_max_parallelism(85), 128);
        assert_eq!(default_max_parallelism(86), 256);
        assert_eq!(default_max_parallelism(100), 256);
        assert_eq!(default_max_parallelism(1000), 2048);
        assert_eq!(default_max_parallelism(100_000), 32_768);
    }

    #[test]
    fn key_group_ranges_match_flink_examples() {
        let ranges: Vec<_> = (0..3).map(|i| key_group_range(128, 3, i)).collect();
        assert_eq!(ranges, vec![0..=42, 43..=85, 86..=127]);
        let ranges: Vec<_> = (0..3).map(|i| key_group_range(10, 3, i)).collect();
        assert_eq!(ranges, vec![0..=3, 4..=6, 7..=9]);
    }

    #[test]
    fn every_key_group_is_owned_by_the_subtask_whose_range_holds_it() {
        for (max, p) in [(128, 3), (10, 3), (128, 2), (256, 7), (7, 7)] {
            for g in 0..max {
                let owner = operator_index_for_key_group(max, p, g);
                assert!(
                    key_group_range(max, p, owner).contains(&g),
                    "max {max} p {p} g {g}"
                );
            }
        }
    }

    #[test]
    fn stable_hash_is_fixed_across_processes() {
        // Pinned values: a change here would move every key of every saved checkpoint.
        assert_eq!(stable_hash(&0u64), stable_hash(&0u64));
        assert_eq!(
            assign_to_key_group(&42u64, 128),
            assign_to_key_group(&42u64, 128)
        );
        let pinned = [
            stable_hash(&7u64),
            stable_hash("word"),
            stable_hash(&(1u32, 2u32)),
        ];
        assert_eq!(pinned, PINNED);
    }

    const PINNED: [u64; 3] = [
        4_478_704_255_447_944_746,
        3_332_118_775_590_533_732,
        151_130_353_871_125_811,
    ];

    #[test]
    fn consecutive_keys_spread_over_key_groups() {
        let mut counts = vec![0u32; 128];
        for k in 0..128_000u64 {
            counts[assign_to_key_group(&k, 128) as usize] += 1;
        }
        let (min, max) = (counts.iter().min().copied(), counts.iter().max().copied());
        assert!(
            min.unwrap_or(0) > 800 && max.unwrap_or(u32::MAX) < 1200,
            "{min:?} {max:?}"
        );
    }
}
