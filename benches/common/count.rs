//! The keyed count every benchmark runs: per key, a count in `ValueState`, emitting
//! `(key, count so far)` for each record (as the Flink jobs in benches/flink do).

use weir::{BoxError, KeyedContext, KeyedProcessFunction, RuntimeContext, ValueState};

/// Counts records per key.
#[derive(Clone, Default)]
pub struct Count {
    count: ValueState<u64>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for Count {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, u64>) -> Result<(), BoxError> {
        self.count = ctx.value_state("count")?;
        Ok(())
    }

    fn process_element(
        &mut self,
        _value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Vec<(u64, u64)>,
    ) -> Result<(), BoxError> {
        let n = *self.count.modify(ctx, || 0, |c| *c += 1);
        out.push((*ctx.current_key(), n));
        Ok(())
    }
}
