//! [`JetStreamReader`]: the split reader of one subtask. Its splits are fetched on a client
//! thread of its own (a current-thread tokio runtime, one connection, one task per split); the
//! subtask takes what arrived through a bounded [`FetchQueue`] and never waits.

use super::client;
use super::error::JetStreamSourceError;
use super::fetcher::{fetch_split, Entry, FetchContext};
use super::source::SourceConfig;
use super::split::{JetStreamSplit, SplitPosition};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;
use weir::source::{FetchQueue, FetchSender, SplitReader, SplitReaderContext};
use weir::{BoxError, CheckpointId, SourceStatus};

/// How many fetched batches wait for the subtask at most (per reader).
const QUEUE_CAPACITY: usize = 16;

/// What the reader asks its client thread.
enum Command {
    /// Fetch split `index` from its position.
    Read(usize, JetStreamSplit),
    /// Acknowledge these messages (ack-all subjects of durable consumers).
    Ack(Vec<String>),
}

/// The client thread: its commands, and the thread to join when the reader goes.
struct ClientThread {
    commands: Option<mpsc::UnboundedSender<Command>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ClientThread {
    fn drop(&mut self) {
        // Closing the commands ends the thread's loop; its runtime then drops every fetch task.
        self.commands.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A fetched batch being handed out: its split, its records with their sequences, and its last
/// message's ack subject.
struct Handout<T> {
    split: usize,
    records: VecDeque<(T, u64)>,
    ack: Option<String>,
}

/// The splits of one subtask, read through its client thread (see [`JetStreamSource`](super::JetStreamSource)).
pub struct JetStreamReader<T> {
    config: Arc<SourceConfig<T>>,
    context: SplitReaderContext,
    splits: Vec<JetStreamSplit>,
    ids: HashMap<String, usize>,
    /// The batch being handed out.
    current: Option<Handout<T>>,
    queue: Option<FetchQueue<Entry<T>>>,
    client: Option<ClientThread>,
    /// Per split, the ack subject of the last message handed out, since the last snapshot.
    last_acks: HashMap<usize, String>,
    /// Per checkpoint, what its completion acknowledges.
    pending_acks: BTreeMap<CheckpointId, HashMap<usize, String>>,
}

impl<T: Send + 'static> JetStreamReader<T> {
    pub(crate) fn new(config: Arc<SourceConfig<T>>, context: SplitReaderContext) -> Self {
        JetStreamReader {
            config,
            context,
            splits: Vec::new(),
            ids: HashMap::new(),
            current: None,
            queue: None,
            client: None,
            last_acks: HashMap::new(),
            pending_acks: BTreeMap::new(),
        }
    }

    fn thread_error(&self, what: impl Into<String>) -> JetStreamSourceError {
        JetStreamSourceError::ClientThread {
            operator: self.context.operator.clone(),
            what: what.into(),
        }
    }

    /// Starts the client thread (connecting to the server there) and the fetch queue.
    fn start_client(&mut self) -> Result<(), BoxError> {
        let (sender, queue) = FetchQueue::bounded(QUEUE_CAPACITY, self.context.waker.clone());
        let (commands, receiver) = mpsc::unbounded_channel();
        let config = self.config.clone();
        let operator = self.context.operator.clone();
        let thread = std::thread::Builder::new()
            .name(format!("weir-jetstream-{}", self.context.index))
            .spawn(move || run_client(config, operator, sender, receiver))
            .map_err(|e| self.thread_error(format!("cannot start: {e}")))?;
        self.queue = Some(queue);
        self.client = Some(ClientThread {
            commands: Some(commands),
            thread: Some(thread),
        });
        Ok(())
    }

    fn command(&mut self, command: Command) -> Result<(), BoxError> {
        if self.client.is_none() {
            self.start_client()?;
        }
        let sent = (self.client.as_ref())
            .and_then(|c| c.commands.as_ref())
            .map(|c| c.send(command).is_ok());
        match sent {
            Some(true) => Ok(()),
            _ => Err(self.thread_error("stopped").into()),
        }
    }

    /// Applies one entry of the queue; an error for a failed fetch.
    fn apply(&mut self, entry: Entry<T>) -> Result<(), BoxError> {
        match entry {
            Entry::Records {
                split,
                records,
                ack,
            } => {
                self.current = Some(Handout {
                    split,
                    records: records.into(),
                    ack,
                })
            }
            Entry::Advanced { split, next } => {
                if let Some(s) = self.splits.get_mut(split) {
                    let behind = match s.position {
                        SplitPosition::Sequence(at) => at < next,
                        _ => true,
                    };
                    if behind {
                        s.position = SplitPosition::Sequence(next);
                    }
                }
            }
            Entry::Finished { split } => {
                if let Some(s) = self.splits.get_mut(split) {
                    s.finished = true;
                }
            }
            Entry::Failed(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Hands out up to `room` records of the current batch into `out`.
    fn take_current(&mut self, room: usize, out: &mut Vec<T>) {
        let Some(Handout {
            split,
            records,
            ack,
        }) = self.current.as_mut()
        else {
            return;
        };
        let split = *split;
        for _ in 0..room {
            let Some((record, sequence)) = records.pop_front() else {
                break;
            };
            out.push(record);
            if let Some(s) = self.splits.get_mut(split) {
                s.position = SplitPosition::Sequence(sequence + 1);
            }
        }
        if records.is_empty() {
            if let Some(ack) = ack.take() {
                self.last_acks.insert(split, ack);
            }
            self.current = None;
        }
    }
}

/// The client thread: connects, then runs one fetch task per split it is told to read, and
/// sends the acknowledgements it is given, until the reader goes.
fn run_client<T: Send + 'static>(
    config: Arc<SourceConfig<T>>,
    operator: String,
    sender: FetchSender<Entry<T>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let runtime = match client::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            let what = format!("cannot build its tokio runtime: {e}");
            let _ = sender.send_blocking(Entry::Failed(JetStreamSourceError::ClientThread {
                operator,
                what,
            }));
            return;
        }
    };
    runtime.block_on(async move {
        let nats = match client::connect(&config.url, config.retry_timeout).await {
            Ok(nats) => nats,
            Err(cause) => {
                let error = JetStreamSourceError::Unreachable {
                    operator,
                    url: config.url.clone(),
                    stream: config.stream.clone(),
                    subject: config.subjects.join(","),
                    waited_ms: config.retry_timeout.as_millis(),
                    cause,
                };
                let _ = sender.send(Entry::Failed(error)).await;
                return;
            }
        };
        let cx = Arc::new(FetchContext {
            operator,
            url: config.url.clone(),
            js: client::jetstream(nats.clone()),
            sender,
            deserializer: config.deserializer.clone(),
            purged: config.purged,
            durable: config.durable.clone(),
            retry_timeout: config.retry_timeout,
            batch: config.fetch_batch,
        });
        while let Some(command) = commands.recv().await {
            match command {
                Command::Read(index, split) => {
                    tokio::spawn(fetch_split(cx.clone(), index, split));
                }
                Command::Ack(subjects) => {
                    for subject in subjects {
                        if let Err(e) = nats.publish(subject, "+ACK".into()).await {
                            tracing::warn!(operator = %cx.operator, "cannot acknowledge: {e}");
                        }
                    }
                }
            }
        }
    });
}

impl<T: Send + 'static> SplitReader<T> for JetStreamReader<T> {
    type Split = JetStreamSplit;

    fn add_splits(&mut self, splits: Vec<JetStreamSplit>) -> Result<(), BoxError> {
        for split in splits {
            let id = weir::source::SourceSplit::split_id(&split);
            if self.ids.contains_key(&id) {
                continue;
            }
            let index = self.splits.len();
            self.ids.insert(id, index);
            self.splits.push(split.clone());
            if !split.finished {
                self.command(Command::Read(index, split))?;
            }
        }
        Ok(())
    }

    fn read(&mut self, max: usize, out: &mut Vec<T>) -> Result<SourceStatus, BoxError> {
        let start = out.len();
        while out.len() - start < max {
            if self.current.is_some() {
                self.take_current(max - (out.len() - start), out);
                continue;
            }
            let Some(entry) = self.queue.as_mut().and_then(|q| q.try_next()) else {
                break;
            };
            self.apply(entry)?;
        }
        if out.len() > start {
            return Ok(SourceStatus::More);
        }
        Ok(match self.splits.iter().all(|s| s.finished) {
            true => SourceStatus::Finished,
            false => SourceStatus::Pending,
        })
    }

    fn snapshot_splits(
        &mut self,
        checkpoint: CheckpointId,
    ) -> Result<Vec<JetStreamSplit>, BoxError> {
        if !self.last_acks.is_empty() {
            self.pending_acks
                .insert(checkpoint, std::mem::take(&mut self.last_acks));
        }
        Ok(self.splits.clone())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), BoxError> {
        let later = self.pending_acks.split_off(&(checkpoint + 1));
        let covered = std::mem::replace(&mut self.pending_acks, later);
        let mut latest: HashMap<usize, String> = HashMap::new();
        for (_, acks) in covered {
            latest.extend(acks);
        }
        if !latest.is_empty() {
            self.command(Command::Ack(latest.into_values().collect()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::JetStreamSource;
    use weir::runtime::graph::task_waker::TaskWaker;
    use weir::runtime::metrics::MetricsRegistry;

    fn split(subject: &str, at: u64) -> JetStreamSplit {
        JetStreamSplit {
            stream: "S".into(),
            subject: Some(subject.into()),
            position: SplitPosition::Sequence(at),
            end: None,
            finished: false,
        }
    }

    /// A reader holding splits `a` (at 1) and `b` (at 1) without a client thread, and the
    /// sending end of its queue.
    fn reader() -> (JetStreamReader<u64>, FetchSender<Entry<u64>>) {
        let source = JetStreamSource::builder("S", |m| Ok(m.stream_sequence)).build();
        let context = SplitReaderContext {
            operator: "Source: test [t]".into(),
            uid: "t".into(),
            job_id: "j".into(),
            index: 0,
            parallelism: 1,
            deterministic: false,
            waker: TaskWaker::noop(),
            metrics: Arc::new(MetricsRegistry::default()),
        };
        let mut reader = JetStreamReader::new(source.config.clone(), context);
        let (sender, queue) = FetchQueue::bounded(8, TaskWaker::noop());
        reader.queue = Some(queue);
        reader.splits = vec![split("a", 1), split("b", 1)];
        (reader, sender)
    }

    fn records(split: usize, sequences: &[u64]) -> Entry<u64> {
        Entry::Records {
            split,
            records: sequences.iter().map(|s| (*s * 10, *s)).collect(),
            ack: None,
        }
    }

    #[test]
    fn positions_lie_after_the_last_record_handed_out_not_after_what_was_fetched() {
        let (mut reader, sender) = reader();
        sender.send_blocking(records(0, &[1, 3, 5])).unwrap();
        sender.send_blocking(records(1, &[2, 4])).unwrap();
        let mut out = Vec::new();
        assert_eq!(reader.read(2, &mut out).unwrap(), SourceStatus::More);
        assert_eq!(out, vec![10, 30]);
        let at = reader.snapshot_splits(1).unwrap();
        assert_eq!(at[0].position, SplitPosition::Sequence(4));
        assert_eq!(at[1].position, SplitPosition::Sequence(1));
        out.clear();
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::More);
        assert_eq!(out, vec![50, 20, 40]);
        let at = reader.snapshot_splits(2).unwrap();
        assert_eq!(at[0].position, SplitPosition::Sequence(6));
        assert_eq!(at[1].position, SplitPosition::Sequence(5));
        out.clear();
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::Pending);
    }

    #[test]
    fn records_already_in_the_output_do_not_count_against_max() {
        let (mut reader, sender) = reader();
        sender.send_blocking(records(0, &[1, 2])).unwrap();
        sender.send_blocking(records(0, &[3, 4])).unwrap();
        let mut out = vec![99, 98, 97];
        assert_eq!(reader.read(3, &mut out).unwrap(), SourceStatus::More);
        assert_eq!(out, vec![99, 98, 97, 10, 20, 30]);
    }

    #[test]
    fn an_advance_moves_a_quiet_split_forward_but_never_back() {
        let (mut reader, sender) = reader();
        sender.send_blocking(records(0, &[7])).unwrap();
        sender
            .send_blocking(Entry::Advanced { split: 0, next: 20 })
            .unwrap();
        sender
            .send_blocking(Entry::Advanced { split: 1, next: 3 })
            .unwrap();
        sender
            .send_blocking(Entry::Advanced { split: 1, next: 2 })
            .unwrap();
        let mut out = Vec::new();
        reader.read(10, &mut out).unwrap();
        let at = reader.snapshot_splits(1).unwrap();
        assert_eq!(at[0].position, SplitPosition::Sequence(20));
        assert_eq!(at[1].position, SplitPosition::Sequence(3));
    }

    #[test]
    fn finished_once_every_split_ended_and_a_failed_fetch_fails_the_read() {
        let (mut reader, sender) = reader();
        sender.send_blocking(Entry::Finished { split: 0 }).unwrap();
        let mut out = Vec::new();
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::Pending);
        sender.send_blocking(Entry::Finished { split: 1 }).unwrap();
        assert_eq!(reader.read(10, &mut out).unwrap(), SourceStatus::Finished);
        assert!(reader
            .snapshot_splits(1)
            .unwrap()
            .iter()
            .all(|s| s.finished));
        sender
            .send_blocking(Entry::Failed(JetStreamSourceError::Deterministic {
                operator: "x".into(),
            }))
            .unwrap();
        assert!(reader.read(10, &mut out).is_err());
    }
}
