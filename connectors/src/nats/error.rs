//! [`JetStreamSourceError`] and [`JetStreamSinkError`]: what can go wrong reading from and
//! publishing to NATS JetStream, naming the server, the stream, the subject and the sequence.

/// How to start the server, for the messages of a server that cannot be reached.
pub(crate) const START_HINT: &str = "is it running with JetStream? (as root: start-stop-daemon \
     --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js \
     -sd /var/lib/nats-server)";

/// An error of a [`JetStreamSource`](super::JetStreamSource) or its reader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JetStreamSourceError {
    /// The server could not be reached (or JetStream did not answer) for longer than the
    /// source's retry timeout.
    #[error(
        "JetStream source {operator}: cannot reach NATS at {url} (stream {stream}, subject \
         {subject}) for {waited_ms} ms: {cause}; {hint}",
        hint = START_HINT
    )]
    Unreachable {
        /// The source operator (`name [uid]`), or `-` outside a job.
        operator: String,
        /// The server's URL.
        url: String,
        /// The stream.
        stream: String,
        /// The split's filter subject (`>` for the whole stream).
        subject: String,
        /// How long the source retried.
        waited_ms: u128,
        /// The last error seen.
        cause: String,
    },
    /// The stream does not exist.
    #[error("JetStream source {operator}: stream {stream} does not exist at {url}")]
    StreamNotFound {
        /// The source operator, or `-` at discovery.
        operator: String,
        /// The server's URL.
        url: String,
        /// The stream.
        stream: String,
    },
    /// The sequence to resume at is no longer in the stream: retention (or a purge) removed
    /// the messages from it up to the stream's first sequence.
    #[error(
        "JetStream source {operator}: stream {stream} (subject {subject}) no longer holds \
         sequence {sequence}: its first sequence is {first_sequence} (retention or a purge \
         removed messages not yet read); choose `PurgedSequencePolicy::ResumeAtFirst` to \
         accept the loss"
    )]
    SequencePurged {
        /// The source operator.
        operator: String,
        /// The stream.
        stream: String,
        /// The split's filter subject (`>` for the whole stream).
        subject: String,
        /// The sequence the split was to resume at.
        sequence: u64,
        /// The stream's first sequence now.
        first_sequence: u64,
    },
    /// The deserializer refused a message.
    #[error(
        "JetStream source {operator}: cannot deserialize the message of stream {stream} at \
         sequence {sequence} (subject {subject}): {source}"
    )]
    Deserialize {
        /// The source operator.
        operator: String,
        /// The stream.
        stream: String,
        /// The message's subject.
        subject: String,
        /// The message's stream sequence.
        sequence: u64,
        /// What the deserializer said.
        source: weir::BoxError,
    },
    /// The source runs in deterministic mode, where no thread may read from the network.
    #[error(
        "JetStream source {operator}: a network source cannot run in deterministic mode (no \
         thread may read there); run the job in real time"
    )]
    Deterministic {
        /// The source operator.
        operator: String,
    },
    /// The reader's client thread could not be started, or stopped.
    #[error("JetStream source {operator}: the client thread {what}")]
    ClientThread {
        /// The source operator.
        operator: String,
        /// What happened (`cannot start: …`, `stopped`).
        what: String,
    },
    /// Any other error JetStream returned (stream info, consumer creation).
    #[error(
        "JetStream source {operator}: {operation} on stream {stream} at {url} failed: {cause}"
    )]
    JetStream {
        /// The source operator, or `-` at discovery.
        operator: String,
        /// What was done (`stream info`, `create consumer`, …).
        operation: &'static str,
        /// The server's URL.
        url: String,
        /// The stream.
        stream: String,
        /// What the client said.
        cause: String,
    },
}

/// An error of a [`JetStreamSink`](super::JetStreamSink).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JetStreamSinkError {
    /// The server could not be reached.
    #[error("JetStream sink {sink}: cannot connect to NATS at {url}: {cause}; {hint}", hint = START_HINT)]
    Connect {
        /// The sink's name (its stream, or subject).
        sink: String,
        /// The server's URL.
        url: String,
        /// What the client said.
        cause: String,
    },
    /// Serializing a record failed.
    #[error("JetStream sink {sink}: cannot serialize a record for subject {subject}: {source}")]
    Serialize {
        /// The sink's name.
        sink: String,
        /// The record's subject.
        subject: String,
        /// What the serializer said.
        source: weir::BoxError,
    },
    /// A publish was not acknowledged by JetStream (no stream holds the subject, a timeout, a
    /// broken connection).
    #[error(
        "JetStream sink {sink}: publishing to {subject} (message id {msg_id}) was not \
         acknowledged: {cause}"
    )]
    Publish {
        /// The sink's name.
        sink: String,
        /// The message's subject.
        subject: String,
        /// Its `Nats-Msg-Id`, or `-`.
        msg_id: String,
        /// What the client or server said.
        cause: String,
    },
    /// The sink's client thread could not be started, or stopped.
    #[error("JetStream sink {sink}: the client thread {what}")]
    ClientThread {
        /// The sink's name.
        sink: String,
        /// What happened.
        what: String,
    },
}
