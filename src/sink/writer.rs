//! [`SinkWriter`]: the trait a custom sink implements, after Flink's `SinkWriter` (with the
//! state hooks of its `StatefulSinkWriter`).
//!
//! A sink is applied with [`DataStream::sink_to`](crate::DataStream::sink_to), which builds one
//! writer per subtask. The runtime calls, in this order:
//! 1. [`restore_state`](SinkWriter::restore_state), once, before any record, when the job
//!    restores a checkpoint that holds this writer's state;
//! 2. [`write`](SinkWriter::write) for every record (through
//!    [`write_batch`](SinkWriter::write_batch), which a writer may override to take a whole batch);
//! 3. at every checkpoint barrier: [`flush`](SinkWriter::flush) with `end_of_input = false`, then
//!    [`snapshot_state`](SinkWriter::snapshot_state);
//! 4. when every input has ended: `flush(true)` (a bounded job then takes a final checkpoint);
//! 5. [`notify_checkpoint_complete`](SinkWriter::notify_checkpoint_complete) once a checkpoint
//!    is complete everywhere (the commit point), or
//!    [`notify_checkpoint_aborted`](SinkWriter::notify_checkpoint_aborted).
//!
//! # What is and is not guaranteed
//! - An error returned by any hook fails the subtask with an error naming the sink, as a panic
//!   does; the job then restarts as its restart strategy says.
//! - After a failure the writer is dropped without another call: records written since the last
//!   completed checkpoint are replayed by the sources into a new writer, restored from that
//!   checkpoint. A writer that writes straight to an external system is therefore
//!   at-least-once; one that makes its output visible only in
//!   [`notify_checkpoint_complete`](SinkWriter::notify_checkpoint_complete) (two-phase commit),
//!   or that removes on restore what no checkpoint covers (as
//!   [`write_lines`](crate::DataStream::write_lines) does), gets exactly-once output.
//! - A notification may be missed (the job fails first): a commit in
//!   `notify_checkpoint_complete` should also cover earlier checkpoints, and a restore should
//!   finish what the restored checkpoint covers.

use crate::error::BoxError;
use crate::task::operator::{Operator, StateWriter};
use weir_actors::CheckpointId;

/// A sink's writer: receives the records of one subtask (Flink's `SinkWriter`).
///
/// Only [`write`](SinkWriter::write) is required; the other hooks default to doing nothing.
pub trait SinkWriter<T>: Send + 'static {
    /// Writes one record.
    fn write(&mut self, record: T) -> Result<(), BoxError>;

    /// Writes a batch of records, in order; by default one [`write`](SinkWriter::write) each.
    fn write_batch(&mut self, records: Vec<T>) -> Result<(), BoxError> {
        for record in records {
            self.write(record)?;
        }
        Ok(())
    }

    /// Makes buffered records leave the writer: called at every checkpoint barrier, before
    /// [`snapshot_state`](SinkWriter::snapshot_state) (`end_of_input` false), and once when
    /// every input has ended (`end_of_input` true).
    fn flush(&mut self, end_of_input: bool) -> Result<(), BoxError> {
        let _ = end_of_input;
        Ok(())
    }

    /// The writer's state for `checkpoint`, after [`flush`](SinkWriter::flush): fix what must be
    /// recorded now and return the closure that serializes it (it runs off the subtask's
    /// thread, and the checkpoint completes only once it returned); `None` for a stateless
    /// writer.
    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        let _ = checkpoint;
        Ok(None)
    }

    /// Loads the bytes a [`snapshot_state`](SinkWriter::snapshot_state) closure returned,
    /// before any record.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        let _ = bytes;
        Ok(())
    }

    /// Checkpoint `checkpoint` is complete: what it covers may be published (committed).
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }

    /// Checkpoint `checkpoint` was aborted. An error fails the subtask.
    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let _ = checkpoint;
        Ok(())
    }
}

/// Runs a [`SinkWriter`] as the operator at the end of a stream (it emits nothing).
pub(crate) struct SinkWriterOperator<W>(pub(crate) W);

impl<T, W> Operator<T, ()> for SinkWriterOperator<W>
where
    T: Send + 'static,
    W: SinkWriter<T>,
{
    fn process_batch(&mut self, input: Vec<T>, _: &mut Vec<()>) -> Result<(), BoxError> {
        self.0.write_batch(input)
    }

    fn end_of_input(&mut self, _: &mut Vec<()>) -> Result<(), BoxError> {
        self.0.flush(true)
    }

    fn snapshot_state(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Option<StateWriter>, BoxError> {
        self.0.flush(false)?;
        self.0.snapshot_state(checkpoint)
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        self.0.restore_state(bytes)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        self.0.notify_checkpoint_complete(checkpoint)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        self.0.notify_checkpoint_aborted(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the calls it gets.
    #[derive(Default)]
    struct Recording {
        calls: Vec<String>,
    }

    impl SinkWriter<u32> for Recording {
        fn write(&mut self, record: u32) -> Result<(), BoxError> {
            self.calls.push(format!("write {record}"));
            Ok(())
        }

        fn flush(&mut self, end_of_input: bool) -> Result<(), BoxError> {
            self.calls.push(format!("flush {end_of_input}"));
            Ok(())
        }

        fn snapshot_state(&mut self, id: CheckpointId) -> Result<Option<StateWriter>, BoxError> {
            self.calls.push(format!("snapshot {id}"));
            Ok(Some(Box::new(move || Ok(vec![id as u8]))))
        }
    }

    #[test]
    fn a_barrier_flushes_before_the_snapshot_and_end_of_input_flushes_for_good() {
        let mut op = SinkWriterOperator(Recording::default());
        let mut out = Vec::new();
        op.process_batch(vec![1, 2], &mut out).expect("writes");
        let state = op.snapshot_state(7).expect("snapshot").expect("stateful");
        assert_eq!(state().expect("serializes"), vec![7]);
        op.end_of_input(&mut out).expect("flushes");
        assert!(out.is_empty(), "a sink emits nothing");
        assert_eq!(
            op.0.calls,
            [
                "write 1",
                "write 2",
                "flush false",
                "snapshot 7",
                "flush true"
            ]
        );
    }

    #[test]
    fn a_writer_error_fails_the_batch() {
        struct Refusing;
        impl SinkWriter<u32> for Refusing {
            fn write(&mut self, record: u32) -> Result<(), BoxError> {
                Err(format!("refused {record}").into())
            }
        }
        let mut op = SinkWriterOperator(Refusing);
        let err = op.process_batch(vec![3], &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "refused 3");
    }
}
