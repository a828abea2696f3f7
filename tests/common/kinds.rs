//! Helpers of the keyed-state-kind tests: the block of records a key gets, a plain-Rust model of
//! a keyed job, and the running-average aggregate function.

use std::collections::HashMap;
use weir::AggregateFunction;

/// Records per key: key = x / BLOCK over contiguous source shares.
pub const BLOCK: u64 = 500;

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The plain-Rust model: each key's state `S`, fed the records in input order.
pub fn model<S: Default, O: Ord>(n: u64, mut step: impl FnMut(&mut S, u64, &mut Vec<O>)) -> Vec<O> {
    let mut states: HashMap<u64, S> = HashMap::new();
    let mut out = Vec::new();
    for x in 0..n {
        step(states.entry(x / BLOCK).or_default(), x, &mut out);
    }
    sorted(out)
}

/// The mean of `u64`s, kept as a sum and a count.
pub struct Average;

impl AggregateFunction for Average {
    type Input = u64;
    type Accumulator = (u64, u64);
    type Output = f64;

    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, value: u64, acc: &mut (u64, u64)) {
        acc.0 += value;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(u64, u64)) -> f64 {
        acc.0 as f64 / acc.1 as f64
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}
