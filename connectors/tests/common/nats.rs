//! What the JetStream tests share: a connection that fails with how to start the server, a
//! stream of its own per test run (deleted afterwards), publishing, reading a stream back, the
//! environment, the seed count, and a TCP proxy a test can cut.
#![allow(dead_code)]

#[path = "tcp_proxy.rs"]
mod tcp_proxy;

use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
pub use tcp_proxy::TcpProxy;
use tokio::runtime::Runtime;
use weir::{CommittedCollector, DataStream, RestartStrategyConfig, StreamEnvironment};

/// How to start the server, for a failing test's message.
pub const START: &str = "start-stop-daemon --start --oknodo --background --exec \
     /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server \
     -l /var/log/nats-server.log";

/// The number of seeds of a sweep: `var`, else `default` (a positive number).
pub fn seeds(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{var}={v:?}: a sweep needs a positive number of seeds"),
        },
    }
}

/// A runtime and a JetStream context on the test server; panics with how to start it.
pub struct Nats {
    /// The runtime the test's own calls run on.
    pub rt: Runtime,
    /// The context.
    pub js: jetstream::Context,
    /// The client.
    pub client: async_nats::Client,
}

impl Nats {
    /// Connects to `WEIR_NATS_URL` (and shows the connectors' warnings on stderr).
    pub fn connect() -> Nats {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_test_writer()
            .try_init();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let url = weir_connectors::nats::nats_url();
        let client = rt
            .block_on(
                async_nats::ConnectOptions::new()
                    .connection_timeout(Duration::from_secs(2))
                    .connect(url.as_str()),
            )
            .unwrap_or_else(|e| {
                panic!("NATS is not reachable at {url} (WEIR_NATS_URL): {e}. Start it (as root, with JetStream) with `{START}`")
            });
        // The context spawns its acknowledgement task: inside the runtime.
        let js = rt.block_on(async { jetstream::new(client.clone()) });
        Nats { rt, js, client }
    }
}

/// A stream of this test run, on subjects `<prefix>.>`; deleted when the guard goes.
pub struct TestStream {
    /// The connection.
    pub nats: Nats,
    /// The stream's name.
    pub name: String,
    /// Its subjects' prefix (`weir.<tag>.<pid>.<n>`).
    pub prefix: String,
}

impl TestStream {
    /// A new stream named after `tag`, the process and a counter.
    pub fn new(tag: &str) -> TestStream {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let name = format!("WEIR_{}_{pid}_{n}", tag.to_uppercase());
        let prefix = format!("weir.{tag}.{pid}.{n}");
        let nats = Nats::connect();
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![format!("{prefix}.>")],
            storage: stream::StorageType::Memory,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        nats.rt
            .block_on(nats.js.create_stream(config))
            .unwrap_or_else(|e| panic!("create stream {name}: {e}"));
        TestStream { nats, name, prefix }
    }

    /// The subject `<prefix>.<suffix>`.
    pub fn subject(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.prefix)
    }

    /// Publishes every `(subject suffix, payload)`, awaiting every acknowledgement.
    pub fn publish<'a>(&self, messages: impl IntoIterator<Item = (&'a str, String)>) {
        let js = &self.nats.js;
        self.nats.rt.block_on(async {
            let mut acks = Vec::new();
            for (suffix, payload) in messages {
                let ack = js
                    .publish(self.subject(suffix), payload.into_bytes().into())
                    .await
                    .expect("publish");
                acks.push(ack);
                if acks.len() >= 500 {
                    for ack in acks.drain(..) {
                        ack.await.expect("publish acknowledged");
                    }
                }
            }
            for ack in acks {
                ack.await.expect("publish acknowledged");
            }
        });
    }

    /// The stream's (first sequence, last sequence, message count).
    pub fn state(&self) -> (u64, u64, u64) {
        self.nats.rt.block_on(async {
            let mut stream = self.nats.js.get_stream(&self.name).await.expect("stream");
            let state = &stream.info().await.expect("stream info").state;
            (state.first_sequence, state.last_sequence, state.messages)
        })
    }

    /// Removes every message (the sequences go on).
    pub fn purge(&self) {
        self.nats.rt.block_on(async {
            let stream = self.nats.js.get_stream(&self.name).await.expect("stream");
            stream.purge().await.expect("purge");
        });
    }

    /// Every message's payload, in stream order.
    pub fn payloads(&self) -> Vec<String> {
        self.nats.rt.block_on(async {
            let stream = self.nats.js.get_stream(&self.name).await.expect("stream");
            let consumer = stream
                .create_consumer(jetstream::consumer::pull::Config {
                    ack_policy: jetstream::consumer::AckPolicy::None,
                    inactive_threshold: Duration::from_secs(10),
                    ..Default::default()
                })
                .await
                .expect("consumer");
            let mut out = Vec::new();
            loop {
                let mut batch = consumer
                    .fetch()
                    .max_messages(1000)
                    .messages()
                    .await
                    .expect("fetch");
                let before = out.len();
                while let Some(m) = batch.next().await {
                    let m = m.expect("message");
                    out.push(String::from_utf8(m.payload.to_vec()).expect("utf-8"));
                }
                if out.len() == before {
                    return out;
                }
            }
        })
    }

    /// The stream sequence of consumer `name`'s ack floor.
    pub fn ack_floor(&self, name: &str) -> u64 {
        self.nats.rt.block_on(async {
            let stream = self.nats.js.get_stream(&self.name).await.expect("stream");
            let mut consumer: jetstream::consumer::PullConsumer =
                stream.get_consumer(name).await.expect("consumer");
            consumer
                .info()
                .await
                .expect("consumer info")
                .ack_floor
                .stream_sequence
        })
    }

    /// The number of consumers on the stream.
    pub fn consumers(&self) -> usize {
        self.nats.rt.block_on(async {
            let mut stream = self.nats.js.get_stream(&self.name).await.expect("stream");
            stream
                .info()
                .await
                .expect("stream info")
                .state
                .consumer_count
        })
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let _ = self
            .nats
            .rt
            .block_on(self.nats.js.delete_stream(&self.name));
    }
}

/// A real-time environment of parallelism 2, batches of 32, checkpoints every `interval`,
/// restarting after 10 ms up to 1000 times, job id `job`.
pub fn env(job: &str, interval: Duration) -> StreamEnvironment {
    let mut env = StreamEnvironment::new();
    env.set_parallelism(2)
        .set_batch_size(32)
        .enable_checkpointing(interval)
        .set_restart_strategy(RestartStrategyConfig::FixedDelay {
            attempts: 1_000,
            delay: Duration::from_millis(10),
        });
    env.set_job_id(job);
    env
}

/// A job id unique to this process: `tag-<pid>-<n>`.
pub fn job_id(tag: &str, n: u64) -> String {
    format!("{tag}-{}-{n}", std::process::id())
}

/// Waits until `done` holds, polling every 5 ms, for at most `limit`; whether it held.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::park_timeout(Duration::from_millis(5));
    }
    done()
}

/// A [`TcpProxy`] in front of the NATS server.
pub struct Proxy(pub TcpProxy);

impl Proxy {
    /// A proxy on a free port forwarding to the test server.
    pub fn start() -> Proxy {
        let upstream = weir_connectors::nats::nats_url()
            .trim_start_matches("nats://")
            .to_string();
        Proxy(TcpProxy::start(upstream))
    }

    /// The proxy's URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.0.port)
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.0.cut()
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.0.restore()
    }
}

/// (subject index, value, running count of its key).
pub type Counted = (u64, u64, u64);

/// `records` → `rounds` of CPU work each (so a run spans several checkpoints) → a running
/// count per key → committed into `out`. Each key's records come from one split, in stream
/// order, so the running counts are the same in every run.
pub fn count_committed(
    records: DataStream<Counted>,
    rounds: u64,
    out: &CommittedCollector<Counted>,
) {
    records
        .map(move |r: Counted| {
            let mut h = r.1;
            for i in 0..rounds {
                h = std::hint::black_box(h.rotate_left(5) ^ i);
            }
            std::hint::black_box(h);
            r
        })
        .uid("work")
        .key_by(|r: &Counted| r.0 * 10 + r.1 % 7)
        .reduce(|a: Counted, b: Counted| (b.0, b.1, a.2 + 1))
        .uid("count")
        .collect_committed(out)
        .uid("committed");
}
