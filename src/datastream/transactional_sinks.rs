//! The exactly-once sinks of a [`DataStream`]: `sink_to_two_phase_commit`,
//! `sink_to_write_ahead` and `sink_to_upsert`, each run by the two-phase-commit operator
//! ([`crate::sink::two_phase_commit`]).

use super::{operator_factory, DataStream, DataStreamSink, Record};
use crate::error::{BoxError, TaskError};
use crate::sink::two_phase_commit::{
    TwoPhaseCommitConfig, TwoPhaseCommitOperator, TwoPhaseCommitSink,
};
use crate::sink::upsert::{UpsertSink, Upserting};
use crate::sink::write_ahead::{WriteAhead, WriteAheadSink};
use crate::task::operator::OperatorInfo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_actors::TaskErrorKind;

impl<T: Record> DataStream<T> {
    /// Ends the stream in a two-phase-commit sink (Flink's `TwoPhaseCommitSinkFunction`):
    /// `make` builds one [`TwoPhaseCommitSink`] per subtask, told where it runs. Every record
    /// is committed exactly once, when the checkpoint after it completes; see
    /// [`crate::sink::two_phase_commit`]. Give the sink a [`DataStreamSink::uid`]: its
    /// transactions are named after it.
    pub fn sink_to_two_phase_commit<S, F>(
        &self,
        config: TwoPhaseCommitConfig,
        make: F,
    ) -> DataStreamSink
    where
        S: TwoPhaseCommitSink<T>,
        F: Fn(&OperatorInfo) -> Result<S, BoxError> + Send + Sync + 'static,
    {
        let factory = operator_factory::<T, (), _, _>(move |info| {
            TwoPhaseCommitOperator::open(built(&make, info)?, config.clone(), info)
        });
        self.add_sink_node("Sink: Two-phase commit", factory)
    }

    /// Ends the stream in a write-ahead sink (Flink's `GenericWriteAheadSink`): each
    /// checkpoint's records are kept in the sink's state and written by `make`'s
    /// [`WriteAheadSink`] once the checkpoint completed, with a marker that makes a second
    /// write of the same batch a no-op; see [`crate::sink::write_ahead`].
    pub fn sink_to_write_ahead<W, F>(&self, config: TwoPhaseCommitConfig, make: F) -> DataStreamSink
    where
        T: Serialize + DeserializeOwned + Sync,
        W: WriteAheadSink<T>,
        F: Fn(&OperatorInfo) -> Result<W, BoxError> + Send + Sync + 'static,
    {
        let factory = operator_factory::<T, (), _, _>(move |info| {
            TwoPhaseCommitOperator::open(WriteAhead(built(&make, info)?), config.clone(), info)
        });
        self.add_sink_node("Sink: Write-ahead", factory)
    }

    /// Ends the stream in an idempotent sink: `make`'s [`UpsertSink`] writes records by key in
    /// batches of `batch_size`, and whatever is buffered at every checkpoint barrier and at end
    /// of input; see [`crate::sink::upsert`] for what a reader sees on replay.
    pub fn sink_to_upsert<U, F>(
        &self,
        config: TwoPhaseCommitConfig,
        batch_size: usize,
        make: F,
    ) -> DataStreamSink
    where
        U: UpsertSink<T>,
        F: Fn(&OperatorInfo) -> Result<U, BoxError> + Send + Sync + 'static,
    {
        let factory = operator_factory::<T, (), _, _>(move |info| {
            let sink = Upserting {
                sink: built(&make, info)?,
                batch_size: batch_size.max(1),
                buffer: Vec::new(),
            };
            TwoPhaseCommitOperator::open(sink, config.clone(), info)
        });
        self.add_sink_node("Sink: Upsert", factory)
    }
}

/// The sink `make` builds for `info`'s subtask, or an error naming the operator.
fn built<S>(
    make: &impl Fn(&OperatorInfo) -> Result<S, BoxError>,
    info: &OperatorInfo,
) -> Result<S, TaskError> {
    make(info).map_err(|e| {
        TaskError::new(
            TaskErrorKind::User,
            format!("the sink cannot be created: {e}"),
        )
        .in_operator(info.label())
    })
}
