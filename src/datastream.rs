//! The DataStream API: typed streams and the transformations between them; the sinks
//! ([`DataStream::sink_to`], [`DataStream::write_lines`]…) are in a file of their own.

mod file_sink;
mod sinks;
mod transactional_sinks;

pub use sinks::{CollectSink, DataStreamSink};

use crate::graph::{Input, Node, NodeKind, StreamGraph};
use crate::operators::keyed_process::{
    KeySelector, KeyedProcessFunction, KeyedProcessOperator, ReduceFunction,
};
use crate::task::operator::{
    Erased, FilterOperator, FlatMapOperator, MapOperator, Operator, OperatorFactory, OperatorInfo,
};
use crate::task::partitioner::{router_factory, KeyHashFn, Partitioning};
use crate::TaskError;
use parking_lot::Mutex;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_actors::graph::key_group::stable_hash;
use weir_actors::TaskErrorKind;

/// Bounds every record type meets: records are moved between threads and copied when one stream
/// feeds several operators.
pub trait Record: Clone + Send + 'static {}
impl<T: Clone + Send + 'static> Record for T {}

/// Bounds every key type meets: hashable (stably, for key groups) and serializable (keyed state is
/// checkpointed by key).
pub trait Key: crate::state::keyed::backend::StateKey {}
impl<K: crate::state::keyed::backend::StateKey> Key for K {}

/// A stream of `T`. Cheap to clone; each transformation adds an operator to the job graph.
pub struct DataStream<T> {
    graph: Arc<Mutex<StreamGraph>>,
    inputs: Vec<Input>,
    node: Option<usize>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for DataStream<T> {
    fn clone(&self) -> Self {
        DataStream {
            graph: self.graph.clone(),
            inputs: self.inputs.clone(),
            node: self.node,
            _t: PhantomData,
        }
    }
}

fn operator_factory<I, O, Op, F>(make: F) -> OperatorFactory
where
    I: Send + 'static,
    O: Send + 'static,
    Op: Operator<I, O>,
    F: Fn(&OperatorInfo) -> Result<Op, TaskError> + Send + Sync + 'static,
{
    Arc::new(move |info: &OperatorInfo| Ok(Erased::<I, O, Op>::boxed(make(info)?, info)))
}

impl<T: Record> DataStream<T> {
    pub(crate) fn from_node(graph: Arc<Mutex<StreamGraph>>, node: usize) -> Self {
        DataStream {
            graph,
            inputs: vec![Input {
                node,
                partitioning: Partitioning::Default,
            }],
            node: Some(node),
            _t: PhantomData,
        }
    }

    fn add<O: Record>(&self, name: &str, kind: NodeKind) -> DataStream<O> {
        let node = self.graph.lock().add(Node {
            name: name.to_string(),
            uid: None,
            parallelism: None,
            kind,
            inputs: self.inputs.clone(),
            router: router_factory::<O>(),
        });
        DataStream::from_node(self.graph.clone(), node)
    }

    fn with_partitioning(&self, partitioning: Partitioning) -> DataStream<T> {
        let mut s = self.clone();
        for input in &mut s.inputs {
            input.partitioning = partitioning.clone();
        }
        s.node = None;
        s
    }

    fn configure(self, f: impl FnOnce(&mut Node)) -> Self {
        if let Some(node) = self.node {
            if let Some(n) = self.graph.lock().nodes.get_mut(node) {
                f(n);
            }
        } else {
            tracing::warn!("uid, name and parallelism apply to an operator; this stream (a union or a repartitioning) has none of its own");
        }
        self
    }

    /// Sets the operator's uid: the stable name its state is matched by across restores.
    pub fn uid(self, uid: &str) -> Self {
        self.configure(|n| n.uid = Some(uid.to_string()))
    }

    /// Sets the operator's name, shown in metrics, errors and task names.
    pub fn name(self, name: &str) -> Self {
        self.configure(|n| n.name = name.to_string())
    }

    /// Sets the operator's parallelism (number of subtasks).
    pub fn set_parallelism(self, parallelism: u32) -> Self {
        self.configure(|n| n.parallelism = Some(parallelism))
    }

    /// Applies `f` to every record.
    pub fn map<O: Record, F>(&self, f: F) -> DataStream<O>
    where
        F: Fn(T) -> O + Clone + Send + Sync + 'static,
    {
        self.add(
            "Map",
            NodeKind::Operator(operator_factory(move |_| Ok(MapOperator(f.clone())))),
        )
    }

    /// Keeps the records for which `f` is true.
    pub fn filter<F>(&self, f: F) -> DataStream<T>
    where
        F: Fn(&T) -> bool + Clone + Send + Sync + 'static,
    {
        self.add(
            "Filter",
            NodeKind::Operator(operator_factory(move |_| Ok(FilterOperator(f.clone())))),
        )
    }

    /// Replaces every record with the records `f` returns for it (any number).
    pub fn flat_map<O: Record, It, F>(&self, f: F) -> DataStream<O>
    where
        F: Fn(T) -> It + Clone + Send + Sync + 'static,
        It: IntoIterator<Item = O>,
    {
        self.add(
            "FlatMap",
            NodeKind::Operator(operator_factory(move |_| Ok(FlatMapOperator(f.clone())))),
        )
    }

    /// Applies a custom operator, one instance per subtask built by `make`.
    pub fn transform<O: Record, Op, F>(&self, name: &str, make: F) -> DataStream<O>
    where
        Op: Operator<T, O>,
        F: Fn(&OperatorInfo) -> Result<Op, TaskError> + Send + Sync + 'static,
    {
        self.add(name, NodeKind::Operator(operator_factory(make)))
    }

    /// Partitions the stream by the key `f` extracts: every record of a key goes to the subtask that
    /// owns the key's key group, where keyed state for the key lives.
    pub fn key_by<K: Key, F>(&self, f: F) -> KeyedStream<K, T>
    where
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        let key_of: KeySelector<T, K> = Arc::new(f);
        let hash_of = key_of.clone();
        let hash: KeyHashFn<T> = Arc::new(move |record: &T| stable_hash(&hash_of(record)));
        KeyedStream {
            stream: self.with_partitioning(Partitioning::KeyGroups(Arc::new(hash))),
            key_of,
        }
    }

    /// Spreads records round-robin over the next operator's subtasks.
    pub fn rebalance(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Rebalance)
    }

    /// Sends every record to every subtask of the next operator.
    pub fn broadcast(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Broadcast)
    }

    /// Sends subtask `i`'s records to subtask `i` of the next operator (equal parallelism needed).
    pub fn forward(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Forward)
    }

    /// The records of this stream and of `others`, as one stream.
    pub fn union(&self, others: &[DataStream<T>]) -> DataStream<T> {
        let mut s = self.clone();
        for other in others {
            s.inputs.extend(other.inputs.iter().cloned());
        }
        s.node = None;
        s
    }
}

/// A stream partitioned by key: operators on it see every record of a key in one subtask.
///
/// As in Flink, a keyed stream is also a [`DataStream`] (through `Deref`): `map`, `sink_to`,
/// `collect`… on it keep the partitioning by key.
pub struct KeyedStream<K, T> {
    stream: DataStream<T>,
    key_of: KeySelector<T, K>,
}

impl<K, T> std::ops::Deref for KeyedStream<K, T> {
    type Target = DataStream<T>;
    fn deref(&self) -> &DataStream<T> {
        &self.stream
    }
}

impl<K: Key, T: Record> KeyedStream<K, T> {
    /// Runs `function` per record with the state of the record's key (one clone per subtask).
    pub fn process<O: Record, F>(&self, function: F) -> DataStream<O>
    where
        F: KeyedProcessFunction<K, T, O> + Clone + Sync,
    {
        let key_of = self.key_of.clone();
        self.stream.add(
            "KeyedProcess",
            NodeKind::Operator(operator_factory(move |info| {
                KeyedProcessOperator::open(function.clone(), key_of.clone(), info).map_err(|e| {
                    let kind = crate::error::SuppressRestarts::kind_of(&e, TaskErrorKind::User);
                    TaskError::new(kind, format!("open failed: {e}")).in_operator(info.label())
                })
            })),
        )
    }

    /// Applies a custom operator to the keyed stream (each subtask sees whole keys).
    pub fn transform<O: Record, Op, F>(&self, name: &str, make: F) -> DataStream<O>
    where
        Op: Operator<T, O>,
        F: Fn(&OperatorInfo) -> Result<Op, TaskError> + Send + Sync + 'static,
    {
        self.stream.transform(name, make)
    }

    /// A rolling reduce: per key, emits `f(previous result, record)` for each record (the first
    /// record of a key is emitted as it is).
    pub fn reduce<F>(&self, f: F) -> DataStream<T>
    where
        T: crate::state::keyed::backend::StateValue,
        F: Fn(T, T) -> T + Clone + Send + Sync + 'static,
    {
        self.process(ReduceFunction::new(f)).name("Reduce")
    }
}
