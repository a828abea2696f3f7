//! [`JetStreamSink`]: publishes records to JetStream and awaits every acknowledgement before a
//! checkpoint barrier passes — at-least-once, or with a message id per record, idempotent within
//! the stream's duplicate window.

use super::client;
use super::error::JetStreamSinkError;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use std::sync::{mpsc as std_mpsc, Arc};
use tokio::sync::mpsc;
use weir::{BoxError, SinkWriter};

type SubjectFn<T> = dyn Fn(&T) -> String + Send + Sync + 'static;
type PayloadFn<T> = dyn Fn(&T) -> Result<Vec<u8>, BoxError> + Send + Sync + 'static;
type MessageIdFn<T> = dyn Fn(&T) -> String + Send + Sync + 'static;

/// Builds [`JetStreamSink`]s; see [`JetStreamSink::builder`]. Cheap to clone, so a job's
/// `sink_to` closure can build one sink per subtask.
pub struct JetStreamSinkBuilder<T> {
    url: String,
    name: String,
    subject: Arc<SubjectFn<T>>,
    payload: Arc<PayloadFn<T>>,
    message_id: Option<Arc<MessageIdFn<T>>>,
    max_in_flight: usize,
}

impl<T> Clone for JetStreamSinkBuilder<T> {
    fn clone(&self) -> Self {
        JetStreamSinkBuilder {
            url: self.url.clone(),
            name: self.name.clone(),
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            message_id: self.message_id.clone(),
            max_in_flight: self.max_in_flight,
        }
    }
}

impl<T> JetStreamSinkBuilder<T> {
    /// The server's URL (by default [`nats_url`](super::nats_url)).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Publishes each record to the subject `subject` gives it, instead of the fixed one.
    pub fn subject_by(mut self, subject: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.subject = Arc::new(subject);
        self
    }

    /// Idempotent mode: sets each message's `Nats-Msg-Id` header to `id(record)`, so JetStream
    /// drops a message whose id it stored within the stream's duplicate window (the stream's
    /// `duplicate_window`, 2 minutes by default). `id` must give a replayed record the id it
    /// had the first time (derive it from the record's content or its source position, never
    /// from a clock or a counter of the writer): then the stream holds each record once, as
    /// long as a replay comes within the duplicate window of the first publish.
    pub fn message_id(mut self, id: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.message_id = Some(Arc::new(id));
        self
    }

    /// At most this many publishes await their acknowledgement at once (default 1 000): a
    /// write past it waits for all of them first.
    pub fn max_in_flight(mut self, publishes: usize) -> Self {
        self.max_in_flight = publishes.max(1);
        self
    }

    /// A sink of one subtask, connected (an error names the server and how to start it).
    pub fn build(&self) -> Result<JetStreamSink<T>, JetStreamSinkError> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let (connected_tx, connected_rx) = std_mpsc::channel();
        let (url, name) = (self.url.clone(), self.name.clone());
        let thread = std::thread::Builder::new()
            .name("weir-jetstream-sink".into())
            .spawn(move || run_publisher(url, name, receiver, connected_tx))
            .map_err(|e| JetStreamSinkError::ClientThread {
                sink: self.name.clone(),
                what: format!("cannot start: {e}"),
            })?;
        let connected = connected_rx.recv().unwrap_or_else(|_| {
            Err(JetStreamSinkError::ClientThread {
                sink: self.name.clone(),
                what: "stopped before connecting".into(),
            })
        });
        let mut sink = JetStreamSink {
            name: self.name.clone(),
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            message_id: self.message_id.clone(),
            max_in_flight: self.max_in_flight,
            in_flight: 0,
            commands: Some(commands),
            thread: Some(thread),
        };
        connected.inspect_err(|_| {
            sink.commands.take();
        })?;
        Ok(sink)
    }
}

/// A [`SinkWriter`] publishing every record to JetStream (`sink_to(move |_| Ok(builder.build()?))`).
///
/// # Guarantees
/// - At every checkpoint barrier (and at the end of input) the sink waits until JetStream
///   acknowledged every message it published: a completed checkpoint's records are stored in
///   the stream. A failure replays the records since the last completed checkpoint, which are
///   then published again: **at-least-once**.
/// - With [`message_id`](JetStreamSinkBuilder::message_id), replayed messages carry the ids they
///   had, and JetStream drops those it stored within the stream's duplicate window: the stream
///   holds each record **once**, provided the replay comes within that window (a job down for
///   longer than the window publishes duplicates).
/// - An unacknowledged publish (no stream for the subject, a timeout, a lost connection) fails
///   the subtask at the next flush with [`JetStreamSinkError::Publish`].
pub struct JetStreamSink<T> {
    name: String,
    subject: Arc<SubjectFn<T>>,
    payload: Arc<PayloadFn<T>>,
    message_id: Option<Arc<MessageIdFn<T>>>,
    max_in_flight: usize,
    in_flight: usize,
    commands: Option<mpsc::UnboundedSender<Publisher>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<T> JetStreamSink<T> {
    /// A builder of sinks publishing each record to `subject` with the payload `payload` gives,
    /// at [`nats_url`](super::nats_url), at-least-once.
    pub fn builder(
        subject: impl Into<String>,
        payload: impl Fn(&T) -> Result<Vec<u8>, BoxError> + Send + Sync + 'static,
    ) -> JetStreamSinkBuilder<T> {
        let subject: String = subject.into();
        JetStreamSinkBuilder {
            url: super::nats_url(),
            name: subject.clone(),
            subject: Arc::new(move |_| subject.clone()),
            payload: Arc::new(payload),
            message_id: None,
            max_in_flight: 1_000,
        }
    }

    fn send(&self, command: Publisher) -> Result<(), JetStreamSinkError> {
        match self.commands.as_ref().map(|c| c.send(command)) {
            Some(Ok(())) => Ok(()),
            _ => Err(JetStreamSinkError::ClientThread {
                sink: self.name.clone(),
                what: "stopped".into(),
            }),
        }
    }

    /// Waits until every message published so far is acknowledged.
    fn await_acks(&mut self) -> Result<(), JetStreamSinkError> {
        let (reply, answer) = std_mpsc::channel();
        self.send(Publisher::Flush(reply))?;
        self.in_flight = 0;
        answer.recv().unwrap_or_else(|_| {
            Err(JetStreamSinkError::ClientThread {
                sink: self.name.clone(),
                what: "stopped before acknowledging".into(),
            })
        })
    }
}

impl<T> Drop for JetStreamSink<T> {
    fn drop(&mut self) {
        self.commands.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<T: Send + 'static> SinkWriter<T> for JetStreamSink<T> {
    fn write(&mut self, record: T) -> Result<(), BoxError> {
        if self.in_flight >= self.max_in_flight {
            self.await_acks()?;
        }
        let subject = (self.subject)(&record);
        let payload = (self.payload)(&record).map_err(|source| JetStreamSinkError::Serialize {
            sink: self.name.clone(),
            subject: subject.clone(),
            source,
        })?;
        let msg_id = self.message_id.as_ref().map(|id| id(&record));
        self.send(Publisher::Publish {
            subject,
            msg_id,
            payload,
        })?;
        self.in_flight += 1;
        Ok(())
    }

    fn flush(&mut self, _end_of_input: bool) -> Result<(), BoxError> {
        Ok(self.await_acks()?)
    }
}

/// What the sink asks its publisher thread.
enum Publisher {
    Publish {
        subject: String,
        msg_id: Option<String>,
        payload: Vec<u8>,
    },
    Flush(std_mpsc::Sender<Result<(), JetStreamSinkError>>),
}

/// A publish awaiting its acknowledgement, with what an error names.
struct InFlight {
    subject: String,
    msg_id: Option<String>,
    ack: Result<PublishAckFuture, String>,
}

/// The publisher thread: connects (reporting on `connected`), publishes, and answers each
/// flush once every earlier publish is acknowledged, until the sink goes.
fn run_publisher(
    url: String,
    name: String,
    mut commands: mpsc::UnboundedReceiver<Publisher>,
    connected: std_mpsc::Sender<Result<(), JetStreamSinkError>>,
) {
    let runtime = match client::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = connected.send(Err(JetStreamSinkError::ClientThread {
                sink: name,
                what: format!("cannot build its tokio runtime: {e}"),
            }));
            return;
        }
    };
    runtime.block_on(async move {
        let nats = match client::connect(&url, client::REQUEST_TIMEOUT).await {
            Ok(nats) => nats,
            Err(cause) => {
                let _ = connected.send(Err(JetStreamSinkError::Connect {
                    sink: name,
                    url,
                    cause,
                }));
                return;
            }
        };
        let _ = connected.send(Ok(()));
        let js = client::jetstream(nats);
        let mut in_flight: Vec<InFlight> = Vec::new();
        while let Some(command) = commands.recv().await {
            match command {
                Publisher::Publish {
                    subject,
                    msg_id,
                    payload,
                } => {
                    let mut message = PublishMessage::build().payload(payload.into());
                    if let Some(id) = &msg_id {
                        message = message.message_id(id);
                    }
                    let ack = js.send_publish(subject.clone(), message).await;
                    in_flight.push(InFlight {
                        subject,
                        msg_id,
                        ack: ack.map_err(|e| e.to_string()),
                    });
                }
                Publisher::Flush(reply) => {
                    let result = acknowledged(&name, std::mem::take(&mut in_flight)).await;
                    let _ = reply.send(result);
                }
            }
        }
    });
}

/// Awaits every acknowledgement; the first failure.
async fn acknowledged(name: &str, in_flight: Vec<InFlight>) -> Result<(), JetStreamSinkError> {
    let mut first_error = None;
    for publish in in_flight {
        let outcome = match publish.ack {
            Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if let (Err(cause), None) = (outcome, &first_error) {
            first_error = Some(JetStreamSinkError::Publish {
                sink: name.to_string(),
                subject: publish.subject,
                msg_id: publish.msg_id.unwrap_or_else(|| "-".into()),
                cause,
            });
        }
    }
    first_error.map_or(Ok(()), Err)
}
