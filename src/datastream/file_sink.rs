//! [`DataStream::sink_to_files`]: the transactional file sink
//! ([`crate::sink::transactional_file`]) on a stream.

use super::{DataStream, DataStreamSink, Record};
use crate::sink::transactional_file::{FileSink, TransactionalFileSink};

impl<T: Record> DataStream<T> {
    /// Ends the stream in exactly-once part files under `sink`'s directory (Flink's
    /// `FileSink`): each checkpoint's records become visible, whole and once, when the
    /// checkpoint completes; see [`crate::sink::transactional_file`]. Give the sink a
    /// [`DataStreamSink::uid`]: its part files are named after it.
    pub fn sink_to_files(&self, sink: FileSink<T>) -> DataStreamSink {
        let config = sink.config().clone();
        self.sink_to_two_phase_commit(config, move |info| {
            Ok(TransactionalFileSink::open(&sink, info.subtask.index)?)
        })
        .name("Sink: Files")
    }
}
