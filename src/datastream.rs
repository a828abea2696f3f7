//! The DataStream API: typed streams and the transformations between them.

use crate::graph::{Input, Node, NodeKind, StreamGraph};
use crate::operators::keyed_process::{
    KeySelector, KeyedProcessFunction, KeyedProcessOperator, ReduceFunction,
};
use crate::sink::{
    CollectHandle, CollectOperator, DiscardOperator, LineFileOperator, PrintOperator,
};
use crate::task::operator::{
    Erased, FilterOperator, FlatMapOperator, MapOperator, Operator, OperatorFactory, OperatorInfo,
};
use crate::task::partitioner::{router_factory, KeyHashFn, Partitioning};
use crate::TaskError;
use parking_lot::Mutex;
use std::fmt::Display;
use std::marker::PhantomData;
use std::path::PathBuf;
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

    fn add_sink(&self, name: &str, factory: OperatorFactory) -> DataStreamSink {
        let node = self.graph.lock().add(Node {
            name: name.to_string(),
            uid: None,
            parallelism: None,
            kind: NodeKind::Sink(factory),
            inputs: self.inputs.clone(),
            router: router_factory::<()>(),
        });
        DataStreamSink {
            graph: self.graph.clone(),
            node,
        }
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

    /// Ends the stream in a custom sink: an operator that emits nothing, one instance per subtask.
    pub fn sink_to<Op, F>(&self, name: &str, make: F) -> DataStreamSink
    where
        Op: Operator<T, ()>,
        F: Fn(&OperatorInfo) -> Result<Op, TaskError> + Send + Sync + 'static,
    {
        self.add_sink(name, operator_factory(make))
    }

    /// Collects every record into memory; read them through the returned handle.
    pub fn collect(&self) -> CollectSink<T> {
        let records = Arc::new(Mutex::new(Vec::new()));
        let target = records.clone();
        let sink = self.add_sink(
            "Sink: Collect",
            operator_factory(move |_| {
                Ok(CollectOperator {
                    target: target.clone(),
                })
            }),
        );
        CollectSink {
            sink,
            handle: CollectHandle { records },
        }
    }

    /// Commits every record into `target` once a checkpoint covering it completes: the output of
    /// an exactly-once transactional sink (see [`crate::sink::committed_collector`]). Without checkpointing
    /// nothing is ever committed.
    pub fn collect_committed(&self, target: &crate::CommittedCollector<T>) -> DataStreamSink
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let target = target.clone();
        self.add_sink(
            "Sink: Committed collect",
            operator_factory(move |info| {
                Ok(
                    crate::sink::committed_collector::CommittedCollectOperator::new(
                        target.clone(),
                        info.uid.clone(),
                        info.subtask.index,
                    ),
                )
            }),
        )
    }

    /// Drops every record (Flink's `DiscardingSink`).
    pub fn discard(&self) -> DataStreamSink {
        self.add_sink(
            "Sink: Discard",
            operator_factory::<T, (), _, _>(|_| Ok(DiscardOperator)),
        )
    }

    /// Writes records as lines to `path` (one subtask), or to `path.<i>` for subtask `i` when the
    /// sink runs with more than one.
    pub fn write_lines(&self, path: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display,
    {
        let path: PathBuf = path.into();
        self.add_sink(
            "Sink: Lines",
            operator_factory::<T, (), _, _>(move |info| {
                let file = if info.subtask.parallelism == 1 {
                    path.clone()
                } else {
                    let mut name = path.clone().into_os_string();
                    name.push(format!(".{}", info.subtask.index));
                    PathBuf::from(name)
                };
                Ok(LineFileOperator::new(file))
            }),
        )
    }

    /// Prints every record, prefixed by its subtask's number when the sink has more than one.
    pub fn print(&self) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink(
            "Sink: Print",
            operator_factory::<T, (), _, _>(|info| {
                let prefix = if info.subtask.parallelism > 1 {
                    format!("{}> ", info.subtask.index + 1)
                } else {
                    String::new()
                };
                Ok(PrintOperator { prefix })
            }),
        )
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
                    TaskError::new(TaskErrorKind::User, format!("open failed: {e}"))
                        .in_operator(info.label())
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

/// A sink in the job graph; set its uid, name and parallelism.
pub struct DataStreamSink {
    graph: Arc<Mutex<StreamGraph>>,
    node: usize,
}

impl DataStreamSink {
    fn configure(self, f: impl FnOnce(&mut Node)) -> Self {
        if let Some(n) = self.graph.lock().nodes.get_mut(self.node) {
            f(n);
        }
        self
    }

    /// Sets the sink's uid.
    pub fn uid(self, uid: &str) -> Self {
        self.configure(|n| n.uid = Some(uid.to_string()))
    }

    /// Sets the sink's name.
    pub fn name(self, name: &str) -> Self {
        self.configure(|n| n.name = name.to_string())
    }

    /// Sets the sink's parallelism.
    pub fn set_parallelism(self, parallelism: u32) -> Self {
        self.configure(|n| n.parallelism = Some(parallelism))
    }
}

/// A collecting sink: the sink's settings, and the handle its records are read through.
pub struct CollectSink<T> {
    sink: DataStreamSink,
    handle: CollectHandle<T>,
}

impl<T: Clone> CollectSink<T> {
    /// Sets the sink's uid.
    pub fn uid(mut self, uid: &str) -> Self {
        self.sink = self.sink.uid(uid);
        self
    }

    /// Sets the sink's name.
    pub fn name(mut self, name: &str) -> Self {
        self.sink = self.sink.name(name);
        self
    }

    /// Sets the sink's parallelism.
    pub fn set_parallelism(mut self, parallelism: u32) -> Self {
        self.sink = self.sink.set_parallelism(parallelism);
        self
    }

    /// The handle to read the collected records through.
    pub fn handle(&self) -> CollectHandle<T> {
        self.handle.clone()
    }

    /// A copy of the records collected so far.
    pub fn records(&self) -> Vec<T> {
        self.handle.records()
    }

    /// How many records have been collected so far.
    pub fn len(&self) -> usize {
        self.handle.len()
    }

    /// Whether no record has been collected yet.
    pub fn is_empty(&self) -> bool {
        self.handle.is_empty()
    }
}
