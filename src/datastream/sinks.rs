//! The sinks of a [`DataStream`]: `sink_to` (a custom [`SinkWriter`]), `add_sink` (a custom
//! operator), `collect`, `collect_committed`, `write_lines`, `print`, `discard`, and the
//! [`DataStreamSink`] handle that sets a sink's uid, name and parallelism.

use super::{operator_factory, DataStream, Record};
use crate::error::{BoxError, TaskError};
use crate::graph::{Node, NodeKind, StreamGraph};
use crate::sink::committed_collector::CommittedCollectSink;
use crate::sink::two_phase_commit::TwoPhaseCommitConfig;
use crate::sink::{
    CollectHandle, CollectWriter, DiscardWriter, LineFileWriter, PrintWriter, SinkWriter,
    SinkWriterOperator,
};
use crate::task::operator::{Operator, OperatorFactory, OperatorInfo};
use crate::task::partitioner::router_factory;
use parking_lot::Mutex;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;
use weir_actors::TaskErrorKind;

/// The operator factory of a sink whose writers `make` builds, one per subtask.
fn writer_factory<T, W, F>(make: F) -> OperatorFactory
where
    T: Send + 'static,
    W: SinkWriter<T>,
    F: Fn(&OperatorInfo) -> Result<W, BoxError> + Send + Sync + 'static,
{
    operator_factory::<T, (), _, _>(move |info| match make(info) {
        Ok(writer) => Ok(SinkWriterOperator(writer)),
        Err(e) => Err(TaskError::new(
            TaskErrorKind::User,
            format!("the sink writer cannot be created: {e}"),
        )
        .in_operator(info.label())),
    })
}

impl<T: Record> DataStream<T> {
    pub(super) fn add_sink_node(&self, name: &str, factory: OperatorFactory) -> DataStreamSink {
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

    /// Ends the stream in a custom sink (Flink's `sinkTo`): `make` builds one [`SinkWriter`]
    /// per subtask, told where it runs. The sink is named `Sink: Writer` until
    /// [`DataStreamSink::name`] says otherwise.
    pub fn sink_to<W, F>(&self, make: F) -> DataStreamSink
    where
        W: SinkWriter<T>,
        F: Fn(&OperatorInfo) -> Result<W, BoxError> + Send + Sync + 'static,
    {
        self.add_sink_node("Sink: Writer", writer_factory(make))
    }

    /// Ends the stream in a custom operator that emits nothing (Flink's older `addSink`), one
    /// instance per subtask built by `make`. [`sink_to`](DataStream::sink_to) with a
    /// [`SinkWriter`] is the simpler way.
    pub fn add_sink<Op, F>(&self, name: &str, make: F) -> DataStreamSink
    where
        Op: Operator<T, ()>,
        F: Fn(&OperatorInfo) -> Result<Op, TaskError> + Send + Sync + 'static,
    {
        self.add_sink_node(name, operator_factory(make))
    }

    /// Collects every record into memory; read them through the returned handle.
    pub fn collect(&self) -> CollectSink<T> {
        let records = Arc::new(Mutex::new(Vec::new()));
        let target = records.clone();
        let sink = self.add_sink_node(
            "Sink: Collect",
            writer_factory(move |_| {
                Ok(CollectWriter {
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
    /// an exactly-once transactional sink (see [`crate::sink::committed_collector`]). Without
    /// checkpointing nothing is ever committed.
    pub fn collect_committed(&self, target: &crate::CommittedCollector<T>) -> DataStreamSink
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Sync,
    {
        let target = target.clone();
        self.sink_to_two_phase_commit(TwoPhaseCommitConfig::default(), move |_| {
            Ok(CommittedCollectSink::new(target.clone()))
        })
        .name("Sink: Committed collect")
    }

    /// Drops every record (Flink's `DiscardingSink`).
    pub fn discard(&self) -> DataStreamSink {
        self.add_sink_node(
            "Sink: Discard",
            writer_factory::<T, _, _>(|_| Ok(DiscardWriter)),
        )
    }

    /// Writes records as lines to `path` (one subtask), or to `path.<i>` for subtask `i` when the
    /// sink runs with more than one. A restore keeps the lines the restored checkpoint covers
    /// and removes the rest before writing again; see [`crate::sink::line_file`] for what a
    /// reader of the file sees and when.
    pub fn write_lines(&self, path: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display,
    {
        let path: PathBuf = path.into();
        self.add_sink_node(
            "Sink: Lines",
            writer_factory::<T, _, _>(move |info| {
                let s = &info.subtask;
                Ok(LineFileWriter::new(LineFileWriter::subtask_path(
                    &path,
                    s.index,
                    s.parallelism,
                )))
            }),
        )
    }

    /// Prints every record, prefixed by its subtask's number when the sink has more than one.
    pub fn print(&self) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink_node(
            "Sink: Print",
            writer_factory::<T, _, _>(|info| {
                let prefix = if info.subtask.parallelism > 1 {
                    format!("{}> ", info.subtask.index + 1)
                } else {
                    String::new()
                };
                Ok(PrintWriter { prefix })
            }),
        )
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
