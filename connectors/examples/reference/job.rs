//! The reference job between its source and its table: `key_by` → a running count per key in
//! keyed state that fails at random → the output row.

use super::table::Row;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir::prelude::*;

/// Counts each key's records in keyed state and panics, with probability `1 / fail_one_in` per
/// record, as a bug or a lost machine would.
#[derive(Clone)]
pub struct FlakyCount {
    count: ValueState<u64>,
    fail_one_in: u64,
    rng: Arc<AtomicU64>,
}

impl FlakyCount {
    /// Fails about once every `fail_one_in` records (never when 0).
    pub fn new(fail_one_in: u64, seed: u64) -> FlakyCount {
        FlakyCount {
            count: ValueState::default(),
            fail_one_in,
            rng: Arc::new(AtomicU64::new(seed | 1)),
        }
    }

    fn fails_now(&self) -> bool {
        if self.fail_one_in == 0 {
            return false;
        }
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x % self.fail_one_in == 0
    }
}

impl KeyedProcessFunction<u64, u64, Row> for FlakyCount {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.count = ctx.value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        id: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<Row>,
    ) -> Result<(), BoxError> {
        if self.fails_now() {
            panic!("injected failure at record {id}");
        }
        let n = self.count.value(ctx).unwrap_or(0) + 1;
        self.count.update(ctx, n);
        out.push((id, *ctx.current_key(), n));
        Ok(())
    }
}

/// Keys of the input: `id % KEYS`.
pub const KEYS: u64 = 97;

/// `ids` → key_by → [`FlakyCount`] → rows.
pub fn count(ids: DataStream<u64>, fail_one_in: u64, seed: u64) -> DataStream<Row> {
    ids.key_by(|id| id % KEYS)
        .process(FlakyCount::new(fail_one_in, seed))
        .uid("flaky-count")
        .map(|row: Row| row)
        .uid("to-row")
}
