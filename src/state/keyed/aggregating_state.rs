//! [`AggregatingState`]: an accumulator per key, fed by an [`AggregateFunction`] (Flink's
//! `AggregatingState`).

use crate::error::BoxError;
use crate::state::keyed::context::{KeyedContext, RuntimeContext};
use crate::state::keyed::snapshot::StateEntries;
use crate::state::keyed::state_table::TableWriter;
use crate::state::keyed::state_table::{StateTable, StateType};
use crate::state::state_key::{StateKey, StateValue};
use crate::state::state_map::StateMap;
use std::any::{type_name, Any};
use std::marker::PhantomData;
use std::ops::RangeInclusive;

/// An aggregation through an accumulator (Flink's `AggregateFunction`): values are
/// [`add`](Self::add)ed one by one into an accumulator made by
/// [`create_accumulator`](Self::create_accumulator), and [`get_result`](Self::get_result) reads
/// the aggregate from it. The accumulator is what state stores and snapshots, so it is a serde
/// type; it may be larger than the result (an average keeps a sum and a count).
///
/// Unlike Flink's, `add` changes the accumulator in place rather than returning a new one.
///
/// ```
/// use weir::AggregateFunction;
///
/// /// The mean of `u64`s.
/// struct Average;
///
/// impl AggregateFunction for Average {
///     type Input = u64;
///     type Accumulator = (u64, u64);
///     type Output = f64;
///
///     fn create_accumulator(&self) -> (u64, u64) {
///         (0, 0)
///     }
///     fn add(&self, value: u64, acc: &mut (u64, u64)) {
///         acc.0 += value;
///         acc.1 += 1;
///     }
///     fn get_result(&self, acc: &(u64, u64)) -> f64 {
///         acc.0 as f64 / acc.1 as f64
///     }
///     fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
///         (a.0 + b.0, a.1 + b.1)
///     }
/// }
///
/// let mut acc = Average.create_accumulator();
/// Average.add(3, &mut acc);
/// Average.add(5, &mut acc);
/// assert_eq!(Average.get_result(&acc), 4.0);
/// ```
pub trait AggregateFunction: Send + 'static {
    /// The type of the values aggregated.
    type Input: 'static;
    /// The type of the intermediate aggregate, kept in state.
    type Accumulator: StateValue;
    /// The type of the aggregate.
    type Output: 'static;

    /// A new accumulator: the aggregate of no values.
    fn create_accumulator(&self) -> Self::Accumulator;

    /// Adds `value` to `accumulator`.
    fn add(&self, value: Self::Input, accumulator: &mut Self::Accumulator);

    /// The aggregate `accumulator` holds.
    fn get_result(&self, accumulator: &Self::Accumulator) -> Self::Output;

    /// One accumulator holding the aggregate of what `a` and `b` hold (used where two partial
    /// aggregates of one key are combined, as merging windows do).
    fn merge(&self, a: Self::Accumulator, b: Self::Accumulator) -> Self::Accumulator;
}

/// The operations of an aggregating state's table, with the accumulator type erased so the handle
/// names only the input and output types.
trait Accumulators<K, IN, OUT>: StateTable<K> {
    fn get(&mut self, key: &K) -> Option<OUT>;
    fn add(&mut self, key: &K, value: IN);
    fn clear(&mut self, key: &K);
}

/// The accumulators of an aggregating state with function `F`.
struct AccumulatorTable<K, F: AggregateFunction> {
    map: StateMap<K, F::Accumulator>,
    function: F,
}

impl<K: StateKey, F: AggregateFunction> StateTable<K> for AccumulatorTable<K, F> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn snapshot(&mut self) -> Option<TableWriter> {
        self.map.snapshot()
    }

    fn restore(
        &mut self,
        entries: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        self.map.restore(entries, key_groups)
    }
}

impl<K: StateKey, F: AggregateFunction> Accumulators<K, F::Input, F::Output>
    for AccumulatorTable<K, F>
{
    fn get(&mut self, key: &K) -> Option<F::Output> {
        let function = &self.function;
        self.map.get(key).map(|acc| function.get_result(acc))
    }

    fn add(&mut self, key: &K, value: F::Input) {
        match self.map.get_mut(key) {
            Some(acc) => self.function.add(value, acc),
            None => {
                let mut acc = self.function.create_accumulator();
                self.function.add(value, &mut acc);
                self.map.insert(key.clone(), acc);
            }
        }
    }

    fn clear(&mut self, key: &K) {
        self.map.remove(key);
    }
}

/// The table of an aggregating state, as the handle downcasts it: its type names only the key,
/// input and output types.
struct AggregatingTable<K, IN, OUT>(Box<dyn Accumulators<K, IN, OUT>>);

impl<K: StateKey, IN: 'static, OUT: 'static> StateTable<K> for AggregatingTable<K, IN, OUT> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn snapshot(&mut self) -> Option<TableWriter> {
        self.0.snapshot()
    }

    fn restore(
        &mut self,
        entries: &StateEntries,
        key_groups: &RangeInclusive<u32>,
    ) -> Result<(), BoxError> {
        self.0.restore(entries, key_groups)
    }
}

impl<K: StateKey> RuntimeContext<'_, K> {
    /// The aggregating state called `name`: one accumulator of `function` per key, into which
    /// [`AggregatingState::add`] adds each value. It is recorded as
    /// `AggregatingState<accumulator = ACC>` with the [`TypeIdentity`](crate::TypeIdentity) of
    /// `ACC`: the accumulator is what is stored, so it is the type a restore checks (with an
    /// explicit identity, `AggregatingState<id>`).
    ///
    /// Asking again for the same name returns the same state, which keeps the function it was
    /// first declared with; asking for it under another kind or with other input, accumulator or
    /// output types is an error naming the state.
    pub fn aggregating_state<F: AggregateFunction>(
        &mut self,
        name: &str,
        function: F,
    ) -> Result<AggregatingState<F::Input, F::Output>, BoxError> {
        let accumulator = type_name::<F::Accumulator>();
        let state_type = StateType::new(
            "AggregatingState",
            &[
                type_name::<F::Input>(),
                accumulator,
                type_name::<F::Output>(),
            ],
            &[&format!("accumulator = {accumulator}")],
            self.type_id.as_ref(),
        );
        let index = self.backend.register(name, state_type, self.ttl, |g| {
            Ok(AggregatingTable::<K, F::Input, F::Output>(Box::new(
                AccumulatorTable::<K, F> {
                    map: StateMap::new(g)?,
                    function,
                },
            )))
        })?;
        Ok(AggregatingState {
            index,
            _types: PhantomData,
        })
    }
}

/// A handle to an aggregating state: per key, the aggregate of every `IN` added since the key
/// was last cleared, read as an `OUT`. Registered in `open` through
/// [`RuntimeContext::aggregating_state`], which gives the [`AggregateFunction`]; using a handle
/// that was never registered panics (which fails the subtask, naming the operator).
pub struct AggregatingState<IN, OUT> {
    index: usize,
    _types: PhantomData<fn(IN) -> OUT>,
}

handle_impls!(AggregatingState<IN, OUT>);

impl<IN: 'static, OUT: 'static> AggregatingState<IN, OUT> {
    /// The current key's aggregate; `None` if nothing was added since it was last cleared.
    pub fn get<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) -> Option<OUT> {
        let (key, table) = ctx.table::<AggregatingTable<K, IN, OUT>>(self.index);
        table.0.get(key)
    }

    /// Adds `value` to the current key's accumulator (created first if the key has none).
    pub fn add<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>, value: IN) {
        let (key, table) = ctx.table::<AggregatingTable<K, IN, OUT>>(self.index);
        table.0.add(key, value);
    }

    /// Removes the current key's accumulator.
    pub fn clear<K: StateKey>(&self, ctx: &mut KeyedContext<'_, K>) {
        let (key, table) = ctx.table::<AggregatingTable<K, IN, OUT>>(self.index);
        table.0.clear(key);
    }
}
