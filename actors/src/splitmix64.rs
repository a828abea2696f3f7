//! A small seeded pseudo-random generator, [`SplitMix64`], from which the exponential-delay
//! restart strategy draws its jitter. Re-exported from
//! [`restart_strategy`](crate::recovery::restart_strategy).

/// A tiny deterministic pseudo-random generator (SplitMix64, after Steele, Lea and Flood): a 64-bit
/// counter advanced by the golden-ratio increment, then mixed. Not cryptographic; used so that
/// jitter replays identically from a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose output is fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 uniformly distributed bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `[low, high]`, both inclusive, without modulo bias. If `low > high` the
    /// bounds are swapped.
    pub fn next_in_range(&mut self, low: i64, high: i64) -> i64 {
        let (low, high) = (low.min(high), low.max(high));
        // Number of values minus one; fits in u64 even for the full i64 range.
        let span = high.wrapping_sub(low) as u64;
        if span == u64::MAX {
            return self.next_u64() as i64;
        }
        low.wrapping_add(self.next_below(span + 1) as i64)
    }

    /// A uniform integer in `[0, bound)` for `bound >= 1`, by widening multiplication with
    /// rejection of the biased low products.
    fn next_below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence_for_seed_zero() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn splitmix64_range_is_inclusive_and_covers_every_value() {
        let mut rng = SplitMix64::new(99);
        let mut counts = [0u32; 7];
        for _ in 0..7000 {
            let value = rng.next_in_range(-3, 3);
            assert!((-3..=3).contains(&value));
            counts[(value + 3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (800..1200).contains(&count)),
            "{counts:?}"
        );
    }

    #[test]
    fn splitmix64_range_handles_single_values_swapped_bounds_and_the_full_range() {
        let mut rng = SplitMix64::new(1);
        assert_eq!(rng.next_in_range(5, 5), 5);
        assert!((-2..=4).contains(&rng.next_in_range(4, -2)));
        let mut a = SplitMix64::new(1);
        let mut b = SplitMix64::new(1);
        assert_eq!(a.next_in_range(i64::MIN, i64::MAX), b.next_u64() as i64);
    }
}
